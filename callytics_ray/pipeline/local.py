"""Stages run in this process: core objects loaded once, called in worker threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from callytics_ray.asr import Transcriber, request_options
from callytics_ray.audio import load_audio
from callytics_ray.audio.redact import AudioSpan, RedactedRecording, redact_recording
from callytics_ray.diarization import Diarizer, build_diarizer
from callytics_ray.llm import AnalysisOutcome, CallAnalyzer
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.pipeline.variants import VariantRouter
from callytics_ray.punctuation import Punctuator
from callytics_ray.result import QualityResult
from callytics_ray.sentiment import Sentiment, SentimentClassifier
from callytics_ray.settings import Settings
from callytics_ray.types import AudioInfo, ProcessedAudio, SpeakerRole, SpeakerTurn, Transcript, Utterance

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use, once, even when several threads ask at the same time."""

    def __init__(self, build: Callable[[], T], value: T | None = None) -> None:
        self._build = build
        self._value = value
        self._lock = threading.Lock()

    @property
    def loaded(self) -> T | None:
        """The value if it was built already, else None (never builds it)."""
        return self._value

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


class LocalStages:
    """The StageBackend for the CLI, benchmarks and tests: no Ray, models loaded on first use.

    Already-loaded core objects can be passed in (tests share one model across many calls).
    An A/B variant that names its own recognizer (`settings.api.variants[].asr_model`) gets its
    own `Transcriber`, loaded on its first call; every other stage, and every variant on the base
    model, shares the one set of models.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transcriber: Transcriber | None = None,
        diarizer: Diarizer | None = None,
        punctuator: Punctuator | None = None,
        classifier: SentimentClassifier | None = None,
        analyzer: CallAnalyzer | None = None,
        variant_transcribers: Mapping[str, Transcriber] | None = None,
    ) -> None:
        self.settings = settings
        self._transcriber = Lazy(lambda: Transcriber.from_settings(settings), transcriber)
        self._recognizers = VariantRouter(
            default=self._transcriber, by_variant=_variant_transcribers(settings, variant_transcribers or {})
        )
        self._diarizer = Lazy(lambda: build_diarizer(settings), diarizer)
        self._punctuator = Lazy(lambda: Punctuator.from_settings(settings), punctuator)
        self._classifier = Lazy(lambda: SentimentClassifier.from_settings(settings), classifier)
        self._analyzer = Lazy(lambda: CallAnalyzer.from_settings(settings), analyzer)

    @property
    def transcriber(self) -> Transcriber:
        return self._transcriber.get()

    @property
    def diarizer(self) -> Diarizer:
        return self._diarizer.get()

    @property
    def punctuator(self) -> Punctuator:
        return self._punctuator.get()

    @property
    def classifier(self) -> SentimentClassifier:
        return self._classifier.get()

    @property
    def analyzer(self) -> CallAnalyzer:
        return self._analyzer.get()

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, Any]:
        audio = await asyncio.to_thread(
            load_audio, request.source, self.settings.audio, layout=request.layout, name=request.name
        )
        return audio.info, audio

    async def transcribe(
        self, audio: ProcessedAudio, language: str | None, variant: str | None = None, vocabulary: Sequence[str] = ()
    ) -> Transcript:
        options = request_options(self.settings.asr.options, language, vocabulary)
        recognizer = self._recognizers.route(variant)
        # Every model is fetched inside the worker thread: its first use loads it (seconds to
        # minutes on a busy CPU), and on the event loop that load froze every other request.
        return await asyncio.to_thread(lambda: recognizer.get().transcribe(audio, options))

    async def diarize(
        self, audio: ProcessedAudio, min_speakers: int | None, max_speakers: int | None
    ) -> list[SpeakerTurn]:
        return await asyncio.to_thread(lambda: self.diarizer.diarize(audio, min_speakers, max_speakers))

    async def punctuate(self, utterances: Sequence[Utterance], language: str | None) -> tuple[Utterance, ...]:
        options = self.settings.punctuation.options
        return await asyncio.to_thread(lambda: self.punctuator.restore(utterances, language=language, options=options))

    async def classify_sentiment(self, texts: Sequence[str]) -> tuple[Sentiment, ...]:
        texts = list(texts)
        return await asyncio.to_thread(lambda: self.classifier.classify(texts, self.settings.sentiment.options))

    async def analyze_conversation(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None,
        quality: QualityResult | None,
    ) -> AnalysisOutcome:
        return await asyncio.to_thread(
            lambda: self.analyzer.analyze(utterances, roles, sentiments, quality, options=self.settings.llm.options)
        )

    async def redact_audio(self, request: CallRequest, spans: Sequence[AudioSpan]) -> RedactedRecording:
        options = self.settings.audio
        return await asyncio.to_thread(
            redact_recording, request.source, spans, options.redaction, max_duration_s=options.max_duration_s,
            max_channels=options.max_channels, name=request.name,
        )

    async def stage_models(self) -> dict[str, str]:
        # Only what is already loaded: describing a stage must not load its model.
        models = {}
        for stage, lazy, describe in (
            ("diarization", self._diarizer, lambda d: d.name),
            ("punctuation", self._punctuator, lambda p: p.method),
            ("sentiment", self._classifier, lambda c: c.method),
        ):
            if lazy.loaded is not None:
                models[stage] = describe(lazy.loaded)
        return models


def _variant_transcribers(settings: Settings, loaded: Mapping[str, Transcriber]) -> dict[str, Lazy[Transcriber]]:
    """A lazy Transcriber per variant that names a recognizer other than `settings.asr.model`."""
    lazies = {name: Lazy(lambda t=transcriber: t, transcriber) for name, transcriber in loaded.items()}
    for variant in settings.api.variants:
        if variant.name in lazies or variant.asr_model is None or variant.asr_model == settings.asr.model:
            continue
        variant_settings = settings.model_copy(
            update={"asr": settings.asr.model_copy(update={"model": variant.asr_model})}
        )
        lazies[variant.name] = Lazy(lambda s=variant_settings: Transcriber.from_settings(s))
    return lazies
