"""CallStore: the one interface to the database of calls, results, stage jobs, leases, A/B
figures, rubrics, category sets and scorecards, alert subscriptions and deliveries, rate limits,
vocabularies, redacted recordings, call-driver embeddings, backfill jobs, assembled from one
repository per job over a shared engine."""

from __future__ import annotations

from callytics_ray.storage.agents import AgentRepository
from callytics_ray.storage.alerts import AlertRepository
from callytics_ray.storage.analytics import AnalyticsRepository
from callytics_ray.storage.backfills import BackfillRepository
from callytics_ray.storage.base import write_methods
from callytics_ray.storage.calls import CallRepository
from callytics_ray.storage.drivers import DriverRepository
from callytics_ray.storage.experiments import ExperimentRepository
from callytics_ray.storage.jobs import JobRepository
from callytics_ray.storage.ratelimits import RateLimitRepository
from callytics_ray.storage.recordings import RecordingRepository
from callytics_ray.storage.vocabulary import VocabularyRepository


class CallStore(
    CallRepository,
    JobRepository,
    ExperimentRepository,
    AgentRepository,
    AnalyticsRepository,
    AlertRepository,
    RateLimitRepository,
    VocabularyRepository,
    RecordingRepository,
    DriverRepository,
    BackfillRepository,
):
    """Every read and write of calls, their results, audio and stage states. Thread-safe: every
    method opens its own session.

    The methods that change the database are marked `@writes` (listed in `WRITE_METHODS`): the
    Serve gateway forwards exactly those to its database service.

    Example:
        >>> store = CallStore.from_url("sqlite:///callytics.db")
        >>> store.save_analysis(analysis)
        >>> store.list_calls(CallFilter(language="en")).items
    """


WRITE_METHODS: tuple[str, ...] = write_methods(CallStore)
"""The names of CallStore's methods that write, sorted."""
