"""Who spoke when: one `Diarizer` interface, several backends (offline default, pyannote, NeMo),
dual-channel calls without clustering.

Example:
    >>> diarizer = build_diarizer(settings)
    >>> turns = diarizer.diarize(audio, min_speakers=2, max_speakers=2)
"""

from callytics_ray.diarization.base import DiarizationRequest, DiarizationResult, Diarizer
from callytics_ray.diarization.factory import LayoutRouter, build_diarizer

__all__ = [
    "DiarizationRequest",
    "DiarizationResult",
    "Diarizer",
    "LayoutRouter",
    "build_diarizer",
]
