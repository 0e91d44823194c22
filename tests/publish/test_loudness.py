"""The loudness meter, true peak and normaliser against pyloudnorm, brute force and ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from podcast import ffmpeg, speech
from publish import loudness


def _speech(rate_hz: int, seconds: float = 20.0) -> np.ndarray:
    voice, rate = speech.synthesize("We talk about work, about life, and about what comes next.")
    voice = resample_poly(voice, rate_hz, rate).astype(np.float32) * 0.4
    count = int(seconds * rate_hz)
    rng = np.random.default_rng(3)
    quiet = rng.standard_normal(count).astype(np.float32) * 0.002
    return (np.tile(voice, count // len(voice) + 1)[:count] + quiet).astype(np.float32)


@pytest.mark.parametrize("rate_hz", [24_000, 44_100, 48_000])
def test_integrated_loudness_matches_pyloudnorm(rate_hz: int) -> None:
    audio = _speech(rate_hz)
    expected = pyloudnorm.Meter(rate_hz).integrated_loudness(audio.astype(np.float64))
    assert loudness.loudness(audio, rate_hz) == pytest.approx(expected, abs=0.05)


def test_feeding_blocks_of_any_size_gives_the_same_figures() -> None:
    audio = _speech(24_000, 12.0)
    whole = loudness.Meter(24_000)
    whole.add(audio)
    pieces = loudness.Meter(24_000)
    for first in range(0, len(audio), 7_777):
        pieces.add(audio[first : first + 7_777])
    assert pieces.lufs == pytest.approx(whole.lufs, abs=1e-9)
    assert pieces.true_peak_dbtp == pytest.approx(whole.true_peak_dbtp, abs=1e-9)


def test_silence_and_very_short_audio_have_no_loudness() -> None:
    assert loudness.loudness(np.zeros(48_000, np.float32), 24_000) == float("-inf")
    assert loudness.loudness(np.full(2_000, 0.5, np.float32), 24_000) == float("-inf")
    assert loudness.true_peak_dbtp(np.zeros(100, np.float32), 24_000) == float("-inf")


def _full_oversampling_peak(samples: np.ndarray) -> float:
    stuffed = np.zeros(len(samples) * loudness.OVERSAMPLING)
    stuffed[:: loudness.OVERSAMPLING] = samples
    taps = loudness._phases().T.reshape(-1)  # the phases interleaved back into one filter
    return 20 * float(np.log10(np.abs(np.convolve(stuffed, taps)).max()))


def test_true_peak_equals_oversampling_everything() -> None:
    rng = np.random.default_rng(5)
    for _ in range(5):
        noise = rng.standard_normal(20_000).astype(np.float32)
        noise *= np.float32(0.9 / np.abs(noise).max())
        assert loudness.true_peak_dbtp(noise, 44_100) == pytest.approx(
            _full_oversampling_peak(noise), abs=1e-6
        )


def test_true_peak_finds_the_peak_between_samples(tmp_path: Path) -> None:
    # A sine at a quarter of the rate, sampled 45 degrees off its crests: every sample is at
    # 0.707 of the true amplitude (-3 dB).
    rate = 44_100
    n = np.arange(rate * 2)
    ramp = np.minimum(1.0, np.minimum(n, n[::-1]) / (0.05 * rate))  # no onset transient
    sine = (0.5 * ramp * np.sin(2 * np.pi * n / 4 + np.pi / 4)).astype(np.float32)
    ours = loudness.true_peak_dbtp(sine, rate)
    assert 20 * np.log10(np.abs(sine).max()) == pytest.approx(-9.03, abs=0.05)
    assert ours == pytest.approx(20 * np.log10(0.5), abs=0.1)
    path = tmp_path / "sine.wav"
    sf.write(str(path), sine, rate, subtype="FLOAT")
    _, theirs = ffmpeg.measure_loudness(path)
    assert ours == pytest.approx(theirs, abs=0.3)


def test_normalise_reaches_the_target_under_the_ceiling() -> None:
    audio = _speech(24_000, 30.0) * 0.2
    out = loudness.normalise(audio, 24_000, target_lufs=-16.0)
    assert loudness.loudness(out, 24_000) == pytest.approx(-16.0, abs=0.2)
    assert 20 * np.log10(np.abs(out).max()) <= loudness.CEILING_DBFS + 1e-3


def test_parallel_stretches_give_the_same_results_as_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = _speech(24_000, 150.0)  # three stretches of 60 s; two for the resampler
    meter = loudness.Meter(24_000)
    meter.add(audio)
    assert loudness.loudness(audio, 24_000) == pytest.approx(meter.lufs, abs=1e-6)
    whole = resample_poly(audio, 147, 160)
    parts = loudness.resample(audio, 147, 160)
    assert len(parts) == len(whole) and np.allclose(parts, whole, atol=1e-6)
    limited = loudness.limit(audio, 24_000, gain=8.0)
    assert np.abs(limited).max() <= 10 ** (loudness.CEILING_DBFS / 20) + 1e-6
    # Each stretch measures its own peaks and starts its release 1 s early: as in one pass.
    monkeypatch.setattr(loudness, "_SEGMENT_S", 1000.0)
    assert np.allclose(limited, loudness.limit(audio, 24_000, gain=8.0), atol=1e-6)
