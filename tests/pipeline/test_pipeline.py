"""The in-process pipeline end to end: real models, real SQLite, stage states and failure handling."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from callytics_ray.errors import NotAudioError
from callytics_ray.pipeline import STAGES, CallRequest, RetryPolicy, analyze_file, run_call
from callytics_ray.storage import CallStatus, CallStore

pytestmark = pytest.mark.models


def test_analyze_file_stores_a_complete_call(settings, local_stages, stereo_call_path):
    store = CallStore.from_url(settings.database_url)
    events = []
    analysis = analyze_file(stereo_call_path, settings, stages=local_stages, store=store,
                            hook=lambda stage, event, s: events.append((stage, event)))
    assert ("audio", "done") in events and ("asr", "done") in events
    assert analysis.audio.layout == "dual" and analysis.language == "en"
    assert {s.channel for s in analysis.segments} == {0, 1}
    # Each party speaks on its own channel, at the same time: the channel decides the speaker.
    assert {(s.channel, s.speaker) for s in analysis.segments} == {(0, "CHANNEL_0"), (1, "CHANNEL_1")}
    assert {s.speaker: s.role for s in analysis.speakers} == {"CHANNEL_0": "agent", "CHANNEL_1": "customer"}
    horizon = next(s for s in analysis.segments if "horizon" in s.text.lower())
    assert horizon.channel == 1 and horizon.role == "customer"
    assert set(analysis.timings) >= {"audio", "asr"} and analysis.models["asr"] == "bundled:whisper-base"
    record = store.get_call(analysis.call_id)
    assert record.status == CallStatus.COMPLETED and record.source_name == "stereo_diarization.wav"
    assert store.get_analysis(analysis.call_id).segments == analysis.segments
    assert all(s.status == "done" for s in store.stage_states(analysis.call_id))
    assert store.search("horizon")[0].call_id == analysis.call_id


def test_bad_audio_is_stored_as_failed_with_the_reason(settings, local_stages, tmp_path):
    store = CallStore.from_url(settings.database_url)
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio at all")
    with pytest.raises(NotAudioError):
        analyze_file(bogus, settings, stages=local_stages, store=store)
    [record] = store.list_calls().items
    assert record.status == CallStatus.FAILED and "not a readable audio file" in record.error
    audio_state = store.stage_states(record.id)[0]
    assert audio_state.stage == "audio" and audio_state.status == "failed" and audio_state.attempts == 1


class FlakyTranscriber:
    """Wraps the real stages; the recognizer's first `failures` calls die like a crashed replica."""

    def __init__(self, inner, failures: int):
        self.inner, self.failures, self.calls = inner, failures, 0

    async def process_audio(self, request):
        return await self.inner.process_audio(request)

    async def transcribe(self, audio, language, variant=None, vocabulary=()):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("replica died")
        return await self.inner.transcribe(audio, language, variant, vocabulary)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _request(store, path) -> CallRequest:
    call_id = str(uuid.uuid4())
    store.create_call(call_id=call_id, source_name=path.name, stages=STAGES)
    return CallRequest(call_id=call_id, source=path, name=path.name)


def test_a_stage_that_fails_once_is_retried(settings, local_stages, stereo_call_path):
    store = CallStore.from_url(settings.database_url)
    backend = FlakyTranscriber(local_stages, failures=1)
    request = _request(store, stereo_call_path)
    analysis = asyncio.run(run_call(request, backend, settings=settings, store=store,
                                    retry=RetryPolicy(attempts=3, backoff_s=0.01)))
    assert analysis.errors is None and analysis.segments
    asr = [s for s in store.stage_states(request.call_id) if s.stage == "asr"][0]
    assert asr.status == "done" and asr.attempts == 2 and backend.calls == 2


def test_a_stage_that_keeps_failing_leaves_a_retriable_call(settings, local_stages, stereo_call_path):
    store = CallStore.from_url(settings.database_url)
    request = _request(store, stereo_call_path)
    analysis = asyncio.run(run_call(request, FlakyTranscriber(local_stages, failures=99),
                                    settings=settings, store=store,
                                    retry=RetryPolicy(attempts=2, backoff_s=0.01)))
    assert "replica died" in analysis.errors["asr"]
    record = store.get_call(request.call_id)
    assert record.status == CallStatus.FAILED and "asr" in record.error
    stored = store.get_analysis(request.call_id)
    assert stored.audio is not None and stored.audio.layout == "dual"  # what succeeded is kept
    # The same call, retried once the recognizer is healthy again, completes.
    retried = asyncio.run(run_call(request, local_stages, settings=settings, store=store))
    assert retried.errors is None and store.get_call(request.call_id).status == CallStatus.COMPLETED


def test_a_calls_language_hint_reaches_the_local_recognizer(settings, local_stages, stereo_call_path):
    request = CallRequest(call_id=str(uuid.uuid4()), source=stereo_call_path, name="call.wav", language="ko")
    analysis = asyncio.run(run_call(request, local_stages, settings=settings, retry=RetryPolicy(attempts=1)))
    assert analysis.language == "ko" and analysis.language_probability == 1.0  # forced, not detected


def test_the_local_recognizer_owns_its_options_and_the_request_wins(settings, transcriber, stereo_call_path):
    from callytics_ray.audio import load_audio
    from callytics_ray.pipeline import LocalStages

    settings.asr.options.language = "ko"  # what `callytics analyze --language ko` sets
    stages = LocalStages(settings, transcriber=transcriber)
    audio = load_audio(stereo_call_path)
    assert asyncio.run(stages.transcribe(audio, None)).language == "ko"
    assert asyncio.run(stages.transcribe(audio, "en")).language == "en"
