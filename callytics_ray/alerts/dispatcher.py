"""The delivery loop: claims due deliveries, sends them, records each attempt. Claims are leases
(one conditional UPDATE each), so every gateway replica can run one and no delivery is sent twice
at once; a delivery whose sender died is claimed again once its lease lapses."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid

import httpx

from callytics_ray.alerts.models import DeliveryTask
from callytics_ray.alerts.ports import DeliveryQueue
from callytics_ray.alerts.webhook import send
from callytics_ray.periodic import PeriodicTask
from callytics_ray.settings import AlertSettings

logger = logging.getLogger(__name__)


class AlertDispatcher(PeriodicTask):
    _task_name = "callytics-alert-dispatcher"
    """Sends stored deliveries when due, at start-up and every `settings.poll_interval_s`.

    Example:
        >>> dispatcher = AlertDispatcher(store, settings.alerts)
        >>> await dispatcher.dispatch_once()   # the ids of the deliveries attempted
        >>> dispatcher.start()                 # and from now on periodically; `await stop()` ends it
    """

    def __init__(self, store: DeliveryQueue, settings: AlertSettings, *, worker_id: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.settings = settings
        self.worker_id = worker_id or f"alerts-{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._transport = transport
        self._rng = random.Random()

    async def dispatch_once(self) -> list[str]:
        """Claim the deliveries due now and attempt each once (at most `max_concurrent` at a time).

        Returns:
            the ids attempted.
        """
        tasks = await asyncio.to_thread(self.store.claim_deliveries, self.worker_id, self.settings.lease_s,
                                        limit=self.settings.batch_size)
        if not tasks:
            return []
        gate = asyncio.Semaphore(self.settings.max_concurrent)
        # Redirects are not followed: a webhook that moved is an error the owner should see.
        async with httpx.AsyncClient(transport=self._transport, follow_redirects=False) as client:
            await asyncio.gather(*(self._attempt(client, gate, task) for task in tasks))
        return [t.id for t in tasks]

    async def _attempt(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, task: DeliveryTask) -> None:
        async with gate:
            outcome = await send(client, task, self.settings, self._rng)
        if outcome.status != "delivered":
            logger.warning("alert %s delivery %s attempt %d: %s (%s)", task.alert, task.id, task.attempt,
                           outcome.error, outcome.status)
        try:
            kept = await asyncio.to_thread(self.store.record_attempt, task.id, self.worker_id, outcome)
        except Exception:  # the lease lapses and another round sends it again: at least once
            logger.exception("delivery %s: could not record attempt %d", task.id, task.attempt)
            return
        if not kept:
            logger.warning("delivery %s: lease lost while sending; another worker owns it now", task.id)

    async def _loop(self) -> None:
        interval_s = self.settings.poll_interval_s
        while True:
            try:
                attempted = await self.dispatch_once()
            except Exception:  # a database hiccup must not end deliveries for good
                logger.exception("alert dispatch failed; trying again in %.0f s", interval_s)
                attempted = []
            if len(attempted) >= self.settings.batch_size:
                continue  # a backlog: go on at once
            await asyncio.sleep(self.jittered(interval_s))
