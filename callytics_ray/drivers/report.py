"""Call drivers: why customers called over a range of calls. Each call's reason (its summary when
it has none) is embedded with the shared sentence encoder, the calls are clustered (average
linkage on cosine distance under a threshold: no fixed number of drivers), and each driver is
reported with a label, its count and share, its trend per day or week, and example calls."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from callytics_ray.settings import DriverSettings, Settings
from callytics_ray.text.encoder import TextEncoder

if TYPE_CHECKING:  # the labeller brings the LLM client and keyphrases: only when drivers run
    from callytics_ray.drivers.labels import DriverLabeller

logger = logging.getLogger(__name__)

Bucket = Literal["day", "week"]
_MAX_BUCKETS = 370  # a trend longer than a year of days is cut to the calls' own span


@dataclass(frozen=True, slots=True)
class DriverCall:
    """One analysed call as drivers see it.

    Attributes:
        source: which field `text` is: "reason", or "summary" when the analysis has no reason.
    """

    call_id: str
    created_at: datetime
    text: str
    source: Literal["reason", "summary"]


@dataclass(frozen=True, slots=True)
class StoredEmbedding:
    """A cached embedding: of which text (`text_hash`), as float32 bytes."""

    call_id: str
    text_hash: str
    vector: bytes


class EmbeddingCache(Protocol):
    """Where embeddings are kept between reports (CallStore implements it)."""

    def call_embeddings(self, call_ids: Sequence[str], model: str) -> dict[str, StoredEmbedding]: ...

    def save_call_embeddings(self, model: str, embeddings: Sequence[StoredEmbedding]) -> None: ...


class DriverBucket(BaseModel):
    start: date = Field(description="first day of the bucket (UTC day, or the Monday of an ISO week)")
    calls: int


class DriverExample(BaseModel):
    call_id: str
    created_at: datetime
    text: str = Field(description="the call's reason (or summary)")


class Driver(BaseModel):
    """One reason customers called.

    Attributes:
        other: the calls whose reasons fell in drivers smaller than `drivers.min_calls`.
        change: calls in the last bucket minus calls in the one before (None with one bucket).
    """

    label: str
    keyphrases: list[str]
    calls: int
    share: float = Field(description="of the calls in the report, 0 to 1")
    trend: list[DriverBucket] = Field(description="every bucket of the range, oldest first, empty ones included")
    change: int | None = None
    examples: list[DriverExample]
    other: bool = False


class DriverReport(BaseModel):
    """Why customers called in a range: drivers, most calls first ("other" last)."""

    created_after: datetime | None = None
    created_before: datetime | None = None
    bucket: Bucket
    calls: int = Field(description="calls in the report: analysed calls of the range with a reason or summary")
    calls_in_range: int = Field(description="such calls in the range; more than `calls` when `max_calls` cut it")
    truncated: bool = Field(description="the most recent `max_calls` calls were read, older ones left out")
    labeller: Literal["llm", "keyphrases"]
    model: str | None = Field(None, description="the LLM that named the drivers")
    llm_error: str | None = Field(None, description="why the LLM did not name them (keyphrases did)")
    embedding_model: str
    embedded_calls: int = Field(description="calls embedded for this report (the others came from the cache)")
    drivers: list[Driver]


class CallDrivers:
    """Clusters calls' reasons into drivers.

    Example:
        >>> drivers = CallDrivers(encoder, "bundled:all-MiniLM-L6-v2", DriverLabeller(keyphrases), settings.drivers)
        >>> report = drivers.report(store.driver_calls(filters, limit=2000), store, bucket="week")
        >>> [(d.label, d.calls) for d in report.drivers]
        [('card lost', 12), ('billing dispute', 9), ...]
    """

    def __init__(
        self, encoder: TextEncoder, model: str, labeller: DriverLabeller, options: DriverSettings | None = None
    ) -> None:
        self._encoder = encoder
        self._model = model
        self._labeller = labeller
        self._options = options or DriverSettings()

    @classmethod
    def from_settings(cls, settings: Settings, encoder: TextEncoder | None = None) -> CallDrivers:
        """Drivers over the offline analyzer's encoder (`encoder` when given, else the process's
        one copy), named by the LLM when `llm.base_url` is set and `drivers.llm_labels` is on.

        Raises:
            ModelNotFoundError: the encoder is not available.
        """
        from callytics_ray.drivers.labels import DriverLabeller
        from callytics_ray.llm.client import LLMAnalyzer
        from callytics_ray.text.encoder import shared_encoder

        ref, _device = settings.llm.offline_encoder(settings.sentiment)
        llm = LLMAnalyzer.from_settings(settings) if settings.llm.base_url and settings.drivers.llm_labels else None
        labeller = DriverLabeller(llm=llm, options=settings.llm.options, redaction=settings.redaction)
        return cls(encoder or shared_encoder(settings), ref, labeller, settings.drivers)

    def report(
        self,
        calls: Sequence[DriverCall],
        cache: EmbeddingCache,
        *,
        bucket: Bucket = "week",
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        calls_in_range: int | None = None,
    ) -> DriverReport:
        """The drivers of `calls` (the range's most recent calls, at most `max_calls`)."""
        options = self._options
        calls = list(calls)[: options.max_calls]
        embeddings, embedded = self._embeddings(calls, cache)
        groups = _clusters(embeddings, options.distance_threshold)
        big = [_typical_first(g, embeddings) for g in groups if len(g) >= options.min_calls]
        small = _typical_first([i for g in groups if len(g) < options.min_calls for i in g], embeddings)
        texts = [[calls[i].text for i in g] for g in big]
        labels = self._labeller.label(texts, keyphrases=options.keyphrases)
        buckets = _bucket_starts(calls, bucket, created_after, created_before)
        drivers = [
            self._driver(label.label, label.keyphrases, g, calls, buckets, bucket)
            for label, g in zip(labels.labels, big, strict=True)
        ]
        drivers.sort(key=lambda d: (-d.calls, d.label))
        if small:
            drivers.append(self._driver("other", [], small, calls, buckets, bucket, other=True))
        total = len(calls)
        return DriverReport(
            created_after=created_after, created_before=created_before, bucket=bucket, calls=total,
            calls_in_range=max(calls_in_range or 0, total), truncated=(calls_in_range or 0) > total,
            labeller=labels.labeller, model=labels.model, llm_error=labels.llm_error,
            embedding_model=self._model, embedded_calls=embedded, drivers=drivers,
        )

    def _embeddings(self, calls: list[DriverCall], cache: EmbeddingCache) -> tuple[np.ndarray, int]:
        """One normalised vector per call, from the cache when its text is unchanged.  # shape: (len(calls), dim)"""
        hashes = [text_hash(c.text) for c in calls]
        cached = cache.call_embeddings([c.call_id for c in calls], self._model) if calls else {}
        missing = [i for i, c in enumerate(calls) if (hit := cached.get(c.call_id)) is None or hit.text_hash != hashes[i]]
        fresh = self._encoder.encode([calls[i].text for i in missing]) if missing else None
        if missing:
            cache.save_call_embeddings(self._model, [
                StoredEmbedding(calls[i].call_id, hashes[i], fresh[row].astype("<f4").tobytes())
                for row, i in enumerate(missing)
            ])
        rows = {i: fresh[row] for row, i in enumerate(missing)}
        vectors = [
            rows[i] if i in rows else np.frombuffer(cached[c.call_id].vector, dtype="<f4")
            for i, c in enumerate(calls)
        ]
        logger.info("drivers: %d calls, %d embedded, %d from the cache", len(calls), len(missing), len(calls) - len(missing))
        return (np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)), len(missing)

    def _driver(
        self, label: str, keyphrases: list[str], members: list[int], calls: list[DriverCall],
        buckets: list[date], bucket: Bucket, *, other: bool = False,
    ) -> Driver:
        counts = dict.fromkeys(buckets, 0)
        for i in members:
            counts[bucket_start(calls[i].created_at, bucket)] += 1
        trend = [DriverBucket(start=start, calls=n) for start, n in counts.items()]
        closest = members[: self._options.examples]
        return Driver(
            label=label, keyphrases=keyphrases, calls=len(members), share=round(len(members) / len(calls), 4),
            trend=trend, change=trend[-1].calls - trend[-2].calls if len(trend) > 1 else None,
            examples=[DriverExample(call_id=calls[i].call_id, created_at=calls[i].created_at, text=calls[i].text)
                      for i in closest],
            other=other,
        )


