"""Alert subscriptions per tenant, and the deliveries owed to them with their attempt logs.

Deliveries are claimed like calls are (storage/jobs.py): one conditional UPDATE per delivery
takes a lease, so of several dispatchers racing for one exactly one sends it.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callytics_ray.alerts.models import (
    AlertSubscription,
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryTask,
    NewDelivery,
    StoredAlert,
    StoredDelivery,
)
from callytics_ray.errors import ConfigError, NotFoundError
from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.filters import as_utc
from callytics_ray.storage.tables import (
    AlertAttemptRow,
    AlertDeliveryRow,
    AlertSubscriptionRow,
    Call,
    CallStatus,
    utcnow,
)

# Deliveries wait until their call is stored as finished: a receiver that reads the call back
# through the API finds it complete.
_SENDABLE_CALLS = (CallStatus.COMPLETED, CallStatus.PARTIAL)
_REDELIVERABLE = ("delivered", "failed")


def _stored_alert(row: AlertSubscriptionRow) -> StoredAlert:
    return StoredAlert(name=row.name, description=row.description, categories=json.loads(row.categories),
                       url=row.url, active=row.active, created_at=as_utc(row.created_at),
                       updated_at=as_utc(row.updated_at))


def _subscription(row: AlertSubscriptionRow) -> AlertSubscription:
    return AlertSubscription(name=row.name, description=row.description, categories=json.loads(row.categories),
                             url=row.url, secret=row.secret, active=row.active)


def _epoch_datetime(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, timezone.utc) if value is not None else None


class AlertRepository(Repository):
    """Webhook subscriptions, their deliveries, and the leases that let one dispatcher of many
    send each delivery."""

    # --- subscriptions ---------------------------------------------------------------------

    @writes
    def put_alert(self, subscription: AlertSubscription, *, tenant: str) -> tuple[StoredAlert, bool]:
        """Create or replace `tenant`'s subscription of that name; a replacement without a secret
        keeps the stored one.

        Returns:
            the subscription as stored, and whether it was created (False: replaced).

        Raises:
            ConfigError: a new subscription without a secret.
        """
        with Session(self.engine) as session:
            row = session.exec(select(AlertSubscriptionRow).where(
                AlertSubscriptionRow.tenant == tenant, AlertSubscriptionRow.name == subscription.name)).first()
            created = row is None
            if row is None:
                if subscription.secret is None:
                    raise ConfigError(f"alert {subscription.name!r} is new: give it a secret to sign with")
                row = AlertSubscriptionRow(tenant=tenant, name=subscription.name, categories="", url="", secret="")
            row.description, row.url, row.active = subscription.description, str(subscription.url), subscription.active
            row.categories, row.updated_at = json.dumps(subscription.categories), utcnow()
            if subscription.secret is not None:
                row.secret = subscription.secret.get_secret_value()
            session.add(row)
            session.commit()
            session.refresh(row)
            return _stored_alert(row), created

    def get_alert(self, name: str, *, tenant: str) -> StoredAlert:
        """Raises: NotFoundError: no such subscription for this tenant."""
        with Session(self.engine) as session:
            return _stored_alert(self._alert_row(session, name, tenant))

    def list_alerts(self, *, tenant: str) -> list[StoredAlert]:
        with Session(self.engine) as session:
            rows = session.exec(select(AlertSubscriptionRow).where(AlertSubscriptionRow.tenant == tenant)
                                .order_by(AlertSubscriptionRow.name)).all()
            return [_stored_alert(r) for r in rows]

    def alerts_in_force(self, *, tenant: str) -> list[AlertSubscription]:
        """The tenant's active subscriptions, secrets included (for the core only, never the API)."""
        with Session(self.engine) as session:
            rows = session.exec(select(AlertSubscriptionRow).where(
                AlertSubscriptionRow.tenant == tenant, AlertSubscriptionRow.active.is_(True))
                .order_by(AlertSubscriptionRow.name)).all()
            return [_subscription(r) for r in rows]

    @writes
    def delete_alert(self, name: str, *, tenant: str) -> None:
        """Delete a subscription with its deliveries (pending ones are not sent).

        Raises:
            NotFoundError: no such subscription for this tenant.
        """
        with Session(self.engine) as session:
            row = self._alert_row(session, name, tenant)
            owned = select(AlertDeliveryRow.id).where(AlertDeliveryRow.tenant == tenant,
                                                      AlertDeliveryRow.alert == name)
            session.exec(delete(AlertAttemptRow).where(AlertAttemptRow.delivery_id.in_(owned)))
            session.exec(delete(AlertDeliveryRow).where(AlertDeliveryRow.tenant == tenant,
                                                        AlertDeliveryRow.alert == name))
            session.delete(row)
            session.commit()

    @staticmethod
    def _alert_row(session: Session, name: str, tenant: str) -> AlertSubscriptionRow:
        row = session.exec(select(AlertSubscriptionRow).where(
            AlertSubscriptionRow.tenant == tenant, AlertSubscriptionRow.name == name)).first()
        if row is None:
            raise NotFoundError(f"alert {name!r} not found")
        return row

    # --- deliveries ------------------------------------------------------------------------

    @writes
    def add_deliveries(self, deliveries: list[NewDelivery]) -> list[str]:
        """Store each delivery, due now, unless one for the same alert, call and category exists.

        Returns:
            the ids stored (those left out were already there).
        """
        stored, now = [], time.time()
        for delivery in deliveries:
            try:
                with Session(self.engine) as session:
                    session.add(AlertDeliveryRow(**delivery.model_dump(), next_attempt_at=now))
                    session.commit()
                stored.append(delivery.id)
            except IntegrityError:  # the unique match: this call already owes (or paid) that alert
                continue
        return stored

    @writes
    def claim_deliveries(self, worker_id: str, lease_s: float, *, limit: int = 50) -> list[DeliveryTask]:
        """Take the lease on up to `limit` due deliveries (pending, due, their call finished, their
        subscription active, nobody's live lease on them) and count an attempt on each.

        Returns:
            what sending each one needs, oldest due first.
        """
        now = time.time()
        free = (AlertDeliveryRow.status == "pending", AlertDeliveryRow.next_attempt_at <= now,
                or_(AlertDeliveryRow.claimed_by.is_(None), AlertDeliveryRow.lease_until < now))
        with Session(self.engine) as session:
            candidates = session.exec(
                select(AlertDeliveryRow.id)
                .join(Call, Call.id == AlertDeliveryRow.call_id)
                .join(AlertSubscriptionRow, (AlertSubscriptionRow.tenant == AlertDeliveryRow.tenant)
                      & (AlertSubscriptionRow.name == AlertDeliveryRow.alert))
                .where(*free, Call.status.in_(_SENDABLE_CALLS), AlertSubscriptionRow.active.is_(True))
                .order_by(AlertDeliveryRow.next_attempt_at)
                .limit(limit)
            ).all()
        claimed = []
        with self.engine.begin() as conn:
            for delivery_id in candidates:
                taken = conn.execute(
                    update(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery_id, *free)
                    .values(claimed_by=worker_id, lease_until=now + lease_s, attempts=AlertDeliveryRow.attempts + 1)
                ).rowcount == 1
                if taken:
                    claimed.append(delivery_id)
        if not claimed:
            return []
        with Session(self.engine) as session:
            rows = session.exec(
                select(AlertDeliveryRow, AlertSubscriptionRow)
                .join(AlertSubscriptionRow, (AlertSubscriptionRow.tenant == AlertDeliveryRow.tenant)
                      & (AlertSubscriptionRow.name == AlertDeliveryRow.alert))
                .where(AlertDeliveryRow.id.in_(claimed))
                .order_by(AlertDeliveryRow.next_attempt_at)
            ).all()
            return [DeliveryTask(id=d.id, tenant=d.tenant, alert=d.alert, url=s.url, secret=s.secret,
                                 payload_json=d.payload_json, attempt=d.attempts) for d, s in rows]

    @writes
    def record_attempt(self, delivery_id: str, worker_id: str, outcome: AttemptOutcome) -> bool:
        """Log one attempt and, while `worker_id` still holds the lease, apply its outcome (the
        delivery's status, next attempt time, last answer) and release the lease.

        Returns:
            False when the lease was lost (the attempt is logged, the state left to its new owner).
        """
        with Session(self.engine) as session:
            number = session.exec(select(func.count()).select_from(AlertAttemptRow)
                                  .where(AlertAttemptRow.delivery_id == delivery_id)).one() + 1
            session.add(AlertAttemptRow(delivery_id=delivery_id, number=number, started_at=outcome.started_at,
                                        duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                                        error=outcome.error))
            applied = session.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id == delivery_id, AlertDeliveryRow.claimed_by == worker_id)
                .values(status=outcome.status, next_attempt_at=outcome.retry_at,
                        last_status_code=outcome.status_code, last_error=outcome.error,
                        claimed_by=None, lease_until=None, updated_at=utcnow())
            ).rowcount == 1
            session.commit()
            return applied

    @writes
    def redeliver(self, delivery_id: str, *, tenant: str) -> bool:
        """Send a delivered or failed delivery again, now, with a fresh attempt budget (its log
        and id stay: receivers de-duplicate on the id).

        Returns:
            False when it is pending already (it will be sent anyway).

        Raises:
            NotFoundError: no such delivery for this tenant.
        """
        with self.engine.begin() as conn:
            if conn.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id == delivery_id, AlertDeliveryRow.tenant == tenant,
                       AlertDeliveryRow.status.in_(_REDELIVERABLE))
                .values(status="pending", attempts=0, next_attempt_at=time.time(), claimed_by=None,
                        lease_until=None, updated_at=utcnow())
            ).rowcount == 1:
                return True
        self.get_delivery(delivery_id, tenant=tenant)  # a missing one raises; a pending one is False
        return False

    def get_delivery(self, delivery_id: str, *, tenant: str) -> StoredDelivery:
        """A delivery with its attempt log.

        Raises:
            NotFoundError: no such delivery for this tenant.
        """
        with Session(self.engine) as session:
            row = session.get(AlertDeliveryRow, delivery_id)
            if row is None or row.tenant != tenant:
                raise NotFoundError(f"delivery {delivery_id} not found")
            return self._with_logs(session, [row])[0]

    def list_deliveries(
        self,
        *,
        tenant: str,
        alert: str | None = None,
        call_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[StoredDelivery]:
        """`tenant`'s deliveries, newest first, of one alert and/or call and/or status.

        Raises:
            NotFoundError: `alert` or `call_id` given and not the tenant's.
        """
        with Session(self.engine) as session:
            if alert is not None:
                self._alert_row(session, alert, tenant)
            if call_id is not None:
                find_call(session, call_id, tenant)
            query = select(AlertDeliveryRow).where(AlertDeliveryRow.tenant == tenant)
            if alert is not None:
                query = query.where(AlertDeliveryRow.alert == alert)
            if call_id is not None:
                query = query.where(AlertDeliveryRow.call_id == call_id)
            if status is not None:
                query = query.where(AlertDeliveryRow.status == status)
            rows = session.exec(query.order_by(AlertDeliveryRow.created_at.desc(), AlertDeliveryRow.id)
                                .offset(offset).limit(limit)).all()
            return self._with_logs(session, rows)

    @staticmethod
    def _with_logs(session: Session, rows: list[AlertDeliveryRow]) -> list[StoredDelivery]:
        ids = [r.id for r in rows]
        logs: dict[str, list[DeliveryAttempt]] = {i: [] for i in ids}
        for a in session.exec(select(AlertAttemptRow).where(AlertAttemptRow.delivery_id.in_(ids))
                              .order_by(AlertAttemptRow.delivery_id, AlertAttemptRow.number)).all():
            logs[a.delivery_id].append(DeliveryAttempt(number=a.number, started_at=as_utc(a.started_at),
                                                       duration_ms=a.duration_ms, status_code=a.status_code,
                                                       error=a.error))
        return [StoredDelivery(
            id=r.id, alert=r.alert, call_id=r.call_id, category_set=r.category_set, category=r.category,
            status=r.status, attempts=r.attempts,
            next_attempt_at=_epoch_datetime(r.next_attempt_at) if r.status == "pending" else None,
            last_status_code=r.last_status_code, last_error=r.last_error, created_at=as_utc(r.created_at),
            updated_at=as_utc(r.updated_at), attempt_log=logs[r.id],
        ) for r in rows]
