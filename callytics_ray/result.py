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
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    models: dict[str, str] = Field(default_factory=dict, description="model reference per stage")
    errors: dict[str, str] | None = Field(default=None, description="stage -> why it failed")

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent, exclude_none=True)
