"""What was said and how it went, assembled into the contract: segments with sentiment, the
call's sentiment, quality, analysis and PII spans. The stages themselves run in the pipeline
(callytics_ray/pipeline/orchestrator.py); this module only turns their outputs into results.
"""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.text.redaction import RedactedUtterance
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
from callytics_ray.sentiment import Sentiment
from callytics_ray.settings import UtteranceOptions
from callytics_ray.types import SpeakerRole, Transcript, Utterance, Word
from callytics_ray.utterances import build_utterances


def plain_utterances(transcript: Transcript, options: UtteranceOptions | None = None) -> tuple[Utterance, ...]:
    """Whisper's words as utterances, for when diarization failed.

    The speaker label is the channel on dual-channel calls (one party per channel), else one
    unknown speaker; the result then carries no `speakers`. Utterances end where they would with
    speakers (pauses, sentence ends, the length cap), not at Whisper's 30 s segment edges.
    """
    words: list[Word] = []
    channels: list[int | None] = []
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        seg_words = segment.words or (Word(segment.start, segment.end, segment.text, 1.0),)
        words.extend(seg_words)
        channels.extend([segment.channel] * len(seg_words))
    speakers = [f"CHANNEL_{c}" if c is not None else "SPEAKER_00" for c in channels]
    dual = any(c is not None for c in channels)
    return build_utterances(words, speakers, channels, options or UtteranceOptions(), exclusive=not dual)


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """What the conversation stages produced for one call; None where a stage failed.

    Attributes:
        utterances: the utterances as stored: punctuated, and masked when redaction before
            storage is on.
        redacted: per utterance, the masked version and its PII spans (spans refer to the
            punctuated text; `masked_*` offsets to the masked text).
        stored_redacted: whether `utterances` hold the masked text.
        sentiments: one per utterance.
        roles: who is agent and customer (empty when diarization failed).
    """

    utterances: tuple[Utterance, ...]
    redacted: tuple[RedactedUtterance, ...]
    stored_redacted: bool
    sentiments: tuple[Sentiment, ...] | None
    sentiment: CallSentimentResult | None
    quality: QualityResult | None
    analysis: AnalysisResult | None
    roles: tuple[SpeakerRole, ...]

    def segments(self, *, with_speakers: bool) -> list[SegmentResult]:
        """Contract segments: one per utterance, with speaker, role and sentiment where known."""
        role_of = {r.speaker: r.role for r in self.roles}
        sentiments = self.sentiments or (None,) * len(self.utterances)
        return [
            SegmentResult(
                start=u.start, end=u.end, text=u.text,
                words=[WordResult(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in u.words],
                speaker=u.speaker if with_speakers else None,
                role=role_of.get(u.speaker) if with_speakers else None,
                channel=u.channel,
                sentiment=SentimentResult(label=s.label, score=s.score) if s is not None else None,
            )
            for u, s in zip(self.utterances, sentiments, strict=True)
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
        """Fill the conversation fields of `call` (segments, sentiment, quality, analysis, redactions)."""
        call.segments = self.segments(with_speakers=call.speakers is not None)
        call.sentiment = self.sentiment
        call.quality = self.quality
        call.analysis = self.analysis
        call.redactions = self.redaction_results()
