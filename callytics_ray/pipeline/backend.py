"""Where the model stages run: the contract the orchestrator calls and each backend fulfils
(`LocalStages` in this process, the Serve deployments' handles on a cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from callytics_ray.audio.redact import AudioSpan, RedactedRecording
    from callytics_ray.llm import AnalysisOutcome
    from callytics_ray.pipeline.request import CallRequest
    from callytics_ray.result import QualityResult
    from callytics_ray.sentiment import Sentiment
    from callytics_ray.types import AudioInfo, SpeakerRole, SpeakerTurn, Transcript, Utterance


class StageBackend(Protocol):
    """Where the model stages run. `audio` payloads are opaque: arrays in-process, refs on Serve.

    The orchestrator passes a stage only the call's own hints (language, vocabulary, speaker
    bounds; the layout travels in the request); each stage decides its options itself, from its settings and,
    on Serve, its live user_config.
    """

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, Any]: ...

    async def transcribe(
        self, audio: Any, language: str | None, variant: str | None = None, vocabulary: Sequence[str] = ()
    ) -> Transcript:
        """Recognise speech with the recognizer of A/B `variant` (`VariantRouter`; None: the
        default), prompted with the call's `vocabulary` terms."""
        ...

    async def diarize(self, audio: Any, min_speakers: int | None, max_speakers: int | None) -> list[SpeakerTurn]: ...

    async def punctuate(self, utterances: Sequence[Utterance], language: str | None) -> tuple[Utterance, ...]: ...

    async def classify_sentiment(self, texts: Sequence[str]) -> tuple[Sentiment, ...]: ...

    async def analyze_conversation(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None,
        quality: QualityResult | None,
    ) -> AnalysisOutcome: ...

    async def stage_models(self) -> dict[str, str]:
        """Which model or method each stage runs, e.g. {"diarization": "offline", ...}."""
        ...

    async def redact_audio(self, request: CallRequest, spans: Sequence[AudioSpan]) -> RedactedRecording:
        """The recording of `request` with `spans` bleeped or silenced (the audio stage's options)."""
        ...
