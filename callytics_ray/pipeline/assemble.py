"""Stage outputs (frozen dataclasses) into the public CallAnalysis: the one place results are built.

The stages run in the orchestrator (callytics_ray/pipeline/orchestrator.py); this module only turns
what they produced into contract fields: audio, segments (Whisper's, then per utterance with
speaker, role and sentiment), speakers, the call's sentiment, quality, analysis and PII spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callytics_ray.text.redaction import RedactedUtterance
from callytics_ray.result import (
    AnalysisResult,
    AudioResult,
    CallAnalysis,
    CallSentimentResult,
    QualityResult,
    RedactionResult,
    SegmentResult,
    SentimentResult,
    SpeakerResult,
    VocabularyResult,
    WordResult,
)
from callytics_ray.sentiment import Sentiment
from callytics_ray.types import AudioInfo, SpeakerRole, Transcript, TranscriptSegment, Utterance, Word


def vocabulary_result(terms: Sequence[str], tenant_version: int | None) -> VocabularyResult | None:
    """The call's vocabulary as recorded in its result (None without terms); which of the terms
    recognition was prompted with is added when recognition answers."""
    return VocabularyResult(terms=list(terms), tenant_version=tenant_version) if terms else None


def audio_result(info: AudioInfo) -> AudioResult:
    return AudioResult(
        duration_s=info.duration_s,
        sample_rate_hz=info.sample_rate_hz,
        channels=info.channels,
        codec=info.codec,
        layout=info.layout,
        snr_db=info.snr_db,
        speech_ratio=info.speech_ratio,
        noise_reduced=info.noise_reduced,
        gain_db=info.gain_db,
    )


def word_results(words: tuple[Word, ...]) -> list[WordResult]:
    return [WordResult(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in words]


def segments_from_transcript(transcript: Transcript) -> list[SegmentResult]:
    """Segments before speakers are known: Whisper's own segmentation."""
    return [_segment(s) for s in transcript.segments]


def _segment(s: TranscriptSegment) -> SegmentResult:
    return SegmentResult(start=s.start, end=s.end, text=s.text, words=word_results(s.words), channel=s.channel)


def speaker_results(roles: Sequence[SpeakerRole]) -> list[SpeakerResult]:
    return [
        SpeakerResult(speaker=r.speaker, role=r.role, role_confidence=round(r.confidence, 3), talk_time_s=r.talk_time_s)
        for r in roles
    ]


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
                words=word_results(u.words),
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
