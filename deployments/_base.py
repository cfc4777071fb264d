"""What every stage deployment shares: settings per replica, user_config validation, health,
worker threads, batching with per-item failures and metrics, logging into the replica's log file.

Failures cross processes as data: a stage method returns the core's `StageFailure` (it carries
the exception, which pickles) and the caller raises it with `unwrap`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callytics_ray.errors import CallyticsError, ConfigError
from callytics_ray.failures import StageFailure, unwrap
from callytics_ray.memory import HeapReleaser
from callytics_ray.settings import Settings
from deployments.metrics import ReplicaMetrics

logger = logging.getLogger("ray.serve")

T = TypeVar("T")
Item = TypeVar("Item")  # one item of a batch
O = TypeVar("O", bound=BaseModel)

__all__ = ["BatchedStageConfig", "StageConfig", "StageDeployment", "StageFailure", "unwrap"]


class StageConfig(BaseModel, Generic[O]):
    """A stage deployment's user_config: the stage's tunable options."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    options: O


class BatchedStageConfig(StageConfig[O], Generic[O]):
    """user_config of a stage that batches across concurrent calls (@serve.batch).

    Attributes:
        max_batch_size: calls handed to the model together; keep the deployment's
            max_ongoing_requests at least this large, or batches never fill.
        batch_wait_timeout_s: how long the first call of a batch waits for others.
    """

    max_batch_size: int = Field(4, ge=1, le=256)
    batch_wait_timeout_s: float = Field(0.05, ge=0.0, le=10.0)


