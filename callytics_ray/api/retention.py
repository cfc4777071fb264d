"""The retention sweep: deletes the original recordings of finished calls older than
`storage.original_audio_retention_days` (their redacted copies stay). The reconciler runs it on
each round; the conditional delete makes it safe in every gateway replica at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore

logger = logging.getLogger(__name__)


class RetentionSweep:
    """Deletes originals past their retention, `batch_size` calls per sweep.

    Example:
        >>> sweep = RetentionSweep.from_settings(settings, store)   # None when originals are kept
        >>> await sweep.sweep_once()                                 # the call ids whose original went
    """

    def __init__(self, store: CallStore, *, retention_days: float, batch_size: int = 100) -> None:
        self.store = store
        self.retention_days = retention_days
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings, store: CallStore) -> RetentionSweep | None:
        days = settings.storage.original_audio_retention_days
        if days is None:
            return None
        return cls(store, retention_days=days, batch_size=settings.storage.retention_batch_size)

    async def sweep_once(self, *, now: datetime | None = None) -> list[str]:
        """Delete the originals of finished calls created more than `retention_days` before `now`."""
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=self.retention_days)
        deleted = await asyncio.to_thread(
            self.store.delete_expired_originals, created_before=cutoff, limit=self.batch_size
        )
        if deleted:
            logger.info("retention deleted the original recording of %d call(s): %s", len(deleted), ", ".join(deleted))
        return deleted
