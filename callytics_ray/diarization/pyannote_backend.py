"""pyannote.audio backend: the speaker-diarization-3.1 pipeline (or any pipeline config).

Runs in its own environment (runtime_envs/diarization-pyannote.txt): pyannote.audio needs a
torchaudio that does not load beside the base torch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from callytics_ray.diarization.base import DiarizationRequest, OneCallAtATime
from callytics_ray.diarization.embedding import pick_device
from callytics_ray.errors import ConfigError, ModelNotFoundError
from callytics_ray.settings import DiarizationOptions, Settings
from callytics_ray.types import SpeakerTurn

logger = logging.getLogger(__name__)

_INSTALL_HINT = "install runtime_envs/diarization-pyannote.txt (scripts/test_diarization_backends.sh pyannote)"


def load_pyannote_pipeline(ref: str, *, token: str | None, cache_dir: Path, offline: bool) -> Any:
    """A pyannote `Pipeline` from a local directory (holding config.yaml), a config.yaml path, or
    a hub id such as "pyannote/speaker-diarization-3.1".

    Raises:
        ConfigError: pyannote.audio is not installed.
        ModelNotFoundError: the pipeline cannot be found, or the hub refuses it (gated: accept the
            conditions on the hub and pass a token).
    """
    try:
        from pyannote.audio import Pipeline
    except ImportError as err:
        raise ConfigError(f"the pyannote diarization backend needs pyannote.audio: {_INSTALL_HINT}") from err
    local = Path(ref).expanduser()
    if local.exists():
        config = local / "config.yaml" if local.is_dir() else local
        if not config.is_file():
            raise ModelNotFoundError(ref, "diarization", f"{local} holds no config.yaml")
        pipeline = Pipeline.from_pretrained(config)
    else:
        if "/" not in ref:
            raise ModelNotFoundError(ref, "diarization", "not a local path nor an org/name hub id")
        try:
            pipeline = Pipeline.from_pretrained(ref, token=token, cache_dir=cache_dir / "hub")
        except Exception as err:  # offline cache miss, network, gated repo: one clear line
            hint = "downloads are off and it is not cached" if offline else f"could not fetch it: {err}"
            raise ModelNotFoundError(ref, "diarization", hint) from err
    if pipeline is None:
        raise ModelNotFoundError(ref, "diarization", "the hub refused it: accept its conditions and set hub_token")
    return pipeline


class PyannoteDiarizer(OneCallAtATime):
    """Diarization by a pyannote.audio pipeline.

    Example:
        >>> settings = Settings(diarization={"backend": "pyannote", "hub_token": "hf_..."})
        >>> PyannoteDiarizer.from_settings(settings).diarize(audio, min_speakers=2)
    """

    name = "pyannote"

    def __init__(self, pipeline: Any, options: DiarizationOptions) -> None:
        self._pipeline = pipeline
        self.options = options

    @classmethod
    def from_settings(cls, settings: Settings) -> PyannoteDiarizer:
        config = settings.diarization
        token = config.hub_token.get_secret_value() if config.hub_token else None
        pipeline = load_pyannote_pipeline(
            config.pyannote_pipeline, token=token, cache_dir=settings.cache_dir, offline=settings.offline
        )
        import torch

        pipeline.to(torch.device(pick_device(config.device)))
        logger.info("loaded pyannote pipeline %s", config.pyannote_pipeline)
        return cls(pipeline, config.options)

    def with_options(self, options: DiarizationOptions) -> PyannoteDiarizer:
        return PyannoteDiarizer(self._pipeline, options)

    def _diarize_one(self, item: DiarizationRequest) -> list[SpeakerTurn]:
        import torch

        low, high = self._bounds(item)
        waveform = torch.from_numpy(np.ascontiguousarray(item.audio.mono, dtype=np.float32)).unsqueeze(0)
        output = self._pipeline(
            {"waveform": waveform, "sample_rate": item.audio.sample_rate_hz},
            min_speakers=low,
            max_speakers=high,
        )
        # pyannote.audio 4 returns a DiarizeOutput; 3.x returned the Annotation itself.
        annotation = getattr(output, "speaker_diarization", output)
        turns = [
            SpeakerTurn(round(segment.start, 3), round(segment.end, 3), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
        ]
        return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
