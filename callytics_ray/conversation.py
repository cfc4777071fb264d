"""What was said and how it went: punctuation, PII redaction, sentiment, communication quality and
the call analysis, composed over speaker-attributed utterances (the pipeline's NLP step).

Usage:
    >>> analyzer = ConversationAnalyzer.from_settings(settings)
    >>> result = analyzer.analyze(utterances, roles, language="en", duration_s=62.0)
    >>> result.apply_to(call_analysis)  # fills segments, sentiment, quality, analysis, redactions
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from callytics_ray.llm import CallAnalyzer
from callytics_ray.punctuation import Punctuator
from callytics_ray.quality import QualityAnalyzer
from callytics_ray.redaction import RedactedUtterance, redact_utterances
from callytics_ray.result import (
    AnalysisResult,
    CallAnalysis,
    CallSentimentResult,
    QualityResult,
    RedactionResult,
    SegmentResult,
    SentimentResult,
    WordResult,
)
from callytics_ray.sentiment import Sentiment, SentimentClassifier, summarize_sentiment
from callytics_ray.settings import Settings
from callytics_ray.types import SpeakerRole, Utterance

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """Everything the NLP step learned about one call.

    Attributes:
        utterances: the utterances as stored: punctuated, and masked when redaction before
            storage is on.
        redacted: per utterance, the masked version and its PII spans (spans refer to the
            punctuated text; `masked_*` offsets to the masked text).
        stored_redacted: whether `utterances` hold the masked text.
        sentiments: one per utterance.
        llm_error: why the LLM failed when the offline analyzer stood in.
        models: which method or model produced each part.
        timings: seconds per part.
    """

    utterances: tuple[Utterance, ...]
    redacted: tuple[RedactedUtterance, ...]
    stored_redacted: bool
    sentiments: tuple[Sentiment, ...]
    sentiment: CallSentimentResult
    quality: QualityResult
    analysis: AnalysisResult
    roles: tuple[SpeakerRole, ...]
    llm_error: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def segments(self) -> list[SegmentResult]:
        """Contract segments: one per utterance, with speaker, role and sentiment."""
        role_of = {r.speaker: r.role for r in self.roles}
        return [
            SegmentResult(
                start=u.start, end=u.end, text=u.text,
                words=[WordResult(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in u.words],
                speaker=u.speaker, role=role_of.get(u.speaker), channel=u.channel,
                sentiment=SentimentResult(label=s.label, score=s.score),
            )
            for u, s in zip(self.utterances, self.sentiments, strict=True)
        ]

    def redaction_results(self) -> list[RedactionResult]:
        """PII spans per segment, as offsets into the stored segment text."""
        out = []
        for index, red in enumerate(self.redacted):
            for span, times in zip(red.redactions, red.times, strict=True):
                start, end = (span.masked_start, span.masked_end) if self.stored_redacted else (span.start, span.end)
                out.append(RedactionResult(
                    type=span.type, segment=index, start=start, end=end,
                    start_s=times[0] if times else None, end_s=times[1] if times else None,
                ))
        return out

    def apply_to(self, call: CallAnalysis) -> None:
        """Fill the NLP fields of a CallAnalysis (segments, sentiment, quality, analysis,
        redactions, models, timings, and the LLM error when the offline analyzer stood in)."""
        call.segments = self.segments()
        call.sentiment = self.sentiment
        call.quality = self.quality
        call.analysis = self.analysis
        call.redactions = self.redaction_results()
        call.models.update(self.models)
        call.timings.update(self.timings)
        if self.llm_error:
            call.errors = {**(call.errors or {}), "llm": self.llm_error}


class ConversationAnalyzer:
    """Runs the NLP stages in order on one call's utterances.

    Example:
        >>> ConversationAnalyzer.from_settings(settings).analyze(utterances, roles, language="en", duration_s=60.0)
    """

    def __init__(
        self,
        settings: Settings,
        *,
        punctuator: Punctuator,
        classifier: SentimentClassifier,
        quality: QualityAnalyzer,
        analyzer: CallAnalyzer,
    ) -> None:
        self._settings = settings
        self.punctuator = punctuator
        self.classifier = classifier
        self.quality = quality
        self.analyzer = analyzer

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationAnalyzer:
        return cls(
            settings,
            punctuator=Punctuator.from_settings(settings),
            classifier=SentimentClassifier.from_settings(settings),
            quality=QualityAnalyzer(),
            analyzer=CallAnalyzer.from_settings(settings),
        )

    def analyze(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        *,
        language: str | None,
        duration_s: float,
        settings: Settings | None = None,
    ) -> ConversationResult:
        """Punctuate, redact, score sentiment, measure quality and analyse one call.

        Args:
            utterances: speaker-attributed word runs, in time order.
            roles: who is agent and customer.
            language: the call's language ("en", "ko"); None is treated as English.
            duration_s: length of the recording (for silence and overtalk ratios).
            settings: per-call options (the tunable *Options sections); defaults to the
                analyzer's settings.
        """
        s = settings or self._settings
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 3)
            clock = now

        punctuated = self.punctuator.restore(utterances, language=language, options=s.punctuation.options)
        lap("punctuation")
        redacted = redact_utterances(punctuated, s.redaction)
        masked = tuple(r.utterance for r in redacted)
        lap("redaction")
        sentiments = self.classifier.classify([u.text for u in masked], s.sentiment.options)
        call_sentiment = summarize_sentiment(
            masked, sentiments, roles, method=self.classifier.method, options=s.sentiment.options
        )
        lap("sentiment")
        quality = self.quality.measure(punctuated, roles, duration_s=duration_s, options=s.quality)
        lap("quality")
        outcome = self.analyzer.analyze(masked, roles, sentiments, quality, options=s.llm.options)
        lap("analysis")
        return ConversationResult(
            utterances=masked if s.redaction.before_storage else punctuated,
            redacted=redacted,
            stored_redacted=s.redaction.before_storage,
            sentiments=sentiments,
            sentiment=call_sentiment,
            quality=quality,
            analysis=outcome.result,
            roles=tuple(roles),
            llm_error=outcome.llm_error,
            models={
                "punctuation": self.punctuator.method,
                "sentiment": self.classifier.method,
                "analysis": outcome.result.model,
            },
            timings=timings,
        )
