"""Audio processor stage: any common format in, clean 16 kHz float32 channels out.

Names are loaded on first use: the gateway needs only `decode` (it probes uploads) and the
redaction types, not the processor's signal libraries (scipy, noise reduction, the VAD)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callytics_ray.audio.decode import DecodedAudio, decode_audio, probe_audio
    from callytics_ray.audio.processor import load_audio
    from callytics_ray.vad import speech_ratio, speech_regions

_WHERE = {
    "DecodedAudio": "callytics_ray.audio.decode",
    "decode_audio": "callytics_ray.audio.decode",
    "probe_audio": "callytics_ray.audio.decode",
    "load_audio": "callytics_ray.audio.processor",
    "speech_ratio": "callytics_ray.vad",
    "speech_regions": "callytics_ray.vad",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'callytics_ray.audio' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once: later lookups are ordinary attribute reads
    return value
