"""AudioProcessor deployment: decode, split channels, measure and clean one recording; make its
redacted copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray import serve

from callytics_ray.audio import load_audio
from callytics_ray.audio.redact import AudioSpan, RedactedRecording, redact_recording
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.settings import AudioOptions
from callytics_ray.types import ProcessedAudio
from deployments._base import StageConfig, StageDeployment, StageFailure


class AudioConfig(StageConfig[AudioOptions]):
    """user_config of the audio processor: the AudioOptions."""

    options: AudioOptions = AudioOptions()


@serve.deployment(name="audio-processor", max_ongoing_requests=8, ray_actor_options={"num_cpus": 0.25})
class AudioProcessorDeployment(StageDeployment):
    """Turns an uploaded recording into ProcessedAudio (16 kHz float32 channels).

    The caller keeps the result as an object reference, so the arrays go into the object store
    once and every later stage reads them from there.

    Example:
        >>> ref = await handle.process.remote(request)._to_object_ref()
    """

    stage = "audio"
    config_model = AudioConfig

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)

    def _settings_options(self) -> AudioOptions:
        return self.settings.audio

    async def process(self, request: CallRequest) -> ProcessedAudio | StageFailure:
        """Decode and clean `request.source` (bytes on Serve: paths are local to the caller).

        Returns:
            The processed audio, or a StageFailure carrying the AudioError's reason.
        """
        return await self._guarded(
            lambda: load_audio(request.source, self.config.options, layout=request.layout, name=request.name)
        )

    async def redact(self, request: CallRequest, spans: Sequence[AudioSpan]) -> RedactedRecording | StageFailure:
        """The redacted copy of `request.source`: `spans` bleeped or silenced as the live
        `options.redaction` says, on every channel, encoded losslessly."""
        options = self.config.options
        return await self._guarded(
            lambda: redact_recording(
                request.source, spans, options.redaction, max_duration_s=options.max_duration_s,
                max_channels=options.max_channels, name=request.name,
            )
        )
