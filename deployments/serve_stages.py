"""ServeStages: the orchestrator's StageBackend over DeploymentHandles (the gateway's backend).

Processed audio is put in the object store once: `process_audio` keeps the audio processor's
result as an ObjectRef owned by the gateway, and every later stage gets that reference (Ray
resolves it in the receiving replica, zero-copy on the same node). Failures come back as
StageFailure values carrying the core's exception, raised here (`unwrap`), so the orchestrator's
retry rules see the same errors as in-process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ray
from ray.serve.handle import DeploymentHandle

from callytics_ray.audio.redact import AudioSpan, RedactedRecording
from callytics_ray.errors import ConfigError
from callytics_ray.failures import unwrap
from callytics_ray.llm import AnalysisOutcome
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.pipeline.variants import VariantRouter
from callytics_ray.result import QualityResult
from callytics_ray.sentiment import Sentiment
from callytics_ray.types import AudioInfo, ProcessedAudio, SpeakerRole, SpeakerTurn, Transcript, Utterance

logger = logging.getLogger("ray.serve")


@dataclass(frozen=True, slots=True)
class StageHandles:
    """Handles to the stage deployments of one application.

    Attributes:
        audio: the audio-processor.
        recognizers: speech-recognizer deployments by variant name; the first serves calls
            without a variant.
        diarizer / punctuation / sentiment / llm: the other stage deployments.
    """

    audio: DeploymentHandle
    recognizers: dict[str, DeploymentHandle]
    diarizer: DeploymentHandle
    punctuation: DeploymentHandle
    sentiment: DeploymentHandle
    llm: DeploymentHandle

    def __post_init__(self) -> None:
        if not self.recognizers:
            raise ConfigError("at least one speech-recognizer variant is needed")


class ServeStages:
    """StageBackend whose stages run in Serve deployments.

    Example:
        >>> stages = ServeStages(StageHandles(audio=..., recognizers={"base": ...}, diarizer=..., ...))
        >>> analysis = await run_call(request, stages, settings=settings)
    """

    def __init__(self, handles: StageHandles) -> None:
        self.handles = handles
        # Every variant has its own deployment, so a name without one is refused, not defaulted.
        self._recognizers = VariantRouter(
            default=next(iter(handles.recognizers.values())), by_variant=handles.recognizers, strict=True
        )

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.handles.recognizers)

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, ray.ObjectRef]:
        request = await _with_bytes(request)
        ref = await self.handles.audio.process.remote(request)._to_object_ref()
        # Fetching maps the arrays from the local object store without copying them; only the
        # small AudioInfo is kept here, the stages below receive `ref`.
        audio: ProcessedAudio = unwrap(await ref)
        return audio.info, ref

    async def transcribe(
        self, audio: ray.ObjectRef, language: str | None, variant: str | None = None, vocabulary: Sequence[str] = ()
    ) -> Transcript:
        # Only the call's hints travel: the recognizer's options are its own (settings merged
        # with its live user_config), so they roll out without touching the gateway.
        return unwrap(await self._recognizers.route(variant).transcribe.remote(audio, language, tuple(vocabulary)))

    async def diarize(
        self, audio: ray.ObjectRef, min_speakers: int | None, max_speakers: int | None
    ) -> list[SpeakerTurn]:
        return unwrap(await self.handles.diarizer.diarize.remote(audio, min_speakers, max_speakers))

    async def punctuate(self, utterances: Sequence[Utterance], language: str | None) -> tuple[Utterance, ...]:
        return unwrap(await self.handles.punctuation.restore.remote(tuple(utterances), language))

    async def classify_sentiment(self, texts: Sequence[str]) -> tuple[Sentiment, ...]:
        return unwrap(await self.handles.sentiment.classify.remote(list(texts)))

    async def analyze_conversation(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None,
        quality: QualityResult | None,
    ) -> AnalysisOutcome:
        return unwrap(await self.handles.llm.analyze.remote(tuple(utterances), tuple(roles), sentiments, quality))

    async def redact_audio(self, request: CallRequest, spans: Sequence[AudioSpan]) -> RedactedRecording:
        # The audio processor decodes the original again (at its own rate, unlike `process`): the
        # heavy part stays off the gateway, which only passes the copy on to the database service.
        return unwrap(await self.handles.audio.redact.remote(await _with_bytes(request), tuple(spans)))

    async def stage_models(self) -> dict[str, str]:
        """What each model stage runs, as its replicas report it (after a rollout: the new one)."""
        stages = {
            "diarization": self.handles.diarizer,
            "punctuation": self.handles.punctuation,
            "sentiment": self.handles.sentiment,
        }
        names = await asyncio.gather(*(handle.model_name.remote() for handle in stages.values()))
        return {stage: name for stage, name in zip(stages, names) if name}


async def _with_bytes(request: CallRequest) -> CallRequest:
    """`request` with its recording as bytes: a path exists only on the gateway's machine, and
    replicas may run elsewhere."""
    if not isinstance(request.source, Path):
        return request
    data = await asyncio.to_thread(request.source.read_bytes)
    return replace(request, source=data, name=request.name or request.source.name)
