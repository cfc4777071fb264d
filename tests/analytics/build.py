"""Analyses built from a script of lines, for rule and scorecard tests: every word gets its own
time (WORD_S apart), so evidence seconds are known exactly."""

from __future__ import annotations

from callytics_ray.result import (
    AudioResult,
    CallAnalysis,
    CallSentimentResult,
    InterruptionResult,
    QualityResult,
    SegmentResult,
    SentimentResult,
    SpeakerQualityResult,
    SpeakerResult,
    SpeakerSentimentResult,
    WordResult,
)

WORD_S = 0.5
SPEAKER = {"agent": "SPEAKER_00", "customer": "SPEAKER_01"}


def line(role: str | None, start: float, text: str, sentiment: str | None = None) -> SegmentResult:
    """One utterance starting at `start`; word i starts at start + i * WORD_S and lasts 0.4 s."""
    words = [WordResult(start=start + i * WORD_S, end=start + i * WORD_S + 0.4, text=(" " if i else "") + w,
                        probability=0.9) for i, w in enumerate(text.split())]
    score = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}
    return SegmentResult(
        start=start, end=words[-1].end, text=text, words=words,
        speaker=SPEAKER.get(role) if role else None, role=role,
        sentiment=SentimentResult(label=sentiment, score=score[sentiment]) if sentiment else None,
    )


def call(*segments: SegmentResult, duration_s: float | None = None, quality: QualityResult | None = None,
         sentiment: CallSentimentResult | None = None, call_id: str = "c-1") -> CallAnalysis:
    end = max(s.end for s in segments)
    roles = {s.speaker: s.role for s in segments if s.speaker}
    return CallAnalysis(
        call_id=call_id, language="en",
        audio=AudioResult(duration_s=duration_s or end + 1.0, sample_rate_hz=8000, channels=1, codec="pcm_s16le",
                          layout="mono", snr_db=30.0, speech_ratio=0.8, noise_reduced=False, gain_db=0.0),
        segments=list(segments),
        speakers=[SpeakerResult(speaker=s, role=r, role_confidence=0.9, talk_time_s=1.0) for s, r in roles.items()]
        if roles else None,
        quality=quality, sentiment=sentiment,
    )


def quality(*, longest_silence_s: float = 1.0, overtalk_ratio: float = 0.0, agent_share: float = 0.6,
            interruptions: list[InterruptionResult] | None = None, duration_s: float = 60.0) -> QualityResult:
    interruptions = interruptions or []
    made = {s: sum(1 for i in interruptions if i.interrupter == s) for s in SPEAKER.values()}
    return QualityResult(
        duration_s=duration_s, talk_share_by_role={"agent": agent_share, "customer": round(1 - agent_share, 4)},
        silence_ratio=0.2, longest_silence_s=longest_silence_s, overtalk_s=overtalk_ratio * duration_s,
        overtalk_ratio=overtalk_ratio, interruptions=interruptions,
        speakers=[SpeakerQualityResult(speaker=SPEAKER[r], role=r, talk_time_s=10.0, talk_share=0.5, words=20,
                                       speaking_rate_wpm=150.0, interruptions_made=made[SPEAKER[r]])
                  for r in ("agent", "customer")],
    )


def sentiment(*, customer: float = 0.0, agent: float = 0.2, change: float = 0.0) -> CallSentimentResult:
    def label(x: float) -> str:
        return "negative" if x < -0.05 else "positive" if x > 0.05 else "neutral"

    return CallSentimentResult(
        label=label(customer), score=(customer + agent) / 2, change=change, method="test",
        speakers=[SpeakerSentimentResult(speaker=SPEAKER[r], role=r, label=label(v), score=v)
                  for r, v in (("agent", agent), ("customer", customer))],
    )
