"""A stage's failure as a value: what the batched core APIs return per item, and what crosses Ray.

The batch rule, the same for every batched stage (`transcribe_batch`, `diarize_batch`,
`classify_batch`) and for the deployments that batch over them:

- a `CallyticsError` raised for an item is that item's `StageFailure`, carrying the exception;
- any other `Exception` (a library bug, CUDA running out of memory) becomes a retriable
  `StageError` of the stage, for the item it was raised on or, when it broke work the items
  shared (one forward pass for several calls), for each of those items;
- a `BaseException` that is not an `Exception` (cancellation, interpreter exit) is never caught.

A batch answers every item because Serve sets one exception on every future of a batch: a raise
would fail calls that had nothing to do with it. An unbatched stage call on Serve returns its
CallyticsError the same way and lets anything else raise, since only its one caller is concerned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from callytics_ray.errors import AudioError, CallyticsError, StageError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StageFailure:
    """One item's failure, returned instead of raised.

    The exception itself travels: CallyticsError pickles with its attributes (`errors.py`,
    `__reduce__`), so the caller re-raises exactly what the stage raised, in-process or on the
    far side of a Serve handle.

    Attributes:
        error: the core exception.

    Example:
        >>> failure = StageFailure.capture("asr", RuntimeError("CUDA out of memory"))
        >>> failure.reason, failure.error.retriable
        ('StageError', True)
    """

    error: CallyticsError

    @classmethod
    def capture(cls, stage: str, err: Exception) -> StageFailure:
        """`err` under the batch rule: a CallyticsError as it is, anything else a retriable StageError."""
        if isinstance(err, CallyticsError):
            return cls(err)
        logger.error("%s: unexpected %s", stage, type(err).__name__, exc_info=err)
        wrapped = StageError(stage, f"{type(err).__name__}: {err}")
        wrapped.__cause__ = err  # in-process tracebacks show the original; pickling drops it
        return cls(wrapped)

    @property
    def reason(self) -> str:
        """A stable label for metrics: the AudioError's reason, else the exception's class name."""
        return self.error.reason if isinstance(self.error, AudioError) else type(self.error).__name__

    def __str__(self) -> str:
        return str(self.error)


def attempt(stage: str, fn: Callable[[], T]) -> T | StageFailure:
    """`fn()`, or its failure under the batch rule: how a batch isolates one item."""
    try:
        return fn()
    except Exception as err:
        return StageFailure.capture(stage, err)


def unwrap(result: T | StageFailure) -> T:
    """The stage's result, or its failure raised as the core exception it carries."""
    if isinstance(result, StageFailure):
        raise result.error
    return result
