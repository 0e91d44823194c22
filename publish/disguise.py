"""Disguise (reduced protection): her own speech with timbre and pitch changed together.

Four steps at 24 kHz:
1. her long-term average spectrum is replaced by a neutral speech tilt (`flatten_timbre`):
   the lasting colour of her voice goes, the moving formants that carry the words stay;
2. Praat's "Change gender" moves formants and pitch median by per-participant ratios;
3. McAdams LPC pole warping (each complex pole angle phi -> phi ** alpha; 20 ms frames,
   10 ms hop, order 20, overlap-add);
4. in the same LPC resynthesis, her excitation (the LPC residual: the sound of her vocal
   folds) is replaced by a pulse train that follows her new pitch, and noise where she is
   unvoiced (`excitation`).
Steps 2 and 3 are driven by her secret parameters and could be undone by an attacker who
guesses them; steps 1 and 4 throw information away, so that undoing 2 and 3 no longer gives
her voice back. Never pitch-only; the parameters are drawn per participant
(consent.protection). Deterministic for given parameters.
"""

from __future__ import annotations

import warnings

import numpy as np
import parselmouth
from numpy.lib.stride_tricks import sliding_window_view
from parselmouth.praat import call, run
from scipy.signal import get_window, lfilter, resample_poly

from consent.protection import DisguiseParams

LPC_ORDER = 20
WORK_RATE_HZ = 24_000  # speech needs no more; halves the cost at 48 kHz
FLATTEN_WINDOW_S = 0.032
FLATTEN_QUEFRENCY_S = 0.000625
FLATTEN_SEGMENT = 2048  # shorter input is left as it is
TILT_DB_PER_OCTAVE = -4.2  # a neutral long-term speech spectrum above 300 Hz
MAX_GAIN_DB = 15.0
EMPTY_BAND_DB = 60.0  # a band this far below the loudest holds no speech
VOICED_NOISE = 0.15  # noise under the pulses, relative to the unvoiced noise
PITCH_STEP_S = 0.005  # the replacement excitation follows her pitch every 5 ms
# Work a block at a time, so memory does not grow with the extract (about 40 s at 24 kHz).
BLOCK_FRAMES = 4096
BLOCK_SAMPLES = 1 << 20


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
        with warnings.catch_warnings():
            # With no voiced stretch (a silent or whispered channel) Praat only moves the
            # formants, and says so: expected, not worth a warning in her render.
            warnings.simplefilter("ignore", parselmouth.PraatWarning)
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


