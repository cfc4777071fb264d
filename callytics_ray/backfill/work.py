"""What one backfill chunk does: the job's exact rubric and category-set versions applied to each
stored analysis (pure), and the chunk's results stored in one transaction."""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from callytics_ray.analytics import CategorySet, Rubric, assess
from callytics_ray.judgement import ItemJudge
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import (
    BackfillFilter,
    BackfillKind,
    BackfillRecord,
    BackfillSpec,
    CallOutcome,
    ChunkResult,
    ChunkWork,
    ConfigRef,
)

logger = logging.getLogger(__name__)


class ConfigSelector(BaseModel):
    """A rubric or category set by name; its latest version unless `version` is given."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    version: int | None = Field(None, ge=0)


class BackfillPlan(BaseModel):
    """What every worker of a job needs: the documents to apply (the job's exact versions)."""

    model_config = ConfigDict(frozen=True)

    backfill_id: str
    rubrics: list[Rubric] = []
    category_sets: list[CategorySet] = []
    applies_rubrics: bool
    applies_categories: bool


class AnalysisReader(Protocol):
    def stored_analyses(self, call_ids: list[str] | tuple[str, ...]) -> dict[str, str]: ...


def resolve_spec(
    store: CallStore,
    *,
    tenant: str,
    kind: BackfillKind,
    rubric: ConfigSelector | None = None,
    category_set: ConfigSelector | None = None,
    filter: BackfillFilter | None = None,
    reason: str | None = None,
) -> BackfillSpec:
    """The job `kind` means for `tenant`, with every document pinned to a version now.

    `rescore` applies `rubric` (or every rubric in force), `recategorize` `category_set` (or every
    set in force), `reassess` both. A named document replaces only its own rows in each call's
    results; "in force" replaces all of them (a rubric no longer in force loses its scorecard).

    Raises:
        ValueError: a selector the kind does not apply.
        NotFoundError: no such rubric, category set or version.
    """
    if rubric is not None and kind == "recategorize":
        raise ValueError("a recategorize backfill applies category sets, not a rubric")
    if category_set is not None and kind == "rescore":
        raise ValueError("a rescore backfill applies rubrics, not a category set")
    rubrics_mode, rubrics = "none", ()
    if kind in ("rescore", "reassess"):
        if rubric is not None:
            doc = store.get_rubric(rubric.name, tenant=tenant, version=rubric.version)
            rubrics_mode, rubrics = "named", (ConfigRef(name=doc.name, version=doc.version),)
        else:
            rubrics_mode = "all"
            rubrics = tuple(ConfigRef(name=r.name, version=r.version) for r in store.rubrics_in_force(tenant=tenant))
    sets_mode, sets = "none", ()
    if kind in ("recategorize", "reassess"):
        if category_set is not None:
            doc = store.get_category_set(category_set.name, tenant=tenant, version=category_set.version)
            sets_mode, sets = "named", (ConfigRef(name=doc.name, version=doc.version),)
        else:
            sets_mode = "all"
            sets = tuple(ConfigRef(name=s.name, version=s.version)
                         for s in store.category_sets_in_force(tenant=tenant))
    return BackfillSpec(kind=kind, rubrics_mode=rubrics_mode, rubrics=rubrics, category_sets_mode=sets_mode,
                        category_sets=sets, filter=filter or BackfillFilter(), reason=reason)


def load_plan(store: CallStore, job: BackfillRecord) -> BackfillPlan:
    """The documents of `job`, read once by its driver and shipped to every worker."""
    return BackfillPlan(
        backfill_id=job.id,
        rubrics=[store.get_rubric(r.name, tenant=job.tenant, version=r.version) for r in job.rubrics],
        category_sets=[store.get_category_set(s.name, tenant=job.tenant, version=s.version)
                       for s in job.category_sets],
        applies_rubrics=job.rubrics_mode != "none",
        applies_categories=job.category_sets_mode != "none",
    )


def compute_chunk(reader: AnalysisReader, plan: BackfillPlan, chunk: ChunkWork,
                  judge: ItemJudge | None = None) -> ChunkResult:
    """Read the chunk's stored analyses (one query) and assess each (`judge` answering the
    rubrics' llm items; without one they are not assessed); a call that cannot be assessed is an
    outcome with its error, never an exception. Writes nothing."""
    stored = reader.stored_analyses(chunk.call_ids)
    outcomes = []
    for call_id in chunk.call_ids:
        raw = stored.get(call_id)
        if raw is None:
            outcomes.append(CallOutcome(call_id=call_id, error="no stored analysis (deleted or re-run since)"))
            continue
        try:
            found = assess(plan.rubrics, plan.category_sets, CallAnalysis.model_validate_json(raw), judge)
        except Exception as err:  # one bad analysis must not cost the rest of the chunk
            logger.warning("backfill %s: call %s could not be assessed: %s", plan.backfill_id, call_id, err)
            outcomes.append(CallOutcome(call_id=call_id, error=f"{type(err).__name__}: {err}"))
            continue
        outcomes.append(CallOutcome(
            call_id=call_id,
            scorecards=found.scorecards if plan.applies_rubrics else None,
            categories=found.categories if plan.applies_categories else None,
        ))
    return ChunkResult(backfill_id=plan.backfill_id, position=chunk.position, outcomes=outcomes)


def run_chunk(store: CallStore, plan: BackfillPlan, chunk: ChunkWork, *, worker_id: str,
              lease_s: float, judge: ItemJudge | None = None) -> ChunkResult | None:
    """`compute_chunk`, then store it in one transaction.

    Returns:
        the stored result (its `done` and `failed` counts), or None when the job was cancelled
        or taken over by another driver (nothing stored).
    """
    result = compute_chunk(store, plan, chunk, judge)
    return result if store.store_backfill_chunk(result, worker_id=worker_id, lease_s=lease_s) else None
