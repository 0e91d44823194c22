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
from scipy.linalg import solve_toeplitz
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


def _lpc(frame: np.ndarray, order: int) -> np.ndarray:
    autocorr = np.correlate(frame, frame, mode="full")[len(frame) - 1 : len(frame) + order]
    if autocorr[0] <= 1e-9:
        return np.concatenate([[1.0], np.zeros(order)])
    autocorr[0] *= 1.0 + 1e-9  # a little white noise keeps the system well conditioned
    coefficients = solve_toeplitz(autocorr[:-1], -autocorr[1:])
    return np.concatenate([[1.0], coefficients])


def mcadams(samples: np.ndarray, rate_hz: int, alpha: float) -> np.ndarray:
    """McAdams LPC pole warping of mono float samples."""
    frame = int(0.02 * rate_hz)
    hop = frame // 2
    window = np.hanning(frame)
    padded = np.concatenate([samples, np.zeros(frame)])
    out = np.zeros(len(padded))
    norm = np.zeros(len(padded))
    for start in range(0, len(samples), hop):
        chunk = padded[start : start + frame] * window
        if not np.any(chunk):
            continue
        a = _lpc(chunk, LPC_ORDER)
        residual = lfilter(a, [1.0], chunk)
        poles = np.roots(a)
        complex_poles = np.iscomplex(poles) & (np.imag(poles) > 0)
        angles = np.angle(poles[complex_poles])
        warped = np.abs(poles[complex_poles]) * np.exp(1j * np.sign(angles) * np.abs(angles) ** alpha)
        new_poles = np.concatenate([warped, np.conj(warped), poles[~np.iscomplex(poles)]])
        new_a = np.real(np.poly(new_poles))
        rebuilt = lfilter([1.0], new_a, residual)
        out[start : start + frame] += rebuilt * window
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
