"""What the alert code needs of a store, as protocols: `CallStore` provides them, and alerts/
stays below storage/ (storage/alerts.py stores this package's models)."""

from __future__ import annotations

from typing import Protocol

from callytics_ray.alerts.models import AlertSubscription, AttemptOutcome, DeliveryTask, NewDelivery


class CallOwners(Protocol):
    agent_id: str | None
    customer_id: str | None


class DeliveryQueue(Protocol):
    """Stored deliveries to claim and attempts to record (the dispatcher's side)."""

    def claim_deliveries(self, worker_id: str, lease_s: float, *, limit: int = 50) -> list[DeliveryTask]: ...

    def record_attempt(self, delivery_id: str, worker_id: str, outcome: AttemptOutcome) -> bool: ...


class DeliveryBook(Protocol):
    """Subscriptions in force, a call's owners, and new deliveries (the enqueuing side)."""

    def alerts_in_force(self, *, tenant: str) -> list[AlertSubscription]: ...

    def get_call(self, call_id: str, *, tenant: str | None = None) -> CallOwners: ...

    def add_deliveries(self, deliveries: list[NewDelivery]) -> list[str]: ...
