"""Public read models and query parameters of the store (pydantic, safe to return over HTTP)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callytics_ray.analytics import CategoryMatch, CategorySet, Rubric, Scorecard


class CallRecord(BaseModel):
    """One call as listed: its state and headline facts, not the whole analysis."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant: str
    source_name: str | None = None
    created_at: datetime
    updated_at: datetime
    status: str
    error: str | None = None
    duration_s: float | None = None
    language: str | None = None
    agent_id: str | None = None
    customer_id: str | None = None
    variant: str | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    agent_talk_share: float | None = None
    agent_interruptions: int | None = None
    agent_speaking_rate_wpm: float | None = None
    flags: list[str] = []

    @field_validator("flags", mode="before")
    @classmethod
    def _split_flags(cls, value: object) -> object:
        # Stored as ",a,b," (see tables.Call.flags); None before the call has an analysis.
        if value is None:
            return []
        return [f for f in value.split(",") if f] if isinstance(value, str) else value


class StageState(BaseModel):
    """One stage of a call: its status and how often it was started in this run (a retry of the
    call resets `attempts`; the reconciler gives up at `api.max_stage_attempts`)."""

    model_config = ConfigDict(from_attributes=True)

    stage: str
    status: str
    attempts: int
    error: str | None = None
    seconds: float | None = None


class CallFilter(BaseModel):
    """Filters for listing calls; every field is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid")

    tenant: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    language: str | None = None
    min_duration_s: float | None = Field(default=None, ge=0)
    max_duration_s: float | None = Field(default=None, ge=0)
    agent_id: str | None = None
    customer_id: str | None = None
    sentiment: str | None = None
    status: str | None = None
    flag: str | None = Field(default=None, pattern=r"^[a-z_]+$", description="one of headline.CallFlag")


class CallSort(str, Enum):
    """How listed calls are ordered: a column ascending, or with a leading "-" descending.

    Calls without the value (NULL) come last either way; calls with equal values keep one stable
    order (by id), so pages never overlap. Text columns compare as the database collates them.
    """

    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"
    DURATION = "duration_s"
    DURATION_DESC = "-duration_s"
    AGENT_TALK_SHARE = "agent_talk_share"
    AGENT_TALK_SHARE_DESC = "-agent_talk_share"
    SENTIMENT_SCORE = "sentiment_score"
    SENTIMENT_SCORE_DESC = "-sentiment_score"
    AGENT_ID = "agent_id"
    AGENT_ID_DESC = "-agent_id"
    LANGUAGE = "language"
    LANGUAGE_DESC = "-language"
    STATUS = "status"
    STATUS_DESC = "-status"

    @property
    def column(self) -> str:
        """The `CallRecord` field sorted on."""
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @classmethod
    def by(cls, column: str, *, descending: bool) -> CallSort:
        """The sort on `column` in that direction (ValueError for a column that is not sortable)."""
        return cls(("-" if descending else "") + column)


NEWEST_FIRST = CallSort.CREATED_AT_DESC


class CallPage(BaseModel):
    items: list[CallRecord]
    total: int
    limit: int
    offset: int


class SearchHit(BaseModel):
    call_id: str
    utterance_id: int
    start: float
    end: float
    speaker: str | None = None
    text: str


class SearchPage(CallPage):
    """A page of the calls whose transcript matches `query`, best first, and their matching utterances."""

    query: str
    hits: list[SearchHit]


class CallFigures(BaseModel):
    """One call's figures for comparing A/B variants (seconds from the stage jobs, confidence
    from the stored words). `request_json` carries what was uploaded with the call."""

    call_id: str
    variant: str
    status: str
    duration_s: float | None = None
    asr_s: float | None = None
    total_s: float | None = None
    mean_word_probability: float | None = None
    words: int = 0
    request_json: str | None = None


TrendBucket = Literal["day", "week"]
"""How an agent's trend is bucketed: by UTC day, or by ISO week (starting Monday, UTC)."""


