"""The redacted copy on Serve, in process (no cluster): the gateway's ServeStages sends the call's
recording and spans to the audio-processor deployment's `redact`, which follows its live
user_config; arguments and answers are pickled as a process boundary would."""

from __future__ import annotations

import asyncio
import io
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callytics_ray.audio.redact import AudioSpan
from callytics_ray.errors import NotAudioError
from callytics_ray.pipeline.request import CallRequest
from deployments.audio import AudioProcessorDeployment
from deployments.serve_stages import ServeStages, StageHandles


class _Method:
    def __init__(self, fn) -> None:
        self.fn = fn

    def remote(self, *args):
        args = pickle.loads(pickle.dumps(args))

        async def answer():
            return pickle.loads(pickle.dumps(await self.fn(*args)))

        return answer()


class _AudioHandle:
    """`handle.redact.remote(request, spans)` over a deployment instance in this process."""

    def __init__(self, deployment) -> None:
        self.redact = _Method(deployment.redact)


@pytest.fixture()
def deployment():
    core = logging.getLogger("callytics_ray")
    saved = (list(core.handlers), core.level, core.propagate)
    try:
        deployment = AudioProcessorDeployment.func_or_class({})
        deployment.reconfigure({})  # as Serve does after __init__ (the builder always sets a user_config)
        yield deployment
    finally:
        core.handlers[:], core.propagate = saved[0], saved[2]
        core.setLevel(saved[1])


def _stages(deployment) -> ServeStages:
    unused = object()
    return ServeStages(StageHandles(audio=_AudioHandle(deployment), recognizers={"base": unused}, diarizer=unused,
                                    punctuation=unused, sentiment=unused, llm=unused))


def test_the_audio_processor_makes_the_copy_with_its_live_options(deployment, stereo_call_path: Path):
    deployment.reconfigure({"options": {"redaction": {"mode": "silence", "pad_s": 0.1}}})
    # A path is read on the gateway: the replica may run on another machine.
    request = CallRequest(call_id="c-1", source=stereo_call_path, name=None)
    copy = asyncio.run(_stages(deployment).redact_audio(request, [AudioSpan(1.0, 2.0)]))
    assert copy.mode == "silence" and copy.pad_s == 0.1 and copy.channels == 2
    redacted, rate = sf.read(io.BytesIO(copy.data), dtype="int16")
    original, _ = sf.read(stereo_call_path, dtype="int16")
    assert not redacted[int(0.9 * rate):int(2.1 * rate)].any()
    assert np.array_equal(redacted[: int(0.9 * rate)], original[: int(0.9 * rate)])


def test_a_bad_recording_comes_back_as_its_core_error(deployment):
    request = CallRequest(call_id="c-1", source=b"RIFF\x00\x00not audio at all", name="broken.wav")
    # A StageFailure crosses back; unwrap raises the core's own error, which the orchestrator records.
    with pytest.raises(NotAudioError, match="broken.wav is not a readable audio file"):
        asyncio.run(_stages(deployment).redact_audio(request, [AudioSpan(1.0, 2.0)]))
