"""Loudness to -16 LUFS with a true-peak margin, computed on the episode's samples.

The integrated loudness is measured with pyloudnorm (ITU-R BS.1770-4); peaks are held under
a ceiling by a look-ahead limiter (vectorised), and the gain is corrected for what the
limiter took away, so ffmpeg only has to encode. The encoded file is measured again with
ffmpeg's own R128 meter (true peak, oversampled).
"""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy.ndimage import maximum_filter1d
from scipy.signal import lfilter, resample_poly

TARGET_LUFS = -16.0
# MP3's low-pass removes a little of what K-weighting counts (measured here: 0.2-0.4 LU at
# 96 kbps mono): aim that much higher before encoding.
PRE_ENCODE_LUFS = -15.7
CEILING_DBFS = -2.0  # sample peak; leaves room for inter-sample peaks and MP3 overshoot
LOOKAHEAD_S = 0.005
RELEASE_S = 0.08


MEASURE_RATE_HZ = 24_000  # speech holds nothing above 12 kHz that K-weighting would count


def loudness(samples: np.ndarray, rate_hz: int) -> float:
    """Integrated loudness in LUFS (-inf for silence or audio shorter than 0.4 s)."""
    if len(samples) < int(0.4 * rate_hz):
        return float("-inf")
    if rate_hz % MEASURE_RATE_HZ == 0 and rate_hz > MEASURE_RATE_HZ:
        samples = resample_poly(samples, 1, rate_hz // MEASURE_RATE_HZ)
        rate_hz = MEASURE_RATE_HZ
    return float(pyloudnorm.Meter(rate_hz).integrated_loudness(samples.astype(np.float64)))


def limit(samples: np.ndarray, rate_hz: int, ceiling_dbfs: float = CEILING_DBFS) -> np.ndarray:
    """Hold sample peaks under the ceiling: instant attack (with look-ahead), smooth release."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    window = max(1, int(LOOKAHEAD_S * rate_hz))
    envelope = maximum_filter1d(np.abs(samples), size=2 * window + 1)
    wanted = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-9)).astype(np.float32)
    # Release: let the gain rise back slowly (a one-pole filter on the reduction), never above
    # what the envelope allows.
    coefficient = np.exp(-1.0 / (RELEASE_S * rate_hz))
    smoothed = lfilter(
        np.array([1 - coefficient], np.float32), np.array([1, -coefficient], np.float32), 1.0 - wanted
    )
    gain = np.minimum(wanted, 1.0 - smoothed.astype(np.float32))
    return np.clip(samples * gain, -ceiling, ceiling).astype(np.float32)


def normalise(samples: np.ndarray, rate_hz: int, target_lufs: float = PRE_ENCODE_LUFS) -> np.ndarray:
    """Gain to the target loudness, limited under the ceiling; corrected for the limiter."""
    measured = loudness(samples, rate_hz)
    if measured == float("-inf"):
        return samples
    gain_db = target_lufs - measured
    out = limit(samples * np.float32(10 ** (gain_db / 20)), rate_hz)
    for _ in range(3):  # the limiter takes some loudness from the peaks: correct for it
        error = target_lufs - loudness(out, rate_hz)
        if abs(error) <= 0.15:
            break
        gain_db += error
        out = limit(samples * np.float32(10 ** (gain_db / 20)), rate_hz)
    return out
