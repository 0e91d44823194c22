"""Loudness to -16 LUFS with a true-peak margin, computed on the episode's samples.

Integrated loudness follows ITU-R BS.1770-4: pyloudnorm's K-weighting filters, applied
block by block (the filter state carried over), then the 400 ms gating blocks computed from
100 ms sums, all vectorised: pyloudnorm's own loop over blocks takes seconds on an hour of
audio. Peaks are held under a ceiling by a look-ahead limiter, and the gain is corrected for
what the limiter took away, so ffmpeg only has to encode. The encoded file is then decoded
and measured again here: integrated loudness and true peak (4x oversampling, evaluated only
where a sample neighbourhood could reach the peak, which gives the same maximum as
oversampling everything).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import pyloudnorm
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d
from scipy.signal import firwin, lfilter, lfilter_zi, resample_poly

TARGET_LUFS = -16.0
# MP3's low-pass removes a little of what K-weighting counts (measured here: 0.2-0.4 LU at
# 96 kbps mono): aim that much higher before encoding.
PRE_ENCODE_LUFS = -15.7
CEILING_DBFS = -2.0  # sample peak; leaves room for inter-sample peaks and MP3 overshoot
LOOKAHEAD_S = 0.005
RELEASE_S = 0.08

_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_BLOCK_STEPS = 4  # a 400 ms gating block is four 100 ms steps (75 % overlap)
_STREAM_STEPS = 300  # filter 30 s at a time: float64 copies stay small
# Added before recursive filters: it keeps their state out of subnormal numbers, which are
# ten times slower to compute, after long digital silence (-400 dBFS, inaudible, unmeasurable).
_GUARD = 1e-20
_SEGMENT_S = 60.0  # stretches worked on in parallel
_RESAMPLE_SAMPLES = 1 << 21  # the resampler's stretches, counted in input samples
_WARMUP_S = 1.0  # filtered before each stretch, so its filters start as if run from the start

OVERSAMPLING = 4
_TAPS_PER_PHASE = 17  # a 65-tap interpolation filter (BS.1770-4 Annex 2 shows a 48-tap one)


class Meter:
    """Integrated loudness and true peak of a mono signal fed block by block (any sizes)."""

    def __init__(self, rate_hz: int) -> None:
        self.rate_hz = rate_hz
        self._step = round(0.1 * rate_hz)
        self._stages = _k_weighting(rate_hz)
        self._states = [lfilter_zi(b, a) * 0.0 for b, a in self._stages]
        self._left = np.zeros(0, np.float32)  # samples not yet making a whole 100 ms step
        self._steps: list[np.ndarray] = []
        self._history = np.zeros(_TAPS_PER_PHASE, np.float32)  # for the oversampling filter
        self._peak = 0.0

    def add(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        for first in range(0, len(samples), self._step * _STREAM_STEPS):
            block = samples[first : first + self._step * _STREAM_STEPS]
            peak = _pool().submit(self._add_peak, block)  # independent of the loudness: at once
            self._add_loudness(block)
            peak.result()

    def _add_loudness(self, block: np.ndarray) -> None:
        data = np.concatenate([self._left, block])
        usable = (len(data) // self._step) * self._step
        self._left = data[usable:]
        if not usable:
            return
        filtered = _guarded(data[:usable])
        for index, (b, a) in enumerate(self._stages):
            filtered, self._states[index] = lfilter(b, a, filtered, zi=self._states[index])
        self._steps.append(np.square(filtered).reshape(-1, self._step).sum(axis=1))

    def _add_peak(self, block: np.ndarray) -> None:
        """Oversample only where a neighbourhood of samples could beat the peak so far: an
        interpolated value is a weighted sum of 12 samples, at most their maximum times the
        sum of the absolute weights. Skipping the rest cannot change the maximum."""
        if not len(block):
            return
        phases = _phases()
        data = np.concatenate([self._history, block])
        self._history = data[-_TAPS_PER_PHASE:]
        magnitude = np.abs(data)
        self._peak = max(self._peak, float(magnitude[_TAPS_PER_PHASE:].max()))
        if self._peak == 0.0:
            return
        bound = float(np.abs(phases).sum(axis=1).max())
        # Output sample 4n+p = sum_k phase_p[k] * x[n-k]: it depends on x[n-11..n].
        reach = maximum_filter1d(magnitude, size=_TAPS_PER_PHASE, origin=(_TAPS_PER_PHASE - 1) // 2)
        ends = np.flatnonzero(reach[_TAPS_PER_PHASE:] * bound > self._peak) + _TAPS_PER_PHASE
        windows = sliding_window_view(data, _TAPS_PER_PHASE)
        for first in range(0, ends.size, 1 << 18):
            index = ends[first : first + (1 << 18)]
            around = windows[index - _TAPS_PER_PHASE + 1][:, ::-1].astype(np.float64)
            self._peak = max(self._peak, float(np.abs(around @ phases.T).max()))

    @property
    def lufs(self) -> float:
        """Integrated loudness (BS.1770-4 gating); -inf for silence or less than 0.4 s."""
        return _gated_lufs(np.concatenate(self._steps) if self._steps else np.zeros(0), self._step)

    @property
    def true_peak_dbtp(self) -> float:
        """True peak (4x oversampled) in dBTP."""
        return 20 * float(np.log10(self._peak)) if self._peak > 0 else float("-inf")


@cache
def _phases() -> np.ndarray:
    """The 4x interpolation filter split into its phases, shape (4, taps per phase).

    Odd length (65 taps, zero-padded to 68): its delay is a whole number of output samples,
    so the oversampled points include the original instants and fall halfway between them
    (an even length shifts them by 1/8 sample and under-reads some peaks by 0.2 dB)."""
    taps = firwin(OVERSAMPLING * (_TAPS_PER_PHASE - 1) + 1, 1.0 / OVERSAMPLING, window=("kaiser", 6.0))
    taps = np.pad(taps * OVERSAMPLING, (0, OVERSAMPLING * _TAPS_PER_PHASE - len(taps)))
    return np.stack([taps[p::OVERSAMPLING] for p in range(OVERSAMPLING)])


@cache
def _k_weighting(rate_hz: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770-4 K-weighting as pyloudnorm defines it: (b, a) of its two filter stages."""
    return [(f.b * f.passband_gain, f.a) for f in pyloudnorm.Meter(rate_hz)._filters.values()]


