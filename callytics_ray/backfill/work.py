"""What one backfill chunk does: the job's exact rubric and category-set versions applied to each
stored analysis (pure), and the chunk's results stored in one transaction."""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from callytics_ray.analytics import CategorySet, Rubric, assess
from callytics_ray.judgement import ItemJudge
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import (
    AUDIO_KINDS,
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
    kind: BackfillKind = "reassess"
    variant: str | None = None
    rubrics: list[Rubric] = []
    category_sets: list[CategorySet] = []
    applies_rubrics: bool
    applies_categories: bool


class RecognizerChoiceError(ValueError):
    """A re-analysis names a variant or model no recognizer here serves; `field` is which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def resolve_recognizer(settings: Settings, *, variant: str | None = None, asr_model: str | None = None) -> str | None:
    """The A/B variant whose recognizer a re-analysis runs (None: the default recognizer).

    A variant is one of `settings.api.variants`; a model is `settings.asr.model` (the default
    recognizer) or a variant's `asr_model`: only those have a recognizer loaded (on Serve, a
    deployment), so any other is refused rather than loaded on the side.

    Raises:
        RecognizerChoiceError: both given, an unknown variant, or a model no recognizer runs.
    """
    variants = {v.name: v for v in settings.api.variants}
    if variant is not None and asr_model is not None:
        raise RecognizerChoiceError("asr_model", "name a variant or an asr_model, not both")
    if variant is not None:
        if variant not in variants:
            known = ", ".join(variants) or "none configured"
            raise RecognizerChoiceError("variant", f"unknown speech-recognizer variant {variant!r} (known: {known})")
        return variant
    if asr_model is None or asr_model == settings.asr.model:
        return None
    for name, configured in variants.items():
        if configured.asr_model == asr_model:
            return name
    served = [settings.asr.model] + [v.asr_model for v in variants.values() if v.asr_model]
    raise RecognizerChoiceError("asr_model", f"no recognizer runs the model {asr_model!r}; served here: "
                                f"{', '.join(dict.fromkeys(served))} (add a variant with that asr_model)")


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
    settings: Settings | None = None,
    variant: str | None = None,
    asr_model: str | None = None,
) -> BackfillSpec:
    """The job `kind` means for `tenant`, with every document pinned to a version now.

    `rescore` applies `rubric` (or every rubric in force), `recategorize` `category_set` (or every
    set in force), `reassess` both. A named document replaces only its own rows in each call's
    results; "in force" replaces all of them (a rubric no longer in force loses its scorecard).
    `reanalyze` runs each call's stored recording through the stages again with the recognizer of
    `variant` or `asr_model` (`resolve_recognizer` against `settings`), replaces its analysis and
    re-assesses it on everything in force; `redact_audio` makes the redacted copy of the calls
    that have none.

    Raises:
        ValueError: a selector the kind does not apply (RecognizerChoiceError: an unknown
            variant or model).
        NotFoundError: no such rubric, category set or version.
    """
    if (rubric is not None or category_set is not None) and kind in AUDIO_KINDS:
        raise ValueError(f"a {kind} backfill takes no rubric or category set (a re-analysis is assessed on the "
                         "ones in force)")
    if (variant is not None or asr_model is not None) and kind != "reanalyze":
        raise ValueError(f"only a reanalyze backfill takes a variant or asr_model, not {kind}")
    if rubric is not None and kind == "recategorize":
        raise ValueError("a recategorize backfill applies category sets, not a rubric")
    if category_set is not None and kind == "rescore":
        raise ValueError("a rescore backfill applies rubrics, not a category set")
    if kind == "reanalyze":
        if settings is None:
            raise ValueError("a reanalyze backfill needs the settings that say which recognizers there are")
        variant = resolve_recognizer(settings, variant=variant, asr_model=asr_model)
    rubrics_mode, rubrics = "none", ()
    if kind in ("rescore", "reassess", "reanalyze"):
        if rubric is not None:
            doc = store.get_rubric(rubric.name, tenant=tenant, version=rubric.version)
            rubrics_mode, rubrics = "named", (ConfigRef(name=doc.name, version=doc.version),)
        else:
            rubrics_mode = "all"
            rubrics = tuple(ConfigRef(name=r.name, version=r.version) for r in store.rubrics_in_force(tenant=tenant))
    sets_mode, sets = "none", ()
    if kind in ("recategorize", "reassess", "reanalyze"):
        if category_set is not None:
            doc = store.get_category_set(category_set.name, tenant=tenant, version=category_set.version)
            sets_mode, sets = "named", (ConfigRef(name=doc.name, version=doc.version),)
        else:
            sets_mode = "all"
            sets = tuple(ConfigRef(name=s.name, version=s.version)
                         for s in store.category_sets_in_force(tenant=tenant))
    return BackfillSpec(kind=kind, rubrics_mode=rubrics_mode, rubrics=rubrics, category_sets_mode=sets_mode,
                        category_sets=sets, filter=filter or BackfillFilter(), reason=reason, variant=variant,
                        asr_model=asr_model)


def load_plan(store: CallStore, job: BackfillRecord) -> BackfillPlan:
    """The documents of `job`, read once by its driver and shipped to every worker."""
    return BackfillPlan(
        backfill_id=job.id, kind=job.kind, variant=job.variant,
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
