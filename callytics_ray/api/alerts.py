"""The /v1/alerts routes: a tenant's webhook subscriptions (admin), their delivery logs, and
redelivering one; and a call's deliveries (read), which the console shows on the call page.

A subscription names categories (or "*"), an http(s) URL and a secret; whenever a newly finished
call matches one of those categories, one delivery per category is stored and then POSTed, signed
with the secret (`X-Callytics-Signature: t=<unix>,v1=<HMAC-SHA256 hex of "<t>.<body>">`), retried
with backoff. Re-scoring a call does not alert.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callytics_ray.alerts import AlertSubscription, DeliveryStatus, StoredAlert, StoredDelivery
from callytics_ray.analytics.rules import NAME_PATTERN
from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ConflictError, ErrorBody
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter(prefix="/v1", tags=["alerts"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}
_NAME = Path(pattern=NAME_PATTERN, description="letters, digits, '_', '-', '.'; at most 64")


class AlertDraft(BaseModel):
    """The body of PUT /v1/alerts/{name}."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="optional; must be the name in the path")
    description: str = ""
    categories: list[str] = Field(description='category names of any of your category sets, or ["*"] for all')
    url: str = Field(description="http or https URL the alerts are POSTed to")
    secret: str | None = Field(None, description="signing key, 16 to 256 characters; write-only. Required for "
                                                 "a new alert; left out on a replacement, the stored one is kept")
    active: bool = True
    created_at: str | None = Field(None, description="ignored")
    updated_at: str | None = Field(None, description="ignored")


class AlertList(BaseModel):
    items: list[StoredAlert]


class DeliveryList(BaseModel):
    items: list[StoredDelivery]
    limit: int
    offset: int


def _subscription(name: str, draft: AlertDraft) -> AlertSubscription:
    """The subscription `draft` describes; anything invalid is a 422 with the reason."""
    if draft.name is not None and draft.name != name:
        raise RequestValidationError([{"loc": ("body", "name"), "type": "value_error",
                                       "msg": f"the body names {draft.name!r}, the path {name!r}"}])
    fields = draft.model_dump(exclude={"name", "created_at", "updated_at"})
    try:
        return AlertSubscription.model_validate({**fields, "name": name})
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in err.errors()]) from None


@router.get("/alerts", response_model=AlertList, responses=_ERRORS, summary="Your alert subscriptions")
def list_alerts(caller: ApiKeyRecord = Depends(require("admin")), store: CallStore = Depends(get_store)) -> AlertList:
    """Needs the admin scope. Secrets are never returned."""
    return AlertList(items=store.list_alerts(tenant=caller.tenant))


@router.put("/alerts/{name}", response_model=StoredAlert, responses={201: {"model": StoredAlert},
            422: {"model": ErrorBody}, **_ERRORS}, summary="Create or replace an alert subscription")
def put_alert(
    draft: AlertDraft,
    response: Response,
    name: str = _NAME,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> StoredAlert:
    """Needs the admin scope. 201 when created, 200 when replaced. Calls finished from now on
    that match one of its categories are sent to `url`."""
    subscription = _subscription(name, draft)
    if subscription.secret is None:
        try:
            store.get_alert(name, tenant=caller.tenant)
        except NotFoundError:
            raise RequestValidationError([{"loc": ("body", "secret"), "type": "missing",
                                           "msg": "a new alert needs a secret to sign with"}]) from None
    stored, created = store.put_alert(subscription, tenant=caller.tenant)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/alerts/{name}"
    return stored


@router.get("/alerts/{name}", response_model=StoredAlert, responses=_ERRORS, summary="One alert subscription")
def get_alert(name: str = _NAME, caller: ApiKeyRecord = Depends(require("admin")),
              store: CallStore = Depends(get_store)) -> StoredAlert:
    return store.get_alert(name, tenant=caller.tenant)


@router.delete("/alerts/{name}", status_code=204, responses=_ERRORS, summary="Delete an alert subscription")
def delete_alert(name: str = _NAME, caller: ApiKeyRecord = Depends(require("admin")),
                 store: CallStore = Depends(get_store)) -> Response:
    """Needs the admin scope. Its deliveries and their log go with it; pending ones are not sent."""
    store.delete_alert(name, tenant=caller.tenant)
    return Response(status_code=204)


@router.get("/alerts/{name}/deliveries", response_model=DeliveryList, responses=_ERRORS,
            summary="The delivery log of an alert subscription")
def list_deliveries(
    name: str = _NAME,
    status: DeliveryStatus | None = Query(None, description="only deliveries in this state"),
    call_id: str | None = Query(None, description="only this call's"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> DeliveryList:
    """Newest first: each delivery's status (pending, delivered, failed), attempts, last HTTP
    status and error, when a pending one is tried next, and every attempt."""
    items = store.list_deliveries(tenant=caller.tenant, alert=name, call_id=call_id, status=status,
                                  limit=limit, offset=offset)
    return DeliveryList(items=items, limit=limit, offset=offset)


@router.post("/alerts/deliveries/{delivery_id}:redeliver", status_code=202, response_model=StoredDelivery,
             responses={409: {"model": ErrorBody}, **_ERRORS}, summary="Send a delivery again")
def redeliver(delivery_id: str, caller: ApiKeyRecord = Depends(require("admin")),
              store: CallStore = Depends(get_store)) -> StoredDelivery:
    """Needs the admin scope. A failed (or delivered) delivery is sent again soon, same id and
    body, with a fresh attempt budget; 409 while it is still pending."""
    if not store.redeliver(delivery_id, tenant=caller.tenant):
        raise ConflictError(f"delivery {delivery_id} is pending: it is sent without asking", code="pending")
    return store.get_delivery(delivery_id, tenant=caller.tenant)


class CallAlert(BaseModel):
    """A call's delivery as a reviewer sees it (no URL, no body)."""

    id: str
    alert: str
    category: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None


class CallAlerts(BaseModel):
    call_id: str
    items: list[CallAlert]


@router.get("/calls/{call_id}/alerts", response_model=CallAlerts, responses=_ERRORS,
            summary="The alerts a call sent")
def call_alerts(call_id: str, caller: ApiKeyRecord = Depends(require("read")),
                store: CallStore = Depends(get_store)) -> CallAlerts:
    """Which of your alert subscriptions this call triggered, for which category, and whether the
    webhook got it. Needs the read scope (the delivery log itself needs admin)."""
    items = store.list_deliveries(tenant=caller.tenant, call_id=call_id, limit=500)
    return CallAlerts(call_id=call_id, items=[CallAlert.model_validate(d.model_dump()) for d in items])
