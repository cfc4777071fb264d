"""Rubrics and category sets per tenant (versioned), and each call's scorecards and categories.

A tenant's calls are scored on the latest version of each rubric it stored, and matched against
the latest version of each category set it stored; a tenant that stored none gets the built-in
ones (`callytics_ray.analytics.builtin`, version 0). This module is the one place that decides it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callytics_ray.analytics import Assessment, CategoryMatch, CategorySet, Rubric, Scorecard
from callytics_ray.analytics.builtin import builtin_categories, builtin_rubric
from callytics_ray.errors import NotFoundError
from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.filters import as_utc, call_conditions
from callytics_ray.storage.models import (
    AgentScore,
    CallFilter,
    ConfigSummary,
    StoredAssessment,
    StoredCategorySet,
    StoredRubric,
)
from callytics_ray.storage.tables import (
    AnalyticsConfig,
    Call,
    CallAssessment,
    CallCategory,
    CallScorecard,
    utcnow,
)

# Two writers storing the same name at once both read the same latest version; the loser retries.
_VERSION_RACE_ATTEMPTS = 5


@dataclass(frozen=True)
class _Kind:
    """What differs between rubrics and category sets."""

    key: str  # AnalyticsConfig.kind
    label: str  # in messages
    stored: type[StoredRubric] | type[StoredCategorySet]
    builtin: Callable[[], Rubric | CategorySet]
    size: Callable[[Rubric | CategorySet], int]


_RUBRIC = _Kind("rubric", "rubric", StoredRubric, builtin_rubric, lambda r: len(r.items))
_CATEGORIES = _Kind("categories", "category set", StoredCategorySet, builtin_categories, lambda s: len(s.categories))


def _summary(kind: _Kind, doc: StoredRubric | StoredCategorySet) -> ConfigSummary:
    return ConfigSummary(name=doc.name, version=doc.version, description=doc.description, size=kind.size(doc),
                         created_at=doc.created_at, builtin=doc.builtin)


def store_next_version(engine: Engine, *, tenant: str, kind: str, name: str, body_json: str) -> AnalyticsConfig:
    """Store `body_json` as the next version of the tenant's `kind` / `name` and return the row.

    Raises:
        IntegrityError: other writers kept taking the next version number.
    """
    attempt = 0
    while True:
        try:
            with Session(engine) as session:
                latest = session.exec(
                    select(func.max(AnalyticsConfig.version)).where(
                        AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == kind, AnalyticsConfig.name == name)
                ).one()
                row = AnalyticsConfig(tenant=tenant, kind=kind, name=name, version=(latest or 0) + 1,
                                      body_json=body_json)
                session.add(row)
                session.commit()
                session.refresh(row)
                return row
        except IntegrityError:
            attempt += 1
            if attempt >= _VERSION_RACE_ATTEMPTS:
                raise


class AnalyticsRepository(Repository):
    """Versioned rubrics and category sets, and the assessments of calls."""

    # --- rubrics and category sets ---------------------------------------------------------

    @writes
    def put_rubric(self, rubric: Rubric, *, tenant: str) -> StoredRubric:
        """Store `rubric` as the next version of its name for `tenant` (its own `version` is ignored)."""
        return self._put(_RUBRIC, rubric, tenant)

    def get_rubric(self, name: str, *, tenant: str, version: int | None = None) -> StoredRubric:
        """The latest (or the given) version of a rubric; version 0 of the built-in name is the
        built-in rubric, which is also the latest until the tenant stores that name.

        Raises:
            NotFoundError: no such rubric or version for this tenant.
        """
        return self._get(_RUBRIC, name, tenant, version)

    def list_rubrics(self, *, tenant: str) -> list[ConfigSummary]:
        """The rubrics that score the tenant's calls: the latest version of each it stored, or the
        built-in one."""
        return [_summary(_RUBRIC, r) for r in self._in_force(_RUBRIC, tenant)]

    def rubric_versions(self, name: str, *, tenant: str) -> list[ConfigSummary]:
        """Every version of a rubric, oldest first (the built-in one first, when `name` is its name)."""
        return self._versions(_RUBRIC, name, tenant)

    def rubrics_in_force(self, *, tenant: str) -> list[StoredRubric]:
        return self._in_force(_RUBRIC, tenant)

    @writes
    def put_category_set(self, category_set: CategorySet, *, tenant: str) -> StoredCategorySet:
        """Store `category_set` as the next version of its name for `tenant`."""
        return self._put(_CATEGORIES, category_set, tenant)

    def get_category_set(self, name: str, *, tenant: str, version: int | None = None) -> StoredCategorySet:
        """Like `get_rubric`, for category sets."""
        return self._get(_CATEGORIES, name, tenant, version)

    def list_category_sets(self, *, tenant: str) -> list[ConfigSummary]:
        return [_summary(_CATEGORIES, s) for s in self._in_force(_CATEGORIES, tenant)]

    def category_set_versions(self, name: str, *, tenant: str) -> list[ConfigSummary]:
        return self._versions(_CATEGORIES, name, tenant)

    def category_sets_in_force(self, *, tenant: str) -> list[StoredCategorySet]:
        return self._in_force(_CATEGORIES, tenant)

    def _put(self, kind: _Kind, doc: Rubric | CategorySet, tenant: str):
        body = doc.model_dump_json(exclude={"name", "version", "created_at", "builtin"})
        return self._document(kind, store_next_version(self.engine, tenant=tenant, kind=kind.key, name=doc.name,
                                                       body_json=body))

    @staticmethod
    def _document(kind: _Kind, row: AnalyticsConfig):
        fields = {**json.loads(row.body_json), "name": row.name, "version": row.version,
                  "created_at": as_utc(row.created_at)}
        return kind.stored.model_validate(fields)

    @staticmethod
    def _builtin(kind: _Kind):
        doc = kind.builtin()
        return kind.stored(**doc.model_dump(), builtin=True)

    def _get(self, kind: _Kind, name: str, tenant: str, version: int | None):
        builtin = self._builtin(kind)
        if name == builtin.name and version == 0:
            return builtin
        with Session(self.engine) as session:
            query = select(AnalyticsConfig).where(
                AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == kind.key, AnalyticsConfig.name == name)
            if version is not None:
                query = query.where(AnalyticsConfig.version == version)
            row = session.exec(query.order_by(AnalyticsConfig.version.desc()).limit(1)).first()
        if row is not None:
            return self._document(kind, row)
        if name == builtin.name and version is None:
            return builtin
        which = f" version {version}" if version is not None else ""
        raise NotFoundError(f"{kind.label} {name!r}{which} not found")

    def _versions(self, kind: _Kind, name: str, tenant: str) -> list[ConfigSummary]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(AnalyticsConfig)
                .where(AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == kind.key,
                       AnalyticsConfig.name == name)
                .order_by(AnalyticsConfig.version)
            ).all()
            stored = [_summary(kind, self._document(kind, r)) for r in rows]
        builtin = self._builtin(kind)
        versions = ([_summary(kind, builtin)] if name == builtin.name else []) + stored
        if not versions:
            raise NotFoundError(f"{kind.label} {name!r} not found")
        return versions

    def _in_force(self, kind: _Kind, tenant: str) -> list:
        latest = (
            select(AnalyticsConfig.name, func.max(AnalyticsConfig.version).label("version"))
            .where(AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == kind.key)
            .group_by(AnalyticsConfig.name)
            .subquery()
        )
        with Session(self.engine) as session:
            rows = session.exec(
                select(AnalyticsConfig)
                .join(latest, (AnalyticsConfig.name == latest.c.name) & (AnalyticsConfig.version == latest.c.version))
                .where(AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == kind.key)
                .order_by(AnalyticsConfig.name)
            ).all()
            docs = [self._document(kind, r) for r in rows]
        return docs or [self._builtin(kind)]

    # --- assessments of calls --------------------------------------------------------------

    @writes
    def save_assessment(self, call_id: str, assessment: Assessment | None, *, error: str | None = None) -> None:
        """Store (or replace) a call's scorecards and categories; with `assessment` None, record
        that assessing failed (`error`) and drop any earlier results, which no longer describe
        the call's current analysis.

        Raises:
            NotFoundError: no such call.
        """
        with Session(self.engine) as session:
            call = find_call(session, call_id, None)
            for table in (CallScorecard, CallCategory):
                session.exec(delete(table).where(table.call_id == call_id))
            row = session.get(CallAssessment, call_id) or CallAssessment(call_id=call_id, tenant=call.tenant)
            row.assessed_at, row.error = utcnow(), error if assessment is None else None
            session.add(row)
            for card in assessment.scorecards if assessment else []:
                session.add(CallScorecard(call_id=call_id, tenant=call.tenant, rubric=card.rubric,
                                          rubric_version=card.rubric_version, score=card.score,
                                          scorecard_json=card.model_dump_json()))
            for match in assessment.categories if assessment else []:
                session.add(CallCategory(call_id=call_id, tenant=call.tenant, category_set=match.category_set or "",
                                         set_version=match.set_version or 0, category=match.category,
                                         match_json=match.model_dump_json()))
            session.commit()

    def get_assessment(self, call_id: str, *, tenant: str | None = None) -> StoredAssessment:
        """A call's stored scorecards and categories.

        Raises:
            NotFoundError: no such call for this tenant, or it has not been assessed.
        """
        with Session(self.engine) as session:
            find_call(session, call_id, tenant)
            row = session.get(CallAssessment, call_id)
            if row is None:
                raise NotFoundError(f"call {call_id} has no scorecard yet")
            cards = session.exec(select(CallScorecard.scorecard_json).where(CallScorecard.call_id == call_id)
                                 .order_by(CallScorecard.rubric)).all()
            matches = session.exec(select(CallCategory.match_json).where(CallCategory.call_id == call_id)
                                   .order_by(CallCategory.id)).all()
            return StoredAssessment(
                call_id=call_id, assessed_at=row.assessed_at, error=row.error,
                scorecards=[Scorecard.model_validate_json(c) for c in cards],
                categories=[CategoryMatch.model_validate_json(m) for m in matches],
            )

    def agent_scores(
        self,
        rubric: str,
        *,
        tenant: str,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[AgentScore]:
        """Each agent's scores on `rubric` (any version) over the calls created in the period,
        most calls first. Calls whose scorecard has no score (nothing assessed) are left out."""
        filters = CallFilter(tenant=tenant, created_after=created_after, created_before=created_before)
        with Session(self.engine) as session:
            rows = session.exec(
                select(Call.agent_id, func.count(), func.avg(CallScorecard.score), func.min(CallScorecard.score),
                       func.max(CallScorecard.score))
                .join(Call, Call.id == CallScorecard.call_id)
                .where(CallScorecard.rubric == rubric, CallScorecard.score.is_not(None), *call_conditions(filters))
                .group_by(Call.agent_id)
            ).all()
        scores = [AgentScore(agent_id=a, calls=n, mean_score=round(mean, 1), min_score=lo, max_score=hi)
                  for a, n, mean, lo, hi in rows]
        return sorted(scores, key=lambda s: (-s.calls, s.agent_id or ""))