def _framer(samples: np.ndarray, nperseg: int) -> tuple[np.ndarray, int, int]:
    """Frames as scipy.signal.stft cuts them (zero boundary, padded, half overlap), as a view:
    (frames x nperseg, hop, length of the extended signal)."""
    hop = nperseg - nperseg // 2
    extended = np.concatenate([np.zeros(nperseg // 2), samples, np.zeros(nperseg // 2)])
    extended = np.pad(extended, (0, (-(len(extended) - nperseg) % hop) % nperseg))
    return sliding_window_view(extended, nperseg)[::hop], hop, len(extended)


def flatten_timbre(samples: np.ndarray, rate_hz: int, frames_per_block: int = BLOCK_FRAMES) -> np.ndarray:
    """Replace the long-term average spectrum of the speech with a neutral tilt.

    The average power spectrum of the frames within 20 dB of the loudest, smoothed by
    cepstral liftering (quefrencies below 0.625 ms: a curve with no formant detail), is
    equalised to TILT_DB_PER_OCTAVE above 300 Hz; gains are limited to +/- MAX_GAIN_DB, and
    bands EMPTY_BAND_DB below the loudest are left alone. The overall level is left to the
    caller.

    The same as scipy's stft, a gain and istft, computed a block of frames at a time (three
    passes: the frames' energies, the loud frames' average, the filtering), so memory does not
    grow with the length of the extract beyond the signal itself."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < FLATTEN_SEGMENT:
        return samples.copy()
    nperseg = round(FLATTEN_WINDOW_S * rate_hz)
    window = get_window("hann", nperseg)
    scale = window.sum()  # scipy's 'spectrum' scaling (it cancels out; kept for its epsilon)
    frames, hop, extended = _framer(samples, nperseg)
    blocks = [(a, min(len(frames), a + frames_per_block)) for a in range(0, len(frames), frames_per_block)]

    def spectra(a: int, b: int) -> np.ndarray:
        return np.fft.rfft(frames[a:b] * window, axis=1) / scale

    energy = np.concatenate([(np.abs(spectra(a, b)) ** 2).sum(axis=1) for a, b in blocks])
    if not energy.max() > 0:
        return samples.copy()  # digital silence: no colour to take out
    loud = energy > 0.01 * energy.max()
    total = np.zeros(nperseg // 2 + 1)
    for a, b in blocks:
        if loud[a:b].any():
            total += (np.abs(spectra(a, b)[loud[a:b]]) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(nperseg, 1 / rate_hz)
    log_average = np.log(total / loud.sum() + 1e-12)
    cepstrum = np.fft.irfft(log_average)
    keep = max(1, round(FLATTEN_QUEFRENCY_S * rate_hz))
    cepstrum[keep:-keep] = 0.0
    smooth = np.fft.rfft(cepstrum).real[: len(log_average)]
    octaves = np.log2(np.maximum(freqs, 300.0) / 300.0)
    target = octaves * TILT_DB_PER_OCTAVE / (10 / np.log(10))  # dB to natural log of power
    gain_db = (target - smooth) * (10 / np.log(10))
    gain_db -= np.median(gain_db[(freqs >= 300) & (freqs <= 3400)])
    gain_db = np.clip(gain_db, -MAX_GAIN_DB, MAX_GAIN_DB)
    # Bands with no speech in them (beyond the recording's bandwidth: a 16 kHz file seen at
    # 24 kHz) are left as they are, not lifted into noise.
    empty = smooth < smooth.max() - EMPTY_BAND_DB / (10 / np.log(10))
    gain = np.where(empty, 1.0, 10 ** (gain_db / 20))
    out = np.zeros(extended)
    norm = np.zeros(extended)
    for a, b in blocks:
        pieces = np.fft.irfft(spectra(a, b) * gain, nperseg, axis=1) * scale * window
        for offset, piece in enumerate(pieces, start=a):
            out[offset * hop : offset * hop + nperseg] += piece
            norm[offset * hop : offset * hop + nperseg] += window**2
    half = nperseg // 2
    out = out[half : half + len(samples)] / np.where(norm > 1e-10, norm, 1.0)[half : half + len(samples)]
    return out


def excitation(samples: np.ndarray, rate_hz: int, seed: int, block: int = BLOCK_SAMPLES) -> np.ndarray:
    """A source to replace hers: one pulse per period of the speech's pitch (Praat's
    autocorrelation tracker, 75-600 Hz) where it is voiced, a little noise under it, and
    noise alone where it is not. Seeded, so deterministic; built a block at a time."""
    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=rate_hz)
    pitch = sound.to_pitch_ac(time_step=PITCH_STEP_S, pitch_floor=75.0, pitch_ceiling=600.0)
    del sound
    times = np.asarray(pitch.xs())
    hertz = np.nan_to_num(np.asarray(pitch.selected_array["frequency"], dtype=np.float64))
    rng = np.random.default_rng(seed)
    out = np.empty(len(samples))
    cycles_before = 0.0
    for a in range(0, len(samples), block):
        b = min(len(samples), a + block)
        if len(times):
            frame = np.rint((np.arange(a, b) / rate_hz - times[0]) / PITCH_STEP_S)
            f0 = hertz[np.clip(frame, 0, len(times) - 1).astype(int)]
        else:
            f0 = np.zeros(b - a)
        # Summed from the start in order (as one cumsum over the whole would), so the pulses
        # do not depend on the block size.
        cycles = np.cumsum(np.concatenate([[cycles_before], f0 / rate_hz]))
        pulses = (np.diff(np.floor(cycles)) > 0).astype(np.float64)
        if a == 0:
            pulses[0] = 0.0
        cycles_before = cycles[-1]
        noise = rng.standard_normal(b - a) * 0.1
        out[a:b] = np.where(f0 > 0, pulses + VOICED_NOISE * noise, noise)
    return out


def mcadams(
    samples: np.ndarray,
    rate_hz: int,
    alpha: float,
    source: np.ndarray | None = None,
    frames_per_block: int = BLOCK_FRAMES,
) -> np.ndarray:
    """McAdams LPC pole warping of mono float samples; with `source`, each frame is
    resynthesised from that signal (scaled to the frame's own residual energy) instead of
    its LPC residual.

    Each block of frames is analysed at once (LPC, residual, poles, warped polynomial); only
    the all-pole resynthesis runs frame by frame. Frames do not depend on each other, so the
    block size changes nothing but the memory used."""
    frame = int(0.02 * rate_hz)
    hop = frame // 2
    window = np.hanning(frame)
    padded = np.concatenate([np.asarray(samples, dtype=np.float64), np.zeros(frame)])
    padded_source = (
        np.concatenate([np.asarray(source, dtype=np.float64), np.zeros(frame)])
        if source is not None
        else None
    )
    every_start = np.arange(0, len(samples), hop)
    out = np.zeros(len(padded))
    for a in range(0, len(every_start), frames_per_block):
        _mcadams_block(
            padded, padded_source, every_start[a : a + frames_per_block], frame, window, alpha, out
        )
    norm = np.zeros(len(padded))
    for start in every_start:
        norm[start : start + frame] += window**2
    out = out[: len(samples)] / np.maximum(norm[: len(samples)], 1e-3)
    return out.astype(np.float32)


def _mcadams_block(
    padded: np.ndarray,
    padded_source: np.ndarray | None,
    every_start: np.ndarray,
    frame: int,
    window: np.ndarray,
    alpha: float,
    out: np.ndarray,
) -> None:
    frames = padded[every_start[:, None] + np.arange(frame)] * window
    active = np.any(frames != 0, axis=1)
    frames, starts = frames[active], every_start[active]
    if not len(frames):
        return
    size = 1 << int(np.ceil(np.log2(2 * frame)))  # no circular wrap in the autocorrelation
    autocorr = np.fft.irfft(np.abs(np.fft.rfft(frames, size, axis=1)) ** 2, size, axis=1)[:, : LPC_ORDER + 1]
    silent = autocorr[:, 0] <= 1e-9
    autocorr[silent] = np.eye(1, LPC_ORDER + 1)
    autocorr[:, 0] *= 1.0 + 1e-9  # a little white noise keeps the system well conditioned
    a = _levinson(autocorr)
    residual = frames.copy()
    for k in range(1, LPC_ORDER + 1):
        residual[:, k:] += a[:, k : k + 1] * frames[:, :-k]
    if padded_source is not None:
        replacement = padded_source[starts[:, None] + np.arange(frame)] * window
        scale = np.sqrt((residual**2).sum(axis=1) / np.maximum((replacement**2).sum(axis=1), 1e-20))
        residual = replacement * scale[:, None]
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
    for start, excitation_frame, denominator in zip(starts, residual, rebuilt.real, strict=True):
        out[start : start + frame] += lfilter([1.0], denominator, excitation_frame) * window


def disguise(samples: np.ndarray, rate_hz: int, params: DisguiseParams) -> np.ndarray:
    """Transform mono float samples with her parameters; same length, same rate."""
    if len(samples) < rate_hz // 20:
        return np.zeros_like(samples)
    work = resample_poly(samples, WORK_RATE_HZ, rate_hz) if rate_hz != WORK_RATE_HZ else samples
    seed = int(params.salt[:8], 16)
    flat = flatten_timbre(work, WORK_RATE_HZ)
    shifted = praat_change_gender(flat, WORK_RATE_HZ, params.formant_ratio, params.pitch_ratio, seed)
    source = excitation(shifted, WORK_RATE_HZ, seed)
    warped = mcadams(shifted, WORK_RATE_HZ, params.mcadams_alpha, source)
    if rate_hz != WORK_RATE_HZ:
        warped = resample_poly(warped, rate_hz, WORK_RATE_HZ)
    warped = np.pad(warped, (0, max(0, len(samples) - len(warped))))[: len(samples)]
    peak = float(np.max(np.abs(warped))) if len(warped) else 0.0
    reference = float(np.max(np.abs(samples)))
    if peak > 0:
        warped = warped * (reference / peak)
    return warped.astype(np.float32)
