"""Each tenant's custom vocabulary, versioned like its rubrics (rows of `AnalyticsConfig`, kind
"vocabulary"): every write is a new version, so a call can name the one it was accepted with."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from callytics_ray.errors import NotFoundError
from callytics_ray.storage.analytics import store_next_version
from callytics_ray.storage.base import Repository, writes
from callytics_ray.storage.filters import as_utc
from callytics_ray.storage.models import TenantVocabulary
from callytics_ray.storage.tables import AnalyticsConfig

_KIND = _NAME = "vocabulary"
# The versions a history reads back at most: enough to say who added each of the terms in force.
HISTORY_VERSIONS = 100


def _vocabulary(row: AnalyticsConfig) -> TenantVocabulary:
    body = json.loads(row.body_json)
    return TenantVocabulary(terms=body["terms"], version=row.version, created_at=as_utc(row.created_at),
                            created_by=body.get("created_by"))


class VocabularyRepository(Repository):
    """A tenant's vocabulary: the latest version is the one in force."""

    @writes
    def put_vocabulary(self, terms: list[str], *, tenant: str, created_by: str | None = None) -> TenantVocabulary:
        """Store `terms` (already validated, `callytics_ray.vocabulary.TenantTerms`) as the next
        version of the tenant's vocabulary; an empty list clears it from now on."""
        body = json.dumps({"terms": list(terms), "created_by": created_by})
        return _vocabulary(store_next_version(self.engine, tenant=tenant, kind=_KIND, name=_NAME, body_json=body))

    def vocabulary_versions(self, *, tenant: str, limit: int = HISTORY_VERSIONS) -> list[TenantVocabulary]:
        """The tenant's last `limit` vocabulary versions, newest first (none when it stored none)."""
        with Session(self.engine) as session:
            rows = session.exec(self._vocabulary_rows(tenant).order_by(AnalyticsConfig.version.desc()).limit(limit)).all()
        return [_vocabulary(row) for row in rows]

    def get_vocabulary(self, *, tenant: str, version: int | None = None) -> TenantVocabulary:
        """The tenant's vocabulary in force (the latest version; version 0 without terms when it
        stored none), or the given version.

        Raises:
            NotFoundError: `version` was given and the tenant has no such version.
        """
        with Session(self.engine) as session:
            query = self._vocabulary_rows(tenant)
            if version is not None:
                query = query.where(AnalyticsConfig.version == version)
            row = session.exec(query.order_by(AnalyticsConfig.version.desc()).limit(1)).first()
        if row is not None:
            return _vocabulary(row)
        if version:
            raise NotFoundError(f"vocabulary version {version} not found")
        return TenantVocabulary()

    @staticmethod
    def _vocabulary_rows(tenant: str):
        return select(AnalyticsConfig).where(
            AnalyticsConfig.tenant == tenant, AnalyticsConfig.kind == _KIND, AnalyticsConfig.name == _NAME)
