"""The disguise transform's parts: timbre flattening, batched LPC analysis, McAdams pole warping
and the replacement excitation."""

from __future__ import annotations

import itertools

import numpy as np
import parselmouth
import pytest
from scipy.linalg import solve_toeplitz
from scipy.signal import butter, resample_poly, sosfilt, stft

from consent.protection import DisguiseParams
from podcast import speech
from publish.disguise import _levinson, disguise, excitation, flatten_timbre, mcadams


def test_batched_levinson_solves_each_frames_normal_equations() -> None:
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(5, 480)) * np.hanning(480)
    autocorr = np.array([np.correlate(f, f, "full")[479 : 479 + 21] for f in frames])
    batched = _levinson(autocorr)
    for row, a in zip(autocorr, batched, strict=True):
        expected = solve_toeplitz(row[:-1], -row[1:])
        assert a[0] == 1.0
        np.testing.assert_allclose(a[1:], expected, rtol=1e-6, atol=1e-9)


def _speech() -> np.ndarray:
    audio, rate = speech.synthesize("The doctor said that the garden was full of people.", voice="en+f3")
    return resample_poly(audio, 24_000, rate).astype(np.float32)


def _centroid_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 24_000)
    return float((spectrum * freqs).sum() / spectrum.sum())


def test_mcadams_with_alpha_one_gives_the_speech_back() -> None:
    samples = _speech()
    samples[4000:8000] = 0.0  # a stretch of digital silence, skipped by the analysis
    out = mcadams(samples, 24_000, 1.0)
    assert out.shape == samples.shape
    assert np.max(np.abs(out - samples)) < 0.03 * np.max(np.abs(samples))
    assert not np.any(out[4500:7500])


def test_mcadams_moves_the_spectrum_the_way_alpha_says() -> None:
    # alpha < 1 pulls pole angles towards 1 radian (3.8 kHz at 24 kHz): low formants rise.
    samples = _speech()
    assert _centroid_hz(mcadams(samples, 24_000, 0.75)) > 1.15 * _centroid_hz(samples)


def _smooth_ltas_db(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average spectrum in dB, in 1/3-octave bands from 300 Hz to 6 kHz."""
    freqs, _, spectra = stft(samples, rate, nperseg=768)
    power = (np.abs(spectra) ** 2).mean(axis=1)
    edges = 300 * 2 ** (np.arange(0, 13) / 3)
    bands = np.array([power[(freqs >= lo) & (freqs < hi)].mean() for lo, hi in itertools.pairwise(edges)])
    return edges[:-1], 10 * np.log10(bands)


def test_flatten_timbre_takes_out_a_lasting_colour_of_the_voice() -> None:
    # The same speech through two different "vocal tracts": one dark, one bright (+/- 12 dB
    # shelves around 1.5 kHz). After flattening, the two long-term spectra nearly agree.
    samples = _speech().astype(np.float64)
    dark = sosfilt(butter(2, 1500, "lowpass", fs=24_000, output="sos"), samples) + 0.25 * samples
    bright = sosfilt(butter(2, 1500, "highpass", fs=24_000, output="sos"), samples) + 0.25 * samples

    def spread(a: np.ndarray, b: np.ndarray) -> float:
        difference = _smooth_ltas_db(a, 24_000)[1] - _smooth_ltas_db(b, 24_000)[1]
        return float(np.ptp(difference))

    before = spread(dark, bright)
    after = spread(flatten_timbre(dark, 24_000), flatten_timbre(bright, 24_000))
    assert before > 20
    assert after < 0.3 * before
    assert flatten_timbre(samples, 24_000).shape == samples.shape


def test_the_excitation_pulses_at_the_pitch_and_is_noise_where_unvoiced() -> None:
    rate = 24_000
    t = np.arange(rate) / rate
    voiced = sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 8))
    noise = np.random.default_rng(1).standard_normal(rate) * 0.3
    source = excitation(np.concatenate([voiced, noise]), rate, seed=7)
    pulses = np.flatnonzero(source[: rate - 2400] > 0.8)
    assert len(pulses) > 150
    assert np.median(np.diff(pulses)) == pytest.approx(rate / 200, abs=1)
    assert np.max(source[rate + 2400 :]) < 0.8  # no pulse in the noise
    assert np.std(source[rate + 2400 :]) == pytest.approx(0.1, rel=0.1)
    np.testing.assert_array_equal(source, excitation(np.concatenate([voiced, noise]), rate, seed=7))


def test_mcadams_with_a_source_speaks_at_the_source_pitch() -> None:
    # Her vocal folds are replaced: the words' spectrum, a 120 Hz pulse train's pitch.
    samples = _speech()
    rate = 24_000
    pulses = np.zeros(len(samples))
    pulses[:: rate // 120] = 1.0
    out = mcadams(samples, rate, 0.9, pulses)
    assert out.shape == samples.shape and np.all(np.isfinite(out))
    heard = parselmouth.Sound(out.astype(np.float64), sampling_frequency=rate).to_pitch_ac()
    hertz = heard.selected_array["frequency"]
    own = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=rate).to_pitch_ac()
    assert np.median(hertz[hertz > 0]) == pytest.approx(120, rel=0.05)
    assert abs(np.median(own.selected_array["frequency"][own.selected_array["frequency"] > 0]) - 120) > 20


def test_flatten_timbre_leaves_bands_beyond_the_recording_alone() -> None:
    # A 16 kHz recording seen at 24 kHz has nothing above 8 kHz: flattening must not lift
    # that empty band (resampling residue) into audible noise.
    narrow = resample_poly(resample_poly(_speech(), 16_000, 24_000), 24_000, 16_000).astype(np.float64)

    def above_9k(x: np.ndarray) -> float:
        return _band_energy(x, 9_000, 12_000)

    assert above_9k(flatten_timbre(narrow, 24_000)) < 2 * above_9k(narrow)


def _band_energy(samples: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 24_000)
    return float(spectrum[(freqs >= low) & (freqs <= high)].sum())


@pytest.mark.parametrize("level", [0.0, 1e-6])
def test_disguise_of_silence_is_silence(level: float) -> None:
    # A muted microphone over a whole extract: nothing to colour, no pitch, no crash.
    samples = (np.random.default_rng(2).standard_normal(48_000) * level).astype(np.float32)
    out = disguise(samples, 48_000, DisguiseParams(1.12, 0.85, 0.78, "5eed" * 8))
    assert out.shape == samples.shape and np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 10 * level  # for digital silence: exactly silent


def test_disguise_works_a_block_at_a_time_with_the_same_result() -> None:
    """Memory does not grow with the extract: the filtering, the excitation and the LPC warping
    run a block at a time, and the block size changes nothing but the memory."""
    rate = 24_000
    rng = np.random.default_rng(3)
    t = np.arange(int(7.3 * rate)) / rate
    voiced = np.sin(2 * np.pi * 0.7 * t) > 0
    x = 0.3 * np.sin(2 * np.pi * 150 * t * (1 + 0.1 * np.sin(t))) * voiced + 0.05 * rng.standard_normal(
        len(t)
    )
    x[rate : 2 * rate] = 0.0
    # (the loud frames' power is summed in another order: the last bits differ)
    assert np.allclose(
        flatten_timbre(x, rate, frames_per_block=50), flatten_timbre(x, rate, 1 << 20), atol=1e-12
    )
    assert np.array_equal(excitation(x, rate, 5, block=10_007), excitation(x, rate, 5, block=1 << 24))
    assert np.array_equal(mcadams(x, rate, 0.85, x, frames_per_block=77), mcadams(x, rate, 0.85, x, 1 << 20))
