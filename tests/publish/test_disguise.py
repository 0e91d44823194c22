"""The disguise transform's parts: batched LPC analysis and McAdams pole warping."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.signal import resample_poly

from podcast import speech
from publish.disguise import _levinson, mcadams


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
