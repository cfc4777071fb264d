"""pyannote.audio 4 backend: speaker-diarization-community-1 (the production pipeline), 3.1, or
any pipeline directory.

Runs in its own environment (runtime_envs/diarization-pyannote.txt): pyannote.audio needs a
torchaudio that does not load beside the base torch.

Turns: pyannote 4 returns a `DiarizeOutput` holding the full diarization (with overlapping
speech) and an exclusive one (one speaker at a time, made for transcript alignment). Both become
one turn list (callytics_ray/diarization/exclusive.py): the exclusive turns as primary turns, the
overlap beyond them as secondary turns. A pipeline that returns a bare `Annotation` (3.x, or
`legacy: true`) gives primary turns only, overlapping where it says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from callytics_ray.diarization.base import DiarizationRequest, OneCallAtATime, clip_turns, sorted_turns
from callytics_ray.devices import torch_device
from callytics_ray.diarization.exclusive import combine_exclusive
from callytics_ray.errors import ConfigError, ModelNotFoundError
from callytics_ray.model_store import resolve_model
from callytics_ray.settings import DiarizationOptions, Settings
from callytics_ray.types import SpeakerTurn

logger = logging.getLogger(__name__)

_INSTALL_HINT = "install runtime_envs/diarization-pyannote.txt (scripts/test_diarization_backends.sh pyannote)"


def load_pyannote_pipeline(ref: str, *, token: str | None, cache_dir: Path, offline: bool) -> Any:
    """A pyannote `Pipeline` from a local directory holding config.yaml, or a hub id such as
    "pyannote/speaker-diarization-community-1" (resolved by model_store: from the cache under
    `cache_dir`/hub, downloaded only when `offline` is False).

    community-1 is one repository (config.yaml naming "$model/segmentation", "$model/embedding"
    and "$model/plda"), so its snapshot loads with no further download. 3.1 names other hub
    repositories, and pyannote 4 adds community-1's PLDA to it; pyannote fetches those itself
    into the same cache, with `token`.

    Raises:
        ConfigError: pyannote.audio is not installed.
        ModelNotFoundError: the pipeline, or a checkpoint its config names, cannot be had.
    """
    # pyannote.audio 4 reports every pipeline load and run (file duration, speaker counts) to
    # otel.pyannote.ai by default: calls are customer data, and production nodes are offline.
    # Set, not defaulted: importing pyannote.audio sets it to "true" when unset.
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    try:
        from pyannote.audio import Pipeline
    except ImportError as err:
        raise ConfigError(f"the pyannote diarization backend needs pyannote.audio: {_INSTALL_HINT}") from err
    directory = resolve_model(ref, kind="diarization", cache_dir=cache_dir, offline=offline, token=token)
    try:
        # pyannote 4 takes `token=` (3.x's `use_auth_token=` is gone) and hands it, with the
        # cache, to every checkpoint the config names.
        return Pipeline.from_pretrained(directory, token=token, cache_dir=cache_dir / "hub")
    except OSError as err:  # a named checkpoint missing, not cached, or refused by the hub
        hint = f"{directory} names a checkpoint that cannot be had: {err}"
        raise ModelNotFoundError(ref, "diarization", hint) from err


def _annotation_turns(annotation: Any) -> list[SpeakerTurn]:
    return [
        SpeakerTurn(round(segment.start, 3), round(segment.end, 3), str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]


def output_turns(output: Any) -> list[SpeakerTurn]:
    """Turns of a pipeline's output: a `DiarizeOutput` (pyannote 4) or an `Annotation`."""
    full = _annotation_turns(getattr(output, "speaker_diarization", output))
    exclusive = getattr(output, "exclusive_speaker_diarization", None)
    if exclusive is None:
        return sorted_turns(full)
    return combine_exclusive(full, _annotation_turns(exclusive))


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

        pipeline.to(torch.device(torch_device(config.device)))
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
        return clip_turns(output_turns(output), item.audio.duration_s)
