"""The contract between the gateway and the stage deployments: per-item failures that carry the
core's exception, and the one batch helper.

The first tests need neither a cluster nor models; the last runs on the session's cluster.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from callytics_ray.errors import SilentAudioError, StageError
from deployments._base import StageDeployment, StageFailure, unwrap
from tests.core_errors import one_of_each, same_error


class _Metrics:
    """What a replica's ReplicaMetrics would be told (the real one needs a Serve replica)."""

    def __init__(self) -> None:
        self.requests: list[tuple[float | None, str | None]] = []
        self.batches: list[int] = []

    def request(self, *, seconds: float, audio_s: float | None = None, reason: str | None = None) -> None:
        self.requests.append((audio_s, reason))

    def batch(self, size: int) -> None:
        self.batches.append(size)


class _Stage(StageDeployment):
    """A bare StageDeployment: the mixin's batch helper without Ray or a model."""

    stage = "demo"

    def __init__(self) -> None:
        self.metrics = _Metrics()


def _silent_when_negative(items: list[int]) -> list[int | StageFailure]:
    return [i if i >= 0 else StageFailure(SilentAudioError(f"clip {i} is silent")) for i in items]


def test_batch_helper_gives_each_caller_its_own_result_and_records_it():
    stage = _Stage()

    async def batched(item: int):  # @serve.batch would hand both items to one _run_batch
        return (await stage._run_batch(_silent_when_negative, [item]))[0]

    async def both():
        return await asyncio.gather(stage._submit(batched, 3, audio_s=3.0), stage._submit(batched, -1, audio_s=1.0))

    ok, failed = asyncio.run(both())
    assert ok == 3 and isinstance(failed.error, SilentAudioError)
    with pytest.raises(SilentAudioError):
        unwrap(failed)
    assert stage.metrics.requests == [(3.0, None), (None, "silent_audio")] and stage.metrics.batches == [1, 1]


def test_batch_helper_fails_every_item_when_the_core_batch_itself_raises():
    stage = _Stage()

    def crash(items: list[int]) -> list[int]:
        raise MemoryError("the model ran out of memory")

    failures = asyncio.run(stage._run_batch(crash, [1, 2, 3]))
    assert len(failures) == 3 and stage.metrics.batches == [3]
    assert all(isinstance(f.error, StageError) and f.error.retriable and f.error.stage == "demo" for f in failures)
    assert "MemoryError: the model ran out of memory" in str(failures[0])


def test_unbatched_requests_return_core_errors_and_raise_the_rest():
    stage = _Stage()

    def refuse():
        raise SilentAudioError("call.wav is silent")

    def bug():
        raise KeyError("options")

    assert isinstance(asyncio.run(stage._guarded(refuse)).error, SilentAudioError)
    with pytest.raises(KeyError):  # one caller's own: Serve hands it to that caller
        asyncio.run(stage._guarded(bug))
    assert stage.metrics.requests == [(None, "silent_audio")]


@pytest.mark.serve
def test_every_core_error_crosses_a_ray_process_boundary(ray_driver):
    @ray_driver.remote(num_cpus=0)
    def echo(failures: list[StageFailure]) -> tuple[int, list[StageFailure]]:
        # Unpickled here, in a worker, and pickled again for the way back.
        return os.getpid(), [StageFailure(f.error) for f in failures]

    sent = [StageFailure(error) for error in one_of_each()]
    pid, back = ray_driver.get(echo.remote(sent), timeout=120)
    assert pid != os.getpid()
    assert [type(f.error) for f in back] == [type(f.error) for f in sent]
    assert all(same_error(b.error, s.error) for b, s in zip(back, sent, strict=True))
