"""SQLModel tables: calls, their utterances and words, analyses, per-stage jobs, audio, API keys."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CallStatus:
    """Call states. `partial` = stored with what succeeded, a stage failed and can be retried."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    ALL = (QUEUED, PROCESSING, COMPLETED, PARTIAL, FAILED)


class Call(SQLModel, table=True):
    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("tenant", "idempotency_key", name="uq_calls_tenant_idempotency"),)

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(default="default", index=True, max_length=64)
    source_name: str | None = Field(default=None, max_length=512)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default=CallStatus.QUEUED, index=True, max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_s: float | None = Field(default=None, index=True)
    language: str | None = Field(default=None, index=True, max_length=16)
    language_probability: float | None = None
    agent_id: str | None = Field(default=None, index=True, max_length=128)
    customer_id: str | None = Field(default=None, index=True, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=128)
    variant: str | None = Field(default=None, max_length=64)
    sentiment_label: str | None = Field(default=None, index=True, max_length=16)
    sentiment_score: float | None = None
    # Headline facts (callytics_ray.headline), copied from the analysis so that listing, sorting
    # and per-agent figures are SQL. `flags` is ",a,b," so one flag matches as LIKE '%,a,%'.
    agent_talk_share: float | None = None
    agent_interruptions: int | None = None
    agent_speaking_rate_wpm: float | None = None
    flags: str | None = Field(default=None, max_length=256)
    request_json: str | None = Field(default=None, sa_column=Column(Text))
    # The worker running the call and until when (epoch seconds): a lease, so that with several
    # gateway replicas exactly one runs a call, and a dead worker's calls are resumed once it lapses.
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: float | None = Field(default=None, index=True)
    # When the retention sweep deleted the original upload (None: kept, or never stored).
    original_audio_deleted_at: datetime | None = None


class Utterance(SQLModel, table=True):
    __tablename__ = "utterances"

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    position: int
    start: float
    end: float
    speaker: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=16)
    channel: int | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    sentiment_label: str | None = Field(default=None, max_length=16)
    sentiment_score: float | None = None


class Word(SQLModel, table=True):
    __tablename__ = "words"

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    utterance_id: int = Field(foreign_key="utterances.id", index=True, ondelete="CASCADE")
    position: int
    start: float
    end: float
    text: str = Field(max_length=256)
    probability: float


