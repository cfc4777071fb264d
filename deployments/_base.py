"""What every stage deployment shares: settings per replica, user_config validation, health,
worker threads, logging into the replica's log file, and failures that cross processes as data."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callytics_ray.errors import AudioError, CallyticsError, ConfigError, LLMError, NotFoundError, StageError
from callytics_ray.settings import Settings
from deployments.metrics import ReplicaMetrics

logger = logging.getLogger("ray.serve")

T = TypeVar("T")
O = TypeVar("O", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class StageFailure:
    """A stage's typed failure, returned instead of raised.

    Core exceptions such as StageError do not survive pickling (their __init__ takes more than the
    message), and Serve wraps raised exceptions in RayTaskError; a plain record crosses replicas
    intact and the caller re-raises the exception the core meant (`to_error`).

    Attributes:
        stage: the stage that failed ("asr", "audio", ...).
        error_type: the exception class name.
        message: its one-line message.
        retriable: whether trying again may help.
        reason: AudioError's machine-readable reason, when it is one.
    """

    stage: str
    error_type: str
    message: str
    retriable: bool = True
    reason: str | None = None

    @classmethod
    def from_exception(cls, stage: str, err: BaseException) -> StageFailure:
        if isinstance(err, AudioError):
            return cls(stage, type(err).__name__, str(err), retriable=False, reason=err.reason)
        if isinstance(err, StageError):
            return cls(err.stage, type(err).__name__, str(err), retriable=err.retriable)
        retriable = not isinstance(err, (ConfigError, NotFoundError))
        return cls(stage, type(err).__name__, str(err), retriable=retriable)

    def to_error(self) -> CallyticsError:
        """The exception the caller raises: the same AudioError subclass, ConfigError, or StageError."""
        if self.reason is not None:
            return _audio_error_class(self.reason)(self.message)
        if self.error_type == "ConfigError":
            return ConfigError(self.message)
        if self.error_type == "NotFoundError":
            return NotFoundError(self.message)
        err: StageError = (
            LLMError("", retriable=self.retriable)
            if self.error_type == "LLMError"
            else StageError(self.stage, "", retriable=self.retriable)
        )
        # Keep the message as the replica wrote it (StageError would prefix "<stage> failed:" again).
        err.args = (self.message if self.error_type in {"StageError", "LLMError"} else f"{self.error_type}: {self.message}",)
        return err


def _audio_error_class(reason: str) -> type[AudioError]:
    pending = [AudioError]
    while pending:
        cls = pending.pop()
        if cls.reason == reason:
            return cls
        pending.extend(cls.__subclasses__())
    return AudioError


def unwrap(result: T | StageFailure) -> T:
    """The stage's result, or its failure raised as the core exception."""
    if isinstance(result, StageFailure):
        raise result.to_error()
    return result


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
        return self.settings

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

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking model work off the replica's event loop."""
        return await asyncio.to_thread(fn, *args)

    async def _guarded(self, fn: Callable[..., T], *args: Any) -> T | StageFailure:
        """`_in_thread`, with the core's typed errors returned as a StageFailure (both recorded
        in `self.metrics`; a result with a `duration_s`, such as ProcessedAudio, counts as audio)."""
        started = time.perf_counter()
        try:
            result = await asyncio.to_thread(fn, *args)
        except CallyticsError as err:
            logger.warning("%s failed: %s", self.stage, err)
            failure = StageFailure.from_exception(self.stage, err)
            self.metrics.request(seconds=time.perf_counter() - started, reason=failure.reason or failure.error_type)
            return failure
        self.metrics.request(seconds=time.perf_counter() - started, audio_s=getattr(result, "duration_s", None))
        return result


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