class AgentFigures(BaseModel):
    """One agent's figures over a set of calls. `calls` counts every call handled (any status);
    the means are over the analysed calls (those with a stored analysis) that have the figure."""

    calls: int = Field(description="calls handled, whatever their status")
    analysed_calls: int = Field(description="calls with a stored analysis: what the means are over")
    total_duration_s: float = Field(description="summed duration of the calls (known once a call is analysed)")
    mean_sentiment_score: float | None = Field(None, description="mean call sentiment, signed in [-1, 1]")
    mean_agent_talk_share: float | None = Field(None, description="mean share of the talk time the agent spoke")
    mean_agent_interruptions: float | None = Field(None, description="mean interruptions by the agent per call")
    mean_agent_speaking_rate_wpm: float | None = Field(None, description="mean agent speaking rate, words/minute")


class AgentSummary(AgentFigures):
    """An agent of a tenant and its figures over the calls asked about."""

    agent_id: str
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None


class AgentBucket(AgentFigures):
    """An agent's figures over the calls of one day or week (`start`: its first day, UTC)."""

    start: date


class ConfigSummary(BaseModel):
    """One version of a rubric or category set as listed. `builtin`: shipped with the package
    (version 0), in force for a tenant until it stores one of its own."""

    name: str
    version: int
    description: str = ""
    size: int = Field(description="items of a rubric, categories of a set")
    created_at: datetime | None = None
    builtin: bool = False


class StoredRubric(Rubric):
    """A rubric version as stored (or the built-in one)."""

    created_at: datetime | None = None
    builtin: bool = False


class StoredCategorySet(CategorySet):
    """A category set version as stored (or the built-in one)."""

    created_at: datetime | None = None
    builtin: bool = False


class StoredAssessment(BaseModel):
    """A call's scorecards and categories as computed when it completed (or was re-scored).
    `error` says why the assessment failed; the lists are then empty."""

    call_id: str
    assessed_at: datetime
    error: str | None = None
    scorecards: list[Scorecard] = []
    categories: list[CategoryMatch] = []


class AgentScore(BaseModel):
    """One agent's scores on one rubric over the calls asked for (`agent_id` None: calls submitted
    without one)."""

    agent_id: str | None = None
    calls: int
    mean_score: float
    min_score: float
    max_score: float


class TenantVocabulary(BaseModel):
    """A tenant's custom vocabulary, one version. Version 0: the tenant has stored none (no terms).

    Attributes:
        terms: product names, people, places and jargon, in the order given (duplicates dropped).
        version: counts from 1 with every PUT; a call records the version it was accepted with.
        created_at: when this version was stored.
        created_by: the prefix of the API key that stored it.
    """

    terms: list[str] = []
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None
class RedactedSpan(BaseModel):
    """A PII span of the transcript as the redacted recording hides it.

    `timing` "words": the seconds of the masked words; "segment": the span had no word times, so
    the whole segment it is in is hidden (its stored start and end).
    """

    type: str
    segment: int
    start_s: float
    end_s: float
    timing: Literal["words", "segment"] = "words"


class AppliedSpan(BaseModel):
    """Seconds of the recording replaced by the bleep or silence: a span padded, clipped, merged."""

    start_s: float
    end_s: float


RedactedAudioState = Literal["redacted", "identical", "unavailable"]


class AudioRedaction(BaseModel):
    """The redacted copy of a call's recording, without its bytes.

    `state`: "redacted" (a copy with `applied` replaced on every channel), "identical" (no PII was
    found: the original serves as the redacted copy, stored once) or "unavailable" (no copy could
    be made; `reason` says why, and only an admin can hear the call, in the original).
    """

    state: RedactedAudioState
    created_at: datetime
    reason: str | None = None
    mode: Literal["bleep", "silence"] | None = None
    tone_hz: float | None = None
    pad_s: float | None = None
    spans: list[RedactedSpan] = []
    applied: list[AppliedSpan] = []
    content_type: str | None = None
    size_bytes: int | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    sample_format: str | None = Field(None, description="s16, s32 or flt, as decoded and encoded")
    lossless_source: bool | None = Field(
        None, description="False: the original is lossy, and the copy holds its decode rounded to 16 bits"
    )


class RecordingInfo(BaseModel):
    """What is stored of a call's recording: the original (`deleted` by the retention setting,
    `absent` when the call was stored without it) and the redacted copy (None: not made yet)."""

    original: Literal["stored", "deleted", "absent"]
    original_deleted_at: datetime | None = None
    redacted: AudioRedaction | None = None
