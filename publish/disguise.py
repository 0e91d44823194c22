"""Disguise (reduced protection): her own speech with timbre and pitch changed together.

Praat's "Change gender" (formants and pitch median moved by per-participant ratios) is
followed by McAdams LPC pole warping (each complex pole angle phi -> phi ** alpha, 20 ms
frames, 10 ms hop, order 20, overlap-add). Never pitch-only; the parameters are secret and
drawn per participant (consent.protection). Deterministic for given parameters.
"""

from __future__ import annotations

import numpy as np
import parselmouth
from parselmouth.praat import call, run
from scipy.signal import lfilter, resample_poly

from consent.protection import DisguiseParams

LPC_ORDER = 20
WORK_RATE_HZ = 24_000  # speech needs no more; halves the cost at 48 kHz


def praat_change_gender(
    samples: np.ndarray, rate_hz: int, formant_ratio: float, pitch_ratio: float, seed: int
) -> np.ndarray:
    """Praat's Change gender, seeded: Praat draws random numbers for unvoiced stretches."""
    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=rate_hz)
    pitch = call(sound, "To Pitch", 0.0, 75, 600)
    median = call(pitch, "Get quantile", 0, 0, 0.5, "Hertz")
    median = float(median) if median == median and median > 0 else 0.0  # NaN when unvoiced
    run(f"random_initializeWithSeedUnsafelyButPredictably ({seed})")
    try:
        changed = call(sound, "Change gender", 75, 600, formant_ratio, median * pitch_ratio, 1.0, 1.0)
    finally:
        run("random_initializeSafelyAndUnpredictably ()")
    shifted = np.asarray(changed.values[0], dtype=np.float64)
    return np.pad(shifted, (0, max(0, len(samples) - len(shifted))))[: len(samples)]


def _levinson(autocorr: np.ndarray) -> np.ndarray:
    """Levinson-Durbin on many frames at once: autocorrelations (frames x order+1) to LPC
    polynomials (frames x order+1, leading 1)."""
    order = autocorr.shape[1] - 1
    a = np.zeros_like(autocorr)
    a[:, 0] = 1.0
    error = autocorr[:, 0].copy()
    for i in range(1, order + 1):
        acc = autocorr[:, i] + np.einsum("nk,nk->n", a[:, 1:i], autocorr[:, i - 1 : 0 : -1])
        k = -acc / error
        a[:, 1:i] += k[:, None] * a[:, i - 1 : 0 : -1]
        a[:, i] = k
        error *= 1.0 - k * k
    return a


def mcadams(samples: np.ndarray, rate_hz: int, alpha: float) -> np.ndarray:
    """McAdams LPC pole warping of mono float samples.

    Every frame's analysis (LPC, residual, poles, warped polynomial) is done for all frames
    at once; only the all-pole resynthesis runs frame by frame."""
    frame = int(0.02 * rate_hz)
    hop = frame // 2
    window = np.hanning(frame)
    padded = np.concatenate([samples.astype(np.float64), np.zeros(frame)])
    every_start = np.arange(0, len(samples), hop)
    frames = padded[every_start[:, None] + np.arange(frame)] * window
    active = np.any(frames != 0, axis=1)
    frames, starts = frames[active], every_start[active]
    size = 1 << int(np.ceil(np.log2(2 * frame)))  # no circular wrap in the autocorrelation
    autocorr = np.fft.irfft(np.abs(np.fft.rfft(frames, size, axis=1)) ** 2, size, axis=1)[:, : LPC_ORDER + 1]
    silent = autocorr[:, 0] <= 1e-9
    autocorr[silent] = np.eye(1, LPC_ORDER + 1)
    autocorr[:, 0] *= 1.0 + 1e-9  # a little white noise keeps the system well conditioned
    a = _levinson(autocorr)
    residual = frames.copy()
    for k in range(1, LPC_ORDER + 1):
        residual[:, k:] += a[:, k : k + 1] * frames[:, :-k]
    companion = np.zeros((len(a), LPC_ORDER, LPC_ORDER))
    companion[:, 0, :] = -a[:, 1:]
    companion[:, np.arange(1, LPC_ORDER), np.arange(LPC_ORDER - 1)] = 1.0
    poles = np.linalg.eigvals(companion).astype(complex)
    angles = np.angle(poles)
    # Complex poles move (phi -> phi ** alpha, conjugates alike); real poles stay.
    warped = np.where(
        np.iscomplex(poles), np.abs(poles) * np.exp(1j * np.sign(angles) * np.abs(angles) ** alpha), poles
    )
    rebuilt = np.zeros((len(a), LPC_ORDER + 1), complex)
    rebuilt[:, 0] = 1.0
    for j in range(LPC_ORDER):
        rebuilt[:, 1:] -= warped[:, j : j + 1] * rebuilt[:, :-1].copy()
    out = np.zeros(len(padded))
    for start, excitation, denominator in zip(starts, residual, rebuilt.real, strict=True):
        out[start : start + frame] += lfilter([1.0], denominator, excitation) * window
    norm = np.zeros(len(padded))
    for start in every_start:
        norm[start : start + frame] += window**2
    out = out[: len(samples)] / np.maximum(norm[: len(samples)], 1e-3)
    return out.astype(np.float32)


def disguise(samples: np.ndarray, rate_hz: int, params: DisguiseParams) -> np.ndarray:
    """Transform mono float samples with her parameters; same length, same rate."""
    if len(samples) < rate_hz // 20:
        return np.zeros_like(samples)
    work = resample_poly(samples, WORK_RATE_HZ, rate_hz) if rate_hz != WORK_RATE_HZ else samples
    seed = int(params.salt[:8], 16)
    shifted = praat_change_gender(work, WORK_RATE_HZ, params.formant_ratio, params.pitch_ratio, seed)
    warped = mcadams(shifted, WORK_RATE_HZ, params.mcadams_alpha)
    if rate_hz != WORK_RATE_HZ:
        warped = resample_poly(warped, rate_hz, WORK_RATE_HZ)
    warped = np.pad(warped, (0, max(0, len(samples) - len(warped))))[: len(samples)]
    peak = float(np.max(np.abs(warped))) if len(warped) else 0.0
    reference = float(np.max(np.abs(samples)))
    if peak > 0:
        warped = warped * (reference / peak)
    return warped.astype(np.float32)
