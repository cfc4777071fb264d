"""Alerts: a tenant's webhooks told, signed and with retries, when a finished call matches a
category. Ray-free: deliveries are stored through `CallStore` before anything is sent, and
`AlertDispatcher` (run by every gateway) sends them.

Example:
    >>> from callytics_ray.alerts import AlertDispatcher, enqueue_for
    >>> enqueue_for(store, assessment, analysis, tenant="acme")   # ids of the deliveries stored
    >>> await AlertDispatcher(store, settings.alerts).dispatch_once()
"""

from callytics_ray.alerts.dispatcher import AlertDispatcher
from callytics_ray.alerts.enqueue import enqueue_for
from callytics_ray.alerts.events import AlertEvent, CallFacts, MatchedCategory
from callytics_ray.alerts.models import (
    ALL_CATEGORIES,
    EVENT_TYPE,
    AlertSubscription,
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryStatus,
    DeliveryTask,
    NewDelivery,
    StoredAlert,
    StoredDelivery,
)
from callytics_ray.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature, verify

__all__ = [
    "ALL_CATEGORIES", "DELIVERY_HEADER", "EVENT_HEADER", "EVENT_TYPE", "SIGNATURE_HEADER", "AlertDispatcher",
    "AlertEvent", "AlertSubscription", "AttemptOutcome", "CallFacts", "DeliveryAttempt", "DeliveryStatus",
    "DeliveryTask",
    "MatchedCategory", "NewDelivery", "StoredAlert", "StoredDelivery", "enqueue_for", "signature", "verify",
]