class StageDeployment:
    """Mixin of every stage deployment (style guide §1): build the core object in `__init__`,
    map user_config onto the stage's options in `reconfigure`, hand work to a thread, answer
    `check_health` cheaply.

    Subclasses set `stage` and `config_model`, call `_setup(settings)` first in `__init__`, and
    override `_apply(config)` and `_check()` where they need to.
    """

    stage: ClassVar[str]
    config_model: ClassVar[type[BaseModel] | None] = None

    settings: Settings
    config: Any = None

    def _setup(self, settings: dict[str, Any] | None) -> Settings:
        """Build this replica's Settings (the builder's overrides win over the environment)."""
        route_core_logs_to_replica_log()
        self.settings = Settings.model_validate(settings or {})
        self.metrics = ReplicaMetrics(self.stage)
        self.heap = HeapReleaser()
        return self.settings

    def _then_release_heap(self, fn: Callable[[], T]) -> T:
        """`fn()`, then the heap it freed handed back to the OS (callytics_ray.memory), in the
        same worker thread so the event loop never waits on it."""
        try:
            return fn()
        finally:
            self.heap.after_work()

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Validate `user_config` and apply it; a bad value raises so the rollout fails visibly.

        Serve calls this after `__init__` and on every `serve deploy` that changes user_config,
        without restarting the replica.
        """
        if self.config_model is None:
            if user_config:
                raise ConfigError(f"{self.stage}: this deployment takes no user_config, got {sorted(user_config)}")
            return
        raw = dict(user_config or {})
        base = self._settings_options()
        if base is not None:
            # The settings' options (environment, builder args) are the base user_config updates,
            # so a config file lists only what it changes.
            options = raw.get("options") or {}
            if not isinstance(options, dict):
                raise ConfigError(f"{self.stage}: user_config.options must be a mapping, got {options!r}")
            raw["options"] = {**base.model_dump(), **options}
        try:
            config = self.config_model.model_validate(raw)
        except ValidationError as err:
            raise ConfigError(f"{self.stage}: invalid user_config: {_one_line(err)}") from None
        self._apply(config)
        self.config = config
        logger.info("%s: user_config applied: %s", self.stage, config.model_dump(mode="json", exclude_defaults=True))

    def _settings_options(self) -> BaseModel | None:
        """The stage's options as the settings give them (None: the config has no `options`)."""
        return None

    def _apply(self, config: Any) -> None:
        """Apply a validated config (batch limits, options); the default keeps it on self.config."""

    async def check_health(self) -> None:
        """Raise when the replica cannot serve. Never runs inference: Serve calls it every 10 s."""
        self._check()

    def _check(self) -> None:
        if self.config_model is not None and self.config is None:
            raise RuntimeError(f"{self.stage}: no user_config applied yet")

    async def model_name(self) -> str | None:
        """Which model or method this stage runs (CallAnalysis.models); None: not a model stage."""
        return None

    async def current_config(self) -> dict[str, Any]:
        """The user_config in effect on this replica (after validation and defaults)."""
        return self.config.model_dump(mode="json") if self.config is not None else {}

    async def library_versions(self, modules: list[str]) -> dict[str, str]:
        """`module.__version__` as this replica imports it: shows which runtime_env it runs in."""
        return {name: str(getattr(importlib.import_module(name), "__version__", "unknown")) for name in modules}

    async def _guarded(self, fn: Callable[[], T], *, record: bool = True) -> T | StageFailure:
        """One unbatched request: `fn` in a worker thread, the core's typed errors returned as a
        StageFailure, both recorded in `self.metrics` (unless `record` is off: work this replica
        does for another stage, which that stage's metrics count).

        Anything that is not a CallyticsError is raised as it is: it concerns only this caller,
        whom Serve hands it to (the batch rule, `callytics_ray.failures`, exists for batches).
        """
        started = time.perf_counter()
        try:
            result: T | StageFailure = await asyncio.to_thread(self._then_release_heap, fn)
        except CallyticsError as err:
            result = StageFailure(err)
        if record:
            # A result with a duration (ProcessedAudio) counts as audio processed.
            self._record(result, started, audio_s=getattr(result, "duration_s", None))
        return result

    async def _run_batch(
        self, batch_fn: Callable[[list[Item]], list[T | StageFailure]], items: list[Item]
    ) -> list[T | StageFailure]:
        """The body of every @serve.batch method: the core's length-preserving batch function in
        a worker thread, the batch's size recorded.

        The core answers every item under the batch rule (`callytics_ray.failures`); should the
        function itself raise, each item gets that failure, as the rule says for shared work.
        """
        self.metrics.batch(len(items))
        try:
            return await asyncio.to_thread(self._then_release_heap, lambda: batch_fn(items))
        except Exception as err:
            return [StageFailure.capture(self.stage, err)] * len(items)

    async def _submit(
        self, batched: Callable[[Item], Awaitable[T | StageFailure]], item: Item, *, audio_s: float | None = None
    ) -> T | StageFailure:
        """One request through a @serve.batch method, recorded in `self.metrics` (its wall time
        includes the wait for the batch; `audio_s` feeds the real-time factor)."""
        started = time.perf_counter()
        result = await batched(item)
        self._record(result, started, audio_s=audio_s)
        return result

    def _record(self, result: Any, started: float, *, audio_s: float | None) -> None:
        seconds = time.perf_counter() - started
        if isinstance(result, StageFailure):
            logger.warning("%s failed: %s", self.stage, result.error)
            self.metrics.request(seconds=seconds, reason=result.reason)
        else:
            self.metrics.request(seconds=seconds, audio_s=audio_s)


def route_core_logs_to_replica_log() -> None:
    """Send the core's `callytics_ray.*` loggers to the handlers Serve set up for this replica.

    Loggers are per process and Serve configures only "ray.serve", so without this the core's
    messages would go nowhere. Idempotent: one replica process, one set of handlers.
    """
    serve_logger = logging.getLogger("ray.serve")
    core = logging.getLogger("callytics_ray")
    for handler in serve_logger.handlers:
        if handler not in core.handlers:
            core.addHandler(handler)
    if core.level == logging.NOTSET:
        core.setLevel(logging.INFO)
    core.propagate = False


def _one_line(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
