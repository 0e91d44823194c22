"""Revoice (strong protection): a synthetic voice reads her reviewed words.

Piper runs offline from local files; noise scales are zero so the same text always gives
the same audio. Each participant's colour (a pitch and formant shift of the *synthetic*
voice, harmless since it is not hers) keeps her distinct across the show.
"""

from __future__ import annotations

import logging
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from publish.disguise import praat_change_gender
from publish.voices import Voice

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _load(model: Path, config: Path) -> Any:
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.voice import ESPEAK_DATA_DIR

    # As PiperVoice.load does, but without ONNX Runtime's memory arena: the arena keeps the
    # largest buffers any line ever needed (about 250 MB after a few long lines), next to the
    # speech model an extract's redaction check loads. Measured: the same speed without it.
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
        session=onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        ),
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
        # Piper would otherwise use the current folder; nothing is downloaded.
        download_dir=Path(tempfile.gettempdir()),
    )


def speak(text: str, voice: Voice, colour_st: float, rate_hz: int) -> np.ndarray:
    """Mono float32 speech at *rate_hz* (empty for empty text)."""
    if not text.strip():
        return np.zeros(0, dtype=np.float32)
    if voice.kind == "mbrola":
        audio, native = _mbrola(text, voice)
        if not len(audio):
            return np.zeros(0, dtype=np.float32)
    else:
        from piper import SynthesisConfig

        engine = _load(voice.model, voice.config)
        config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=True)
        chunks = [chunk.audio_float_array for chunk in engine.synthesize(text, syn_config=config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        native = engine.config.sample_rate
        audio = np.concatenate(chunks).astype(np.float64)
    if colour_st:
        ratio = 2 ** (colour_st / 12)
        audio = praat_change_gender(audio, native, 1.0 + (ratio - 1.0) * 0.5, ratio, seed=1)
    return resample_poly(audio, rate_hz, native).astype(np.float32)


def _mbrola(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """An MBROLA diphone voice read through espeak-ng (deterministic), peak-normalised as
    Piper's output is."""
    import os

    from podcast import speech

    env = {
        **os.environ,
        "ESPEAK_DATA_PATH": str(voice.config),
        "PATH": f"{voice.mbrola_binary_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    audio, rate = speech.synthesize(text, voice=voice.espeak_voice, speed_wpm=150, env=env)
    audio = audio.astype(np.float64)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    return (audio * (0.9 / peak) if peak > 0 else audio), rate