class Analysis(SQLModel, table=True):
    """The full CallAnalysis JSON as the pipeline produced it (the public contract)."""

    __tablename__ = "analyses"

    call_id: str = Field(foreign_key="calls.id", primary_key=True, ondelete="CASCADE", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    result_json: str = Field(sa_column=Column(Text, nullable=False))


class Job(SQLModel, table=True):
    """One stage of one call: the durable state a reconciler resumes from."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("call_id", "stage", name="uq_jobs_call_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    stage: str = Field(max_length=32)
    status: str = Field(default="pending", index=True, max_length=16)  # pending|running|done|failed|skipped
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow)
    seconds: float | None = None


class CallAudio(SQLModel, table=True):
    """The uploaded recording, kept so a failed call can be retried from the database alone."""

    __tablename__ = "call_audio"

    call_id: str = Field(foreign_key="calls.id", primary_key=True, ondelete="CASCADE", max_length=36)
    filename: str | None = Field(default=None, max_length=512)
    content_type: str | None = Field(default=None, max_length=128)
    size_bytes: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RedactedCallAudio(SQLModel, table=True):
    """The redacted copy of a call's recording (PII bleeped or silenced) and how it was made.

    `state` "identical": no PII was found, so the original is the redacted copy and `data` stays
    empty until the original is deleted by retention (its bytes then move here). "unavailable":
    no copy could be made; `info_json` says why.
    """

    __tablename__ = "call_audio_redacted"

    call_id: str = Field(foreign_key="calls.id", primary_key=True, ondelete="CASCADE", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    state: str = Field(max_length=16)
    info_json: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str | None = Field(default=None, max_length=128)
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ApiKey(SQLModel, table=True):
    """An API key, stored as a SHA-256 hash of the secret; `prefix` identifies it in logs."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(index=True, unique=True, max_length=16)
    key_hash: str = Field(max_length=64)
    tenant: str = Field(index=True, max_length=64)
    scopes: str = Field(max_length=128)  # comma-separated: submit,read,admin
    name: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    revoked: bool = False


class AnalyticsConfig(SQLModel, table=True):
    """One version of a tenant's rubric, category set or vocabulary (`kind`), as the JSON it was
    stored with. Versions of a name count from 1 and are never changed: a scorecard names the one
    it used, a call the vocabulary version it was accepted with."""

    __tablename__ = "analytics_configs"
    __table_args__ = (UniqueConstraint("tenant", "kind", "name", "version", name="uq_analytics_configs_version"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)  # rubric | categories | vocabulary
    name: str = Field(max_length=64)
    version: int
    created_at: datetime = Field(default_factory=utcnow)
    body_json: str = Field(sa_column=Column(Text, nullable=False))


class CallAssessment(SQLModel, table=True):
    """That a call was scored and categorized, when, and why it failed if it did (the call itself
    stays completed: its analysis does not depend on this)."""

    __tablename__ = "call_assessments"

    call_id: str = Field(foreign_key="calls.id", primary_key=True, ondelete="CASCADE", max_length=36)
    tenant: str = Field(index=True, max_length=64)
    assessed_at: datetime = Field(default_factory=utcnow)
    error: str | None = Field(default=None, sa_column=Column(Text))


class CallScorecard(SQLModel, table=True):
    """A call's scorecard on one rubric; `score` is a column so per-agent figures are SQL."""

    __tablename__ = "call_scorecards"
    __table_args__ = (UniqueConstraint("call_id", "rubric", name="uq_call_scorecards_rubric"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    tenant: str = Field(index=True, max_length=64)
    rubric: str = Field(index=True, max_length=64)
    rubric_version: int
    score: float | None = None
    scorecard_json: str = Field(sa_column=Column(Text, nullable=False))


class CallCategory(SQLModel, table=True):
    """A category a call matched, with its evidence; one row each, so calls can be found by category."""

    __tablename__ = "call_categories"
    __table_args__ = (UniqueConstraint("call_id", "category_set", "category", name="uq_call_categories_category"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    tenant: str = Field(index=True, max_length=64)
    category_set: str = Field(max_length=64)
    set_version: int
    category: str = Field(index=True, max_length=64)
    match_json: str = Field(sa_column=Column(Text, nullable=False))


class AlertSubscriptionRow(SQLModel, table=True):
    """A tenant's webhook subscription (callytics_ray.alerts.AlertSubscription); the secret is kept
    as given, since signing needs it (it is never returned by the API)."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (UniqueConstraint("tenant", "name", name="uq_alert_subscriptions_name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(index=True, max_length=64)
    name: str = Field(max_length=64)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    categories: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of names, or ["*"]
    url: str = Field(sa_column=Column(Text, nullable=False))
    secret: str = Field(max_length=256)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AlertDeliveryRow(SQLModel, table=True):
    """One alert owed for one call and category: stored before it is sent, then claimed with a
    lease (`claimed_by`, `lease_until`, epoch seconds) by one dispatcher at a time."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("tenant", "alert", "call_id", "category_set", "category",
                                       name="uq_alert_deliveries_match"),)

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(index=True, max_length=64)
    alert: str = Field(max_length=64)
    call_id: str = Field(foreign_key="calls.id", index=True, ondelete="CASCADE", max_length=36)
    category_set: str = Field(max_length=64)
    category: str = Field(max_length=64)
    payload_json: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)  # pending|delivered|failed
    attempts: int = 0
    next_attempt_at: float | None = Field(default=None, index=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: float | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class AlertAttemptRow(SQLModel, table=True):
    """One try to send a delivery, for its log."""

    __tablename__ = "alert_delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="alert_deliveries.id", index=True, ondelete="CASCADE", max_length=36)
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
class RateLimitState(SQLModel, table=True):
    """One API key's request budget, shared by every gateway replica (storage/ratelimits.py):
    `tat` is the GCRA "theoretical arrival time", epoch seconds."""

    __tablename__ = "rate_limits"

    key: str = Field(primary_key=True, max_length=96)
    tat: float
class CallEmbedding(SQLModel, table=True):
    """A call's driver text (its reason, else its summary) embedded by a sentence encoder, kept so
    that a driver report over thousands of calls embeds only the calls it has not seen, or whose
    text changed (a re-analysed call): `text_hash` says which text the vector is of."""

    __tablename__ = "call_embeddings"

    call_id: str = Field(foreign_key="calls.id", primary_key=True, ondelete="CASCADE", max_length=36)
    model: str = Field(primary_key=True, max_length=256)
    text_hash: str = Field(max_length=64)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, little-endian
class BackfillStatus:
    """Backfill job states. A `queued` or `running` job whose driver's lease lapsed is resumed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ACTIVE = (QUEUED, RUNNING)
    ALL = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)


class Backfill(SQLModel, table=True):
    """A job that re-applies rubrics and/or category sets to a tenant's stored calls, chunk by chunk.

    The calls are fixed when the job is created (its chunks); `done` and `failed` count calls and
    change only in the transaction that stores a chunk's results, so they never count twice.
    """

    __tablename__ = "backfills"

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)  # rescore | recategorize | reassess | reanalyze | redact_audio
    # reanalyze: the A/B variant whose recognizer runs the calls again (None: the default one),
    # and the model that recognizer was asked for by name, if it was.
    variant: str | None = Field(default=None, max_length=64)
    asr_model: str | None = Field(default=None, max_length=256)
    rubrics_mode: str = Field(max_length=8)  # none | named | all (what a scorecard write replaces)
    rubrics_json: str = Field(sa_column=Column(Text, nullable=False))  # [{"name", "version"}]
    category_sets_mode: str = Field(max_length=8)
    category_sets_json: str = Field(sa_column=Column(Text, nullable=False))
    filter_json: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, max_length=256)
    status: str = Field(default=BackfillStatus.QUEUED, index=True, max_length=16)
    chunk_size: int
    chunks: int
    total: int
    done: int = 0
    failed: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # The driver running the job and until when (epoch seconds), as for calls; `runs` counts
    # starts (1 + resumes), `run_started_at` / `run_started_processed` give this run's rate.
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: float | None = Field(default=None, index=True)
    runs: int = 0
    executor: str | None = Field(default=None, max_length=16)  # where the last run computed: threads | ray
    run_started_at: float | None = None
    run_started_processed: int = 0


class BackfillChunk(SQLModel, table=True):
    """A slice of a backfill's calls; `pending` until its results are stored (then `done`)."""

    __tablename__ = "backfill_chunks"
    __table_args__ = (UniqueConstraint("backfill_id", "position", name="uq_backfill_chunks_position"),)

    id: int | None = Field(default=None, primary_key=True)
    backfill_id: str = Field(foreign_key="backfills.id", index=True, ondelete="CASCADE", max_length=36)
    position: int
    call_ids_json: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | done
    done: int = 0
    failed: int = 0
    finished_at: datetime | None = None
    # Per call, what the chunk did ([CallOutcomeRecord]): its error, and for a re-analysis the
    # models and variant of the analysis it replaced (the store keeps no analysis history).
    outcomes_json: str | None = Field(default=None, sa_column=Column(Text))
