"""The public result contract: `CallAnalysis` and its parts (pydantic, the JSON export as it is).

Field names here are stable. A field a stage has not produced is None in Python and absent from
the JSON (`CallAnalysis.to_json()` drops None), never a dummy value.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["agent", "customer", "other"]
SentimentLabel = Literal["negative", "neutral", "positive"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AudioResult(_Model):
    duration_s: float
    sample_rate_hz: int
    channels: int
    codec: str
    layout: Literal["mono", "dual"]
    snr_db: float
    speech_ratio: float
    noise_reduced: bool
    gain_db: float


class WordResult(_Model):
    start: float
    end: float
    text: str
    probability: float


class SentimentResult(_Model):
    label: SentimentLabel
    score: float = Field(description="signed polarity in [-1, 1]")


class SegmentResult(_Model):
    start: float
    end: float
    text: str
    words: list[WordResult] = []
    speaker: str | None = None
    role: Role | None = None
    channel: int | None = None
    sentiment: SentimentResult | None = None


class SpeakerResult(_Model):
    speaker: str
    role: Role
    role_confidence: float
    talk_time_s: float


# The kinds of PII redaction finds; settings.RedactionOptions.types picks among them.
PiiType = Literal["card", "phone", "email", "ssn", "kr_rrn", "account_number", "number_sequence"]


class TrajectoryPoint(_Model):
    """Mean sentiment of one stretch of the call."""

    start: float
    end: float
    score: float
    label: SentimentLabel


class SpeakerSentimentResult(_Model):
    speaker: str
    role: Role | None = None
    label: SentimentLabel
    score: float
    trajectory: list[TrajectoryPoint] = []


class CallSentimentResult(_Model):
    """Call-level sentiment.

    Attributes:
        trajectory: how the customer's sentiment moved from start to end (the whole call when no
            customer is known); `change` is its last point minus its first.
    """

    label: SentimentLabel
    score: float
    speakers: list[SpeakerSentimentResult] = []
    trajectory: list[TrajectoryPoint] = []
    change: float = 0.0
    method: str


class InterruptionResult(_Model):
    time: float = Field(description="when the interrupter started, seconds from call start")
    interrupter: str
    interrupted: str
    overlap_s: float


class ResponseLatencyResult(_Model):
    """Gaps between one party stopping and the other starting."""

    from_speaker: str
    to_speaker: str
    count: int
    mean_s: float
    median_s: float
    max_s: float


class LoudnessPoint(_Model):
    """Loudness of one utterance of a speaker, on the original levels."""

    start: float
    end: float
    lufs: float


class TalkSpeedPoint(_Model):
    """A speaker's words and talk time in one window of the call."""

    start: float
    end: float
    words: int = Field(description="words that start in the window")
    talk_time_s: float
    wpm: float = Field(description="words per minute of talk time in the window")


class NonTalkInstance(_Model):
    """A stretch of the call with nobody talking."""

    start: float
    end: float
    duration_s: float


class SpeakerQualityResult(_Model):
    """One speaker's figures.

    Attributes:
        loudness_lufs: gated loudness (ITU-R BS.1770, LUFS) over the speaker's speech, measured on
            the recording before noise reduction and loudness normalisation, on the speaker's own
            channel of a dual-channel call; None when the audio's envelope is unknown (older calls).
        loudness: the same per utterance, in time order.
        talk_speed: words per minute per window of `QualityOptions.talk_speed_window_s`, the
            windows in which the speaker talked; their `words` add up to `words`.
    """

    speaker: str
    role: Role | None = None
    talk_time_s: float
    talk_share: float
    words: int
    speaking_rate_wpm: float
    interruptions_made: int
    positive_words: dict[str, int] = {}
    negative_words: dict[str, int] = {}
    profane_words: dict[str, int] = {}
    politeness_markers: dict[str, int] = {}
    loudness_lufs: float | None = None
    loudness: list[LoudnessPoint] = []
    talk_speed: list[TalkSpeedPoint] = []


class QualityResult(_Model):
    """Communication-quality metrics of a call.

    Attributes:
        non_talk_time_s: total time with nobody talking, in stretches of at least
            `QualityOptions.non_talk_min_s` (leading and trailing ones included, as AWS counts
            NonTalkTime); `non_talk_ratio` is its share of the call, `non_talk` the stretches.
            None on calls analysed before it was measured.
    """

    duration_s: float
    talk_share_by_role: dict[str, float]
    silence_ratio: float
    longest_silence_s: float
    overtalk_s: float
    overtalk_ratio: float
    interruptions: list[InterruptionResult] = []
    response_latency: list[ResponseLatencyResult] = []
    speakers: list[SpeakerQualityResult] = []
    non_talk_time_s: float | None = None
    non_talk_ratio: float | None = None
    non_talk: list[NonTalkInstance] = []


class ConflictResult(_Model):
    flag: bool
    evidence: list[str] = []


class RoleConfirmationResult(_Model):
    speaker: str
    role: Role
    agrees: bool = Field(description="whether the analyzer agrees with the role diarization assigned")


class TokenUsageResult(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0


class AnalysisResult(_Model):
    """What the call was about and how it went.

    Attributes:
        analyzer: "llm" or "offline"; `model` names the LLM or the offline method.
        satisfaction: estimated customer satisfaction, 1 (very dissatisfied) to 5 (very satisfied).
    """

    summary: str
    topics: list[str] = []
    reason: str | None = None
    outcome: str | None = None
    resolved: bool | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    conflict: ConflictResult
    action_items: list[str] = []
    roles: list[RoleConfirmationResult] = []
    analyzer: Literal["llm", "offline"]
    model: str
    chunks: int = 1
    usage: TokenUsageResult | None = None


class RedactionResult(_Model):
    """One masked span. `start`/`end` are character offsets into `segments[segment].text` as stored
    (the mask itself when the text was redacted before storage); `start_s`/`end_s` are audio times."""

    type: PiiType
    segment: int
    start: int
    end: int
    start_s: float | None = None
    end_s: float | None = None


class VocabularyResult(_Model):
    """The custom vocabulary of a call (`callytics_ray.vocabulary`).

    Attributes:
        terms: the call's terms: its request's, then its tenant's; category rules match these.
        tenant_version: the version of the tenant's vocabulary merged in (0: it had none).
        recognized_with: the terms speech recognition was prompted with: the leading ones that
            fit its prompt (all of them unless the list is long).
    """

    terms: list[str]
    tenant_version: int | None = None
    recognized_with: list[str] = []


class CallAnalysis(_Model):
    """Everything known about one call. Stages fill their fields; the rest stay None."""

    call_id: str
    source: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    audio: AudioResult | None = None
    language: str | None = None
    language_probability: float | None = None
    segments: list[SegmentResult] = []
    speakers: list[SpeakerResult] | None = None
    variant: str | None = None
    vocabulary: VocabularyResult | None = None
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    models: dict[str, str] = Field(default_factory=dict, description="model reference per stage")
    sentiment: CallSentimentResult | None = None
    quality: QualityResult | None = None
    analysis: AnalysisResult | None = None
    redactions: list[RedactionResult] | None = None
    errors: dict[str, str] | None = Field(default=None, description="stage -> why it failed")

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent, exclude_none=True)