def _gated_lufs(steps: np.ndarray, step: int) -> float:
    """BS.1770-4 gating over 400 ms blocks (4 steps of 100 ms, 75 % overlap)."""
    if len(steps) < _BLOCK_STEPS:
        return float("-inf")
    power = sliding_window_view(steps, _BLOCK_STEPS).sum(axis=1) / (_BLOCK_STEPS * step)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10 * np.log10(power)
    above = block_lufs >= _ABSOLUTE_GATE_LUFS
    if not above.any():
        return float("-inf")
    relative = -0.691 + 10 * np.log10(power[above].mean()) + _RELATIVE_GATE_LU
    return float(-0.691 + 10 * np.log10(power[above & (block_lufs >= relative)].mean()))


def _guarded(samples: np.ndarray) -> np.ndarray:
    """A float64 copy with the guard added (alternating, so the high-pass keeps it too)."""
    out = samples.astype(np.float64)
    out[::2] += _GUARD
    out[1::2] -= _GUARD
    return out


@cache
def _pool() -> ThreadPoolExecutor:
    # numpy and scipy release the GIL in the work done here: threads use both cores.
    return ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="loudness")


def _segments(length: int, rate_hz: int) -> list[tuple[int, int]]:
    """Consecutive 60-s stretches (whole 100 ms steps)."""
    size = round(0.1 * rate_hz) * round(_SEGMENT_S * 10)
    return [(first, min(length, first + size)) for first in range(0, length, size)]


