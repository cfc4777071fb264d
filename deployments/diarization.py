"""SpeakerDiarizer deployment: who spoke when, with concurrent calls batched into one model pass."""

from __future__ import annotations

import logging
from typing import Any

from ray import serve

from callytics_ray.diarization.base import DiarizationRequest, DiarizationResult
from callytics_ray.diarization.factory import build_diarizer
from callytics_ray.settings import DiarizationOptions
from callytics_ray.types import ProcessedAudio, SpeakerTurn
from deployments._base import BatchedStageConfig, StageDeployment, StageFailure

logger = logging.getLogger("ray.serve")


class DiarizerConfig(BatchedStageConfig[DiarizationOptions]):
    """user_config of the speaker-diarizer: thresholds, speaker bounds, embedding windows, batching."""

    options: DiarizationOptions = DiarizationOptions()


@serve.deployment(name="speaker-diarizer", max_ongoing_requests=8, ray_actor_options={"num_cpus": 0.4})
class SpeakerDiarizerDeployment(StageDeployment):
    """Speaker turns of processed audio; dual-channel calls take one speaker per channel.

    Example:
        >>> turns = unwrap(await handle.diarize.remote(audio_ref, 2, 2))
    """

    stage = "diarization"
    config_model = DiarizerConfig

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)
        # Loaded here: "replica ready" means "models loaded". Options swap without reloading.
        self._loaded = build_diarizer(self.settings)
        self._diarizer = self._loaded

    def _settings_options(self) -> DiarizationOptions:
        return self.settings.diarization.options

    def _apply(self, config: DiarizerConfig) -> None:
        self._diarizer = self._loaded.with_options(config.options)
        self._diarize_batch.set_max_batch_size(config.max_batch_size)
        self._diarize_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    async def model_name(self) -> str:
        return self._loaded.name

    def _check(self) -> None:
        super()._check()
        if self._diarizer is None:
            raise RuntimeError("speaker diarizer has no model loaded")

    async def diarize(
        self, audio: ProcessedAudio, min_speakers: int | None = None, max_speakers: int | None = None
    ) -> list[SpeakerTurn] | StageFailure:
        """Speaker turns of one call (Serve resolves the audio's object reference).

        Returns:
            The turns sorted by start, or a StageFailure for the caller to raise.
        """
        request = DiarizationRequest(audio, min_speakers, max_speakers)
        return await self._submit(self._diarize_batch, request, audio_s=audio.duration_s)

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.05)
    async def _diarize_batch(self, items: list[DiarizationRequest]) -> list[DiarizationResult]:
        # Length-preserving with per-item failures: one bad call never fails the batch.
        diarizer = self._diarizer  # a reconfigure mid-batch swaps the reference, not this batch's
        return await self._run_batch(diarizer.diarize_batch, items)