def _typical_first(members: list[int], embeddings: np.ndarray) -> list[int]:
    """`members` ordered by closeness to their centre, the most typical call first."""
    if not members:
        return members
    centre = embeddings[members].mean(axis=0)
    return sorted(members, key=lambda i: (-float(embeddings[i] @ centre), i))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clusters(embeddings: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups of row indices: average-linkage clusters on cosine distance cut at `threshold`."""
    if len(embeddings) == 0:
        return []
    if len(embeddings) == 1:
        return [[0]]
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average")
    assignment = model.fit_predict(embeddings)
    groups: dict[int, list[int]] = {}
    for i, cluster in enumerate(assignment.tolist()):
        groups.setdefault(cluster, []).append(i)
    return list(groups.values())


def bucket_start(moment: datetime, bucket: Bucket) -> date:
    """The UTC day of `moment`, or the Monday of its ISO week (as the agents' trends bucket)."""
    day = (moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)).date()
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def _bucket_starts(
    calls: Sequence[DriverCall], bucket: Bucket, created_after: datetime | None, created_before: datetime | None
) -> list[date]:
    """Every bucket from the range's start (or first call) to its end (or last call); from the
    first to the last call's when the range holds more than `_MAX_BUCKETS`."""
    if not calls:
        return []
    step = timedelta(days=7 if bucket == "week" else 1)
    earliest = min(bucket_start(c.created_at, bucket) for c in calls)
    latest = max(bucket_start(c.created_at, bucket) for c in calls)
    first = bucket_start(created_after, bucket) if created_after else earliest
    last = bucket_start(created_before - timedelta(microseconds=1), bucket) if created_before else latest
    if (last - first) / step >= _MAX_BUCKETS:
        first, last = earliest, latest
    out, day = [], first
    while day <= last:
        out.append(day)
        day += step
    return out
