"""The contract between the gateway and the stage deployments: per-item failures that carry the
core's exception, the one batch helper, and a call's hints as the only thing the gateway sends.

The first tests need neither a cluster nor models; the last two run on the session's cluster.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from callytics_ray.errors import ConfigError, SilentAudioError, StageError
from callytics_ray.memory import HeapReleaser
from callytics_ray.types import Transcript
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
        self.heap = HeapReleaser()


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
    # The two batches run in worker threads side by side: either may be recorded first.
    assert sorted(stage.metrics.requests, key=repr) == sorted([(3.0, None), (None, "silent_audio")], key=repr)
    assert stage.metrics.batches == [1, 1]


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


def test_work_for_another_stage_is_not_counted_as_this_stages_requests():
    # The sentiment-analyzer embeds for the llm-analyzer: those are not sentiment requests.
    stage = _Stage()

    def refuse():
        raise SilentAudioError("call.wav is silent")

    assert asyncio.run(stage._guarded(lambda: 7, record=False)) == 7
    assert isinstance(asyncio.run(stage._guarded(refuse, record=False)).error, SilentAudioError)
    assert stage.metrics.requests == []
    assert asyncio.run(stage._guarded(lambda: 7)) == 7 and stage.metrics.requests == [(None, None)]


class _Recognizer:
    """A recognizer's DeploymentHandle as the gateway uses it: records what is sent."""

    def __init__(self, answer) -> None:
        self.sent: list[tuple] = []
        self._answer = answer
        self.transcribe = self

    def remote(self, *args):
        self.sent.append(args)

        async def response():
            return self._answer

        return response()


def test_the_gateway_sends_the_recognizer_only_the_calls_hints():
    from deployments.serve_stages import ServeStages, StageHandles

    others = dict.fromkeys(("audio", "diarizer", "punctuation", "sentiment", "llm"))
    transcript = Transcript((), "ko", 1.0, "bundled:whisper-base", 3.0)
    recognizer = _Recognizer(transcript)
    stages = ServeStages(StageHandles(recognizers={"base": recognizer}, **others))
    assert asyncio.run(stages.transcribe("audio-ref", "ko")) is transcript
    assert asyncio.run(stages.transcribe("audio-ref", None, None, ["Zentrafy"])) is transcript
    # The language and the vocabulary, no options: they are the recognizer's own.
    assert recognizer.sent == [("audio-ref", "ko", ()), ("audio-ref", None, ("Zentrafy",))]

    refusing = _Recognizer(StageFailure(ConfigError("Whisper does not know language 'xx'")))
    stages = ServeStages(StageHandles(recognizers={"base": refusing}, **others))
    with pytest.raises(ConfigError, match="'xx'"):
        asyncio.run(stages.transcribe("audio-ref", "xx", "base"))


def test_the_gateway_routes_each_variant_to_its_own_recognizer_and_refuses_unknown_ones():
    from deployments.serve_stages import ServeStages, StageHandles

    others = dict.fromkeys(("audio", "diarizer", "punctuation", "sentiment", "llm"))
    base = _Recognizer(Transcript((), "en", 1.0, "bundled:whisper-base", 3.0))
    tiny = _Recognizer(Transcript((), "en", 1.0, "bundled:whisper-tiny.en", 3.0))
    stages = ServeStages(StageHandles(recognizers={"base": base, "tiny": tiny}, **others))

    assert asyncio.run(stages.transcribe("ref-1", "en", "tiny")).model == "bundled:whisper-tiny.en"
    assert asyncio.run(stages.transcribe("ref-2", None, None)).model == "bundled:whisper-base"
    assert (base.sent, tiny.sent) == ([("ref-2", None, ())], [("ref-1", "en", ())])
    with pytest.raises(ConfigError, match="unknown speech-recognizer variant 'gone'; deployed: base, tiny"):
        asyncio.run(stages.transcribe("ref-3", "en", "gone"))


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


@pytest.mark.serve
@pytest.mark.models
def test_a_calls_language_reaches_the_recognizer_and_its_refusal_comes_back_typed(
    deployed, ray_driver, stereo_call_path: Path
):
    from callytics_ray.audio import load_audio
    from tests.serve.conftest import handle

    ref = ray_driver.put(load_audio(stereo_call_path))  # as the gateway passes it: a reference
    recognizer = handle("speech-recognizer-base")
    assert unwrap(recognizer.transcribe.remote(ref).result(timeout_s=300)).language == "en"
    assert unwrap(recognizer.transcribe.remote(ref, "ko").result(timeout_s=300)).language == "ko"
    refused = recognizer.transcribe.remote(ref, "xx").result(timeout_s=300)
    assert isinstance(refused, StageFailure) and isinstance(refused.error, ConfigError)
    assert "'xx'" in str(refused.error)
