"""The /v1/rubrics and /v1/categories routes: a tenant's QA rubrics and category sets, versioned.

Every PUT stores a new version (1, 2, ...) and changes nothing stored before: a scorecard names
the version it was scored on. Until a tenant stores a rubric (a category set) of its own, its
calls are scored on the built-in one (version 0), which GET shows with `builtin: true`.
Reading needs the read scope; changing what a tenant's calls are scored on needs admin.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callytics_ray.analytics import Category, CategorySet, Rubric, RubricItem
from callytics_ray.analytics.rules import NAME_PATTERN
from callytics_ray.api.backfills import BACKFILL_HEADER, backfill_changed
from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ErrorBody
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import BackfillSpec, ConfigRef
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import ConfigSummary, StoredCategorySet, StoredRubric

router = APIRouter(prefix="/v1", tags=["rubrics and categories"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}
_NAME = Path(pattern=NAME_PATTERN, description="letters, digits, '_', '-', '.'; at most 64")
_VERSION = Query(None, ge=0, description="a stored version (0: the built-in one); the latest by default")
_BACKFILL = Query(True, description="re-apply the new version to the tenant's stored (completed or partial) calls "
                  f"as a backfill job; its id is in the {BACKFILL_HEADER} header (GET /v1/backfills/{{id}})")
_PUT_RESPONSES = {201: {"headers": {BACKFILL_HEADER: {"description": "the backfill job started (backfill=true)",
                                                       "schema": {"type": "string"}}}}}


class _Draft(BaseModel):
    """What a GET returns besides the content (name, version, created_at, builtin) may be sent back
    unchanged: it is ignored, except that `name` must be the one in the path."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    version: int | None = Field(None, description="ignored: the server assigns the next version")
    created_at: datetime | None = Field(None, description="ignored")
    builtin: bool | None = Field(None, description="ignored")
    description: str = ""


class RubricDraft(_Draft):
    """The body of PUT /v1/rubrics/{name}."""

    items: list[RubricItem]


class CategorySetDraft(_Draft):
    """The body of PUT /v1/categories/{name}."""

    categories: list[Category]


class ConfigList(BaseModel):
    items: list[ConfigSummary]


def _validated(model: type[Rubric] | type[CategorySet], name: str, draft: _Draft, content: str):
    """The document `draft` describes, named `name`; what the draft alone cannot check (a name
    that differs from the path, repeated ids) is a 422 like any invalid body."""
    if draft.name is not None and draft.name != name:
        raise RequestValidationError([{"loc": ("body", "name"), "type": "value_error",
                                       "msg": f"the body names {draft.name!r}, the path {name!r}"}])
    try:
        return model.model_validate({"name": name, "description": draft.description,
                                     content: getattr(draft, content)})
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in err.errors()]) from None


def _created(response: Response, path: str, version: int) -> None:
    response.headers["Location"] = f"{path}?version={version}"


# --- rubrics --------------------------------------------------------------------------------------

@router.get("/rubrics", response_model=ConfigList, responses=_ERRORS, summary="The rubrics that score your calls")
def list_rubrics(caller: ApiKeyRecord = Depends(require("read")), store: CallStore = Depends(get_store)) -> ConfigList:
    """The latest version of each rubric the tenant stored, or the built-in one while there is none."""
    return ConfigList(items=store.list_rubrics(tenant=caller.tenant))


@router.put("/rubrics/{name}", status_code=201, response_model=StoredRubric, response_model_exclude_none=True,
            responses={422: {"model": ErrorBody}, **_PUT_RESPONSES, **_ERRORS}, summary="Store a new version of a rubric")
def put_rubric(
    draft: RubricDraft,
    request: Request,
    response: Response,
    name: str = _NAME,
    backfill: bool = _BACKFILL,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> StoredRubric:
    """Needs the admin scope. Calls finished from now on are scored on it, and by default a
    backfill job re-scores the stored calls on it (their scorecards on this rubric are replaced);
    with `backfill=false` they keep theirs until re-scored (`POST /v1/backfills`, or one call:
    `POST /v1/calls/{id}/scorecard:rescore`)."""
    stored = store.put_rubric(_validated(Rubric, name, draft, "items"), tenant=caller.tenant)
    _created(response, f"/v1/rubrics/{name}", stored.version)
    if backfill:
        backfill_changed(request, response, BackfillSpec(
            kind="rescore", rubrics_mode="named", rubrics=(ConfigRef(name=name, version=stored.version),),
            category_sets_mode="none", reason=f"rubric {name} version {stored.version} stored"), tenant=caller.tenant)
    return stored


@router.get("/rubrics/{name}", response_model=StoredRubric, response_model_exclude_none=True, responses=_ERRORS,
            summary="A rubric: the latest version, or ?version=")
def get_rubric(
    name: str = _NAME,
    version: int | None = _VERSION,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> StoredRubric:
    return store.get_rubric(name, tenant=caller.tenant, version=version)


@router.get("/rubrics/{name}/versions", response_model=ConfigList, responses=_ERRORS,
            summary="Every version of a rubric, oldest first")
def rubric_versions(
    name: str = _NAME,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> ConfigList:
    return ConfigList(items=store.rubric_versions(name, tenant=caller.tenant))


# --- category sets --------------------------------------------------------------------------------

@router.get("/categories", response_model=ConfigList, responses=_ERRORS,
            summary="The category sets your calls are matched against")
def list_category_sets(caller: ApiKeyRecord = Depends(require("read")),
                       store: CallStore = Depends(get_store)) -> ConfigList:
    """The latest version of each category set the tenant stored, or the built-in one while there is none."""
    return ConfigList(items=store.list_category_sets(tenant=caller.tenant))


@router.put("/categories/{name}", status_code=201, response_model=StoredCategorySet,
            response_model_exclude_none=True, responses={422: {"model": ErrorBody}, **_PUT_RESPONSES, **_ERRORS},
            summary="Store a new version of a category set")
def put_category_set(
    draft: CategorySetDraft,
    request: Request,
    response: Response,
    name: str = _NAME,
    backfill: bool = _BACKFILL,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> StoredCategorySet:
    """Needs the admin scope. Calls finished from now on are matched against it, and by default a
    backfill job re-matches the stored calls (their matches of this set are replaced)."""
    stored = store.put_category_set(_validated(CategorySet, name, draft, "categories"), tenant=caller.tenant)
    _created(response, f"/v1/categories/{name}", stored.version)
    if backfill:
        backfill_changed(request, response, BackfillSpec(
            kind="recategorize", rubrics_mode="none", category_sets_mode="named",
            category_sets=(ConfigRef(name=name, version=stored.version),),
            reason=f"category set {name} version {stored.version} stored"), tenant=caller.tenant)
    return stored


@router.get("/categories/{name}", response_model=StoredCategorySet, response_model_exclude_none=True,
            responses=_ERRORS, summary="A category set: the latest version, or ?version=")
def get_category_set(
    name: str = _NAME,
    version: int | None = _VERSION,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> StoredCategorySet:
    return store.get_category_set(name, tenant=caller.tenant, version=version)


@router.get("/categories/{name}/versions", response_model=ConfigList, responses=_ERRORS,
            summary="Every version of a category set, oldest first")
def category_set_versions(
    name: str = _NAME,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> ConfigList:
    return ConfigList(items=store.category_set_versions(name, tenant=caller.tenant))
