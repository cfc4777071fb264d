"""Storing the deliveries a call's matched categories owe the tenant's alert subscriptions."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from callytics_ray.alerts.events import alert_event, call_facts
from callytics_ray.alerts.models import NewDelivery
from callytics_ray.alerts.ports import DeliveryBook
from callytics_ray.analytics import Assessment
from callytics_ray.result import CallAnalysis

logger = logging.getLogger(__name__)


def enqueue_for(store: DeliveryBook, assessment: Assessment, analysis: CallAnalysis, *, tenant: str) -> list[str]:
    """Store one delivery per (active subscription, matched category) of `tenant` for this call.

    The gateway calls it for a newly finished call only; re-scoring does not, and a backfill may.
    A delivery already stored for the same subscription, call and category is not stored again, so
    calling it twice for a call (a resumed run, a backfill over alerted calls) alerts once. The
    deliveries are sent by the dispatcher once the call is stored as finished.

    Returns:
        the ids of the deliveries stored now.

    Raises:
        NotFoundError: the call is not stored for `tenant`.
        whatever else reading or writing the store fails with.
    """
    subscriptions = [s for s in store.alerts_in_force(tenant=tenant) if s.active]
    wanted = [(s, m) for m in assessment.categories for s in subscriptions if s.covers(m.category)]
    if not wanted:
        return []
    record = store.get_call(analysis.call_id, tenant=tenant)
    facts = call_facts(analysis, agent_id=record.agent_id, customer_id=record.customer_id)
    now = datetime.now(timezone.utc)
    deliveries = []
    for subscription, match in wanted:
        delivery_id = str(uuid.uuid4())
        event = alert_event(delivery_id, tenant=tenant, alert=subscription.name, call=facts, match=match,
                            created_at=now)
        deliveries.append(NewDelivery(
            id=delivery_id, tenant=tenant, alert=subscription.name, call_id=analysis.call_id,
            category_set=match.category_set or "", category=match.category,
            payload_json=event.model_dump_json(exclude_none=True),
        ))
    stored = store.add_deliveries(deliveries)
    if stored:
        logger.info("call %s: %d alert deliveries stored", analysis.call_id, len(stored))
    return stored