def loudness(samples: np.ndarray, rate_hz: int) -> float:
    """Integrated loudness in LUFS (mono; -inf for silence or audio shorter than 0.4 s).

    Stretches of 60 s are filtered on parallel threads, each from 1 s before its start (the
    K-weighting filters forget their initial state within milliseconds)."""
    step = round(0.1 * rate_hz)
    stages = _k_weighting(rate_hz)
    warmup = round(_WARMUP_S * rate_hz)

    def energies(bounds: tuple[int, int]) -> np.ndarray:
        first, last = bounds
        usable = first + ((last - first) // step) * step
        begin = max(0, first - warmup)
        filtered = _guarded(samples[begin:usable])
        for b, a in stages:
            filtered = lfilter(b, a, filtered)
        return np.square(filtered[first - begin :]).reshape(-1, step).sum(axis=1)

    steps = list(_pool().map(energies, _segments(len(samples), rate_hz)))
    return _gated_lufs(np.concatenate(steps) if steps else np.zeros(0), step)


def true_peak_dbtp(samples: np.ndarray, rate_hz: int) -> float:
    """True peak (4x oversampled) of a whole signal, in dBTP."""
    meter = Meter(rate_hz)
    meter.add(samples)
    return meter.true_peak_dbtp


def limit(
    samples: np.ndarray,
    rate_hz: int,
    ceiling_dbfs: float = CEILING_DBFS,
    *,
    gain: float = 1.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply *gain* and hold sample peaks under the ceiling: instant attack (with look-ahead),
    smooth release. Writes into *out* if given (float32, the samples' length).

    Stretches of 60 s run on parallel threads, each from 1 s before its start: the release
    (80 ms) has forgotten by then where it started. Each stretch measures its own peaks, so
    nothing but the output is as long as the episode."""
    ceiling = np.float32(10 ** (ceiling_dbfs / 20))
    coefficient = np.exp(-1.0 / (RELEASE_S * rate_hz))
    b, a = np.array([1 - coefficient], np.float32), np.array([1, -coefficient], np.float32)
    warmup = round(_WARMUP_S * rate_hz)
    window = max(1, int(LOOKAHEAD_S * rate_hz))
    result = np.empty(len(samples), np.float32) if out is None else out

    def part(bounds: tuple[int, int]) -> None:
        first, last = bounds
        begin = max(0, first - warmup)
        # The peak envelope (largest magnitude within the look-ahead) of this stretch.
        around_begin, around_end = max(0, begin - window), min(len(samples), last + window)
        envelope = maximum_filter1d(np.abs(samples[around_begin:around_end]), size=2 * window + 1)
        envelope = envelope[begin - around_begin : begin - around_begin + (last - begin)]
        scaled = np.maximum(envelope * np.float32(gain), np.float32(1e-9))
        wanted = np.minimum(np.float32(1.0), ceiling / scaled).astype(np.float32)
        # Release: let the gain rise back slowly (a one-pole filter on the reduction), never
        # above what the envelope allows.
        smoothed = lfilter(b, a, np.float32(1.0 + _GUARD) - wanted)[first - begin :]
        applied = np.minimum(wanted[first - begin :], np.float32(1.0) - smoothed.astype(np.float32))
        piece = samples[first:last].astype(np.float32) * (applied * np.float32(gain))
        np.clip(piece, -ceiling, ceiling, out=result[first:last])

    list(_pool().map(part, _segments(len(samples), rate_hz)))
    return result


def normalise(samples: np.ndarray, rate_hz: int, target_lufs: float = PRE_ENCODE_LUFS) -> np.ndarray:
    """Gain to the target loudness, limited under the ceiling; corrected for the limiter.

    The limiter takes some loudness from the peaks, more as the gain rises: the gain is
    corrected by the secant method on the measured (gain, loudness) pairs."""
    measured = loudness(samples, rate_hz)
    if measured == float("-inf"):
        return samples
    tried: list[tuple[float, float]] = []
    gain_db = target_lufs - measured
    out = np.empty(len(samples), np.float32)  # one buffer for every try
    for _ in range(5):
        limit(samples, rate_hz, gain=10 ** (gain_db / 20), out=out)
        reached = loudness(out, rate_hz)
        tried.append((gain_db, reached))
        error = target_lufs - reached
        if abs(error) <= 0.15:
            break
        # Until two points give the slope: each dB of gain added to limited speech adds about
        # half a dB of loudness (measured on speech limited to -2 dBFS at -16 LUFS).
        slope = 2.0
        if len(tried) >= 2 and tried[-1][1] != tried[-2][1]:
            slope = (tried[-1][0] - tried[-2][0]) / (tried[-1][1] - tried[-2][1])
        gain_db += error * min(max(slope, 1.0), 4.0)
    return out


def resample(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    """resample_poly by stretches of about 2**21 input samples (44 s at 48 kHz) on parallel
    threads, each with margins wider than the filter (10 * max(up, down) input samples), so
    the result is the same as in one go. Written into one output array."""
    unit = down * round(_RESAMPLE_SAMPLES / down)  # a whole number of input periods
    margin = down * (10 * max(up, down) // down + 2)
    out = np.empty(-(-len(samples) * up // down), np.float32)

    def part(first: int) -> None:
        last = min(len(samples), first + unit)
        begin, end = max(0, first - margin), min(len(samples), last + margin)
        result = resample_poly(samples[begin:end], up, down)
        skip = (first - begin) * up // down
        count = -(-(last - first) * up // down) if last == len(samples) else (last - first) * up // down
        at = first * up // down
        out[at : at + count] = result[skip : skip + count]

    list(_pool().map(part, range(0, len(samples), unit)))
    return out
