"""SpeechRecognizer deployment: faster-whisper behind @serve.batch, one deployment per A/B variant."""

from __future__ import annotations

import logging
from typing import Any

from ray import serve

from callytics_ray.asr import Transcriber, request_options
from callytics_ray.settings import AsrOptions
from callytics_ray.types import ProcessedAudio, Transcript
from deployments._base import BatchedStageConfig, StageDeployment, StageFailure
from deployments.metrics import ReplicaMetrics

logger = logging.getLogger("ray.serve")


class RecognizerConfig(BatchedStageConfig[AsrOptions]):
    """user_config of a speech-recognizer variant: decoding options and batch limits."""

    options: AsrOptions = AsrOptions()


@serve.deployment(name="speech-recognizer", max_ongoing_requests=8, ray_actor_options={"num_cpus": 0.5})
class SpeechRecognizerDeployment(StageDeployment):
    """Transcribes processed audio; concurrent calls are batched into one model call.

    The decoding options are this deployment's own: its settings merged with its live
    user_config. A caller sends only the call's hints (its language and vocabulary), so a `serve deploy` of new
    options takes effect for the next call without a restart, and nothing in the gateway can pin
    an option against it.

    Example:
        >>> handle = serve.get_deployment_handle("speech-recognizer-base", "callytics")
        >>> transcript = unwrap(await handle.transcribe.remote(audio_ref, "en"))
    """

    stage = "asr"
    config_model = RecognizerConfig

    def __init__(self, settings: dict[str, Any] | None = None, variant: str = "default") -> None:
        self._setup(settings)
        self.variant = variant
        self.metrics = ReplicaMetrics(self.stage, variant)
        # Loaded here, not lazily: "replica ready" means "model loaded".
        self._asr = Transcriber.from_settings(self.settings)
        logger.info("speech recognizer variant %s ready: %s", variant, self.settings.asr.model)

    def _settings_options(self) -> AsrOptions:
        return self.settings.asr.options

    def _apply(self, config: RecognizerConfig) -> None:
        self._transcribe_batch.set_max_batch_size(config.max_batch_size)
        self._transcribe_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    def _check(self) -> None:
        super()._check()
        if self._asr is None:
            raise RuntimeError("speech recognizer has no model loaded")

    async def info(self) -> dict[str, str]:
        """Which variant and model this replica serves (for tests and /v1/experiments)."""
        return {"variant": self.variant, "model": self.settings.asr.model}

    async def transcribe(
        self, audio: ProcessedAudio, language: str | None = None, vocabulary: tuple[str, ...] = ()
    ) -> Transcript | StageFailure:
        """Transcribe one call.

        Args:
            audio: the processed call (Serve resolves the object reference the caller passes).
            language: the call's language hint ("ko"); None leaves the configured language or detection.
            vocabulary: the call's terms (product names, jargon) recognition is prompted with.

        Returns:
            The transcript, or a StageFailure (a language the model lacks, a model failure) for
            the caller to raise.
        """
        options = request_options(self.config.options, language, vocabulary)
        return await self._submit(self._transcribe_batch, (audio, options), audio_s=audio.duration_s)

    @serve.batch(max_batch_size=4, batch_wait_timeout_s=0.05)
    async def _transcribe_batch(
        self, items: list[tuple[ProcessedAudio, AsrOptions]]
    ) -> list[Transcript | StageFailure]:
        # Counted in calls, not audio seconds: Serve fails any single item larger than
        # max_batch_size under a batch_size_fn, and one call can be hours long.
        return await self._run_batch(self._asr.transcribe_batch, items)
