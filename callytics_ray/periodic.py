"""One background asyncio task per object, started and stopped with it: the shape every periodic
loop of the gateway shares (the reconciler, the alert dispatcher)."""

from __future__ import annotations

import asyncio
import random


class PeriodicTask:
    """Runs the subclass's `_loop()` coroutine as one task: `start()` (a no-op while it runs),
    `running`, `await stop()`. `jittered(s)` spreads a period so replicas started together do not
    poll in lock step."""

    _task_name = "callytics-periodic"
    _task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Run `_loop()` now, until `stop()`."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=self._task_name)
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def jittered(self, seconds: float) -> float:
        return seconds * random.uniform(0.8, 1.2)

    async def _loop(self) -> None:
        raise NotImplementedError
