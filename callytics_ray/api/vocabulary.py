"""The /v1/vocabulary routes: a tenant's custom vocabulary (product names, people, places, jargon).

Every PUT stores a new version; a call accepted from then on is recognised with these terms
(after its request's own `vocabulary`) and records the version it got. Reading needs the read
scope; changing what every call of the tenant is recognised with needs admin.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ErrorBody
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import TenantVocabulary
from callytics_ray.vocabulary import MAX_TENANT_TERMS, MAX_TERM_CHARS, TenantTerms

router = APIRouter(prefix="/v1/vocabulary", tags=["vocabulary"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}


class VocabularyDraft(BaseModel):
    """The body of PUT /v1/vocabulary."""

    model_config = ConfigDict(extra="forbid")

    terms: TenantTerms = Field(
        description=f"at most {MAX_TENANT_TERMS} terms of at most {MAX_TERM_CHARS} characters each, most "
                    "important first (recognition gets as many as fit its prompt); repeats are dropped; "
                    "an empty list clears the vocabulary",
    )


@router.put("", response_model=TenantVocabulary, response_model_exclude_none=True, responses={422: {"model": ErrorBody}, **_ERRORS},
            summary="Store a new version of your vocabulary")
def put_vocabulary(
    draft: VocabularyDraft,
    response: Response,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> TenantVocabulary:
    """Needs the admin scope. Calls accepted from now on use it; calls already accepted keep the
    vocabulary they were accepted with, also when they are retried."""
    stored = store.put_vocabulary(draft.terms, tenant=caller.tenant, created_by=caller.prefix)
    response.headers["Location"] = f"/v1/vocabulary?version={stored.version}"
    return stored


@router.get("", response_model=TenantVocabulary, response_model_exclude_none=True, responses=_ERRORS, summary="Your vocabulary")
def get_vocabulary(
    version: int | None = Query(None, ge=1, description="a stored version; the one in force by default"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> TenantVocabulary:
    """The vocabulary in force (version 0 without terms until one is stored), or `?version=`."""
    return store.get_vocabulary(tenant=caller.tenant, version=version)
