"""Scoring a stored call: its tenant's rubrics and category sets in force, applied to its analysis,
and the result stored. The gateway runs it when a call finishes and when a call is re-scored; only
a call that has just finished owes its tenant's alert subscriptions their deliveries.

Rubric `llm` items are judged by an LLM when `llm.base_url` is set (`item_judge`). The judge runs
here, in the process that scores (the gateway; a backfill's workers), straight against the
endpoint through the llm package's client: scoring is a synchronous step in a worker thread that
already reads rubrics and writes results there, and the request is I/O, not compute, so a hop
through the llm-analyzer deployment would add a handle and an event-loop bridge and take no work
off this process (the call-driver labels reach the endpoint the same way)."""

from __future__ import annotations

import logging

from callytics_ray.alerts import enqueue_for
from callytics_ray.analytics import Assessment, assess
from callytics_ray.judgement import ItemJudge
from callytics_ray.llm.judge import RubricJudge
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore

logger = logging.getLogger(__name__)


def item_judge(settings: Settings) -> ItemJudge | None:
    """The LLM judge of rubric `llm` items when an endpoint is configured; None offline (those
    items are then not assessed)."""
    return RubricJudge.from_settings(settings) if settings.llm.base_url else None


def assess_and_store(store: CallStore, analysis: CallAnalysis, *, tenant: str,
                     judge: ItemJudge | None = None) -> Assessment:
    """Score `analysis` on the tenant's rubrics (`judge` answering their llm items), match its
    categories, store and return that.

    Raises:
        whatever reading the rubrics or storing fails with (the caller decides what that means).
    """
    assessment = assess(store.rubrics_in_force(tenant=tenant), store.category_sets_in_force(tenant=tenant), analysis,
                        judge)
    store.save_assessment(analysis.call_id, assessment)
    return assessment


def assess_finished_call(store: CallStore, analysis: CallAnalysis, *, tenant: str,
                         judge: ItemJudge | None = None) -> None:
    """`assess_and_store` for a call that has just finished, then its alert deliveries stored
    (`alerts.enqueue_for`; sent once the call is stored finished). Never raises, so the call is
    stored with its status whatever happens here; a scoring failure is recorded with the
    assessment, an alerting one logged."""
    try:
        assessment = assess_and_store(store, analysis, tenant=tenant, judge=judge)
    except Exception as err:  # scoring is derived data: it must never cost the call
        logger.exception("call %s: scoring failed; the call is stored all the same", analysis.call_id)
        try:
            store.save_assessment(analysis.call_id, None, error=f"{type(err).__name__}: {err}")
        except Exception:
            logger.exception("call %s: could not record the scoring failure", analysis.call_id)
        return
    try:
        enqueue_for(store, assessment, analysis, tenant=tenant)
    except Exception:  # alerts are derived too; the call is stored regardless
        logger.exception("call %s: storing its alert deliveries failed", analysis.call_id)
