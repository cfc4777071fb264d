"""The audio_redaction stage in run_call, with stages that replay a known call (no speech models)
over a real recording and a real SQLite store: a copy with PII, one without, and the failures that
must leave the call partial (never failed or lost) with the copy marked unavailable and why."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callytics_ray.audio.redact import redact_recording
from callytics_ray.errors import StageError
from callytics_ray.llm import CallAnalyzer, OfflineAnalyzer
from callytics_ray.pipeline import CallRequest, RetryPolicy, run_call
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus, CallStore
from tests.pipeline.test_llm_roles import ReplayedCall

WITH_CARD = [("A", "Thanks for calling, how can I help?"), ("B", "My card is 4111 1111 1111 1111 and it was declined.")]
WITHOUT_PII = [("A", "Thanks for calling, how can I help?"), ("B", "I would like to change my address please.")]


class RecordedCall(ReplayedCall):
    """The replayed call's words over a real recording: the copy is made from real audio."""

    def __init__(self, lines, recording: Path, *, broken: bool = False) -> None:
        super().__init__(lines, CallAnalyzer(offline=OfflineAnalyzer()))
        self.recording, self.broken, self.redacted = recording, broken, []

    async def redact_audio(self, request, spans):
        self.redacted.append(tuple(spans))
        if self.broken:
            raise StageError("audio_redaction", "the audio-processor replica died")
        options = Settings(_env_file=None).audio.redaction
        return await asyncio.to_thread(redact_recording, self.recording.read_bytes(), spans, options)


@pytest.fixture()
def store(tmp_path):
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'calls.db'}")
    yield store
    store.engine.dispose()


def _run(store: CallStore, backend, **settings_changes):
    request = CallRequest(call_id="call-1", source=b"", name="replayed.wav")
    store.create_call(call_id="call-1", source_name="replayed.wav")
    settings = Settings(_env_file=None, **settings_changes)
    return asyncio.run(run_call(request, backend, settings=settings, store=store,
                                retry=RetryPolicy(attempts=2, backoff_s=0.01)))


def _stage(store: CallStore) -> tuple[str, str | None]:
    state = next(s for s in store.stage_states("call-1") if s.stage == "audio_redaction")
    return state.status, state.error


def test_a_card_number_is_bleeped_at_its_words_seconds(store, stereo_call_path):
    backend = RecordedCall(WITH_CARD, stereo_call_path)
    analysis = _run(store, backend)
    assert store.get_call("call-1").status == CallStatus.COMPLETED and _stage(store)[0] == "done"
    (card,) = analysis.redactions
    assert card.type == "card" and len(backend.redacted) == 1
    assert [(s.start_s, s.end_s) for s in backend.redacted[0]] == [(card.start_s, card.end_s)]
    copy = store.recording_info("call-1").redacted
    assert copy.state == "redacted" and copy.spans[0].timing == "words" and copy.content_type == "audio/flac"
    assert (copy.spans[0].start_s, copy.spans[0].end_s) == (card.start_s, card.end_s)
    data, content_type, _ = store.get_redacted_audio_media("call-1")
    assert data[:4] == b"fLaC" and content_type == "audio/flac"


def test_without_pii_the_original_is_the_copy_and_nothing_is_encoded(store, stereo_call_path):
    backend = RecordedCall(WITHOUT_PII, stereo_call_path)
    analysis = _run(store, backend)
    assert analysis.redactions == [] and backend.redacted == []
    copy = store.recording_info("call-1").redacted
    assert copy.state == "identical" and "no PII" in copy.reason and _stage(store)[0] == "done"


def test_a_failed_copy_leaves_the_call_partial_and_says_why(store, stereo_call_path):
    backend = RecordedCall(WITH_CARD, stereo_call_path, broken=True)
    analysis = _run(store, backend)
    assert len(backend.redacted) == 2  # retried like any remote stage
    assert "the audio-processor replica died" in analysis.errors["audio_redaction"]
    record = store.get_call("call-1")
    assert record.status == CallStatus.PARTIAL and "audio_redaction" in record.error
    assert analysis.segments and analysis.redactions  # the rest of the analysis is stored
    copy = store.recording_info("call-1").redacted
    assert copy.state == "unavailable" and "the audio-processor replica died" in copy.reason
    assert store.get_redacted_audio_media("call-1") is None
    assert _stage(store)[0] == "failed"


def test_when_pii_redaction_fails_no_copy_is_made(store, stereo_call_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the redactor crashed")

    # The redaction stage itself breaking (a bug): where the PII is, is unknown.
    monkeypatch.setattr("callytics_ray.pipeline.orchestrator.redact_utterances", crash)
    backend = RecordedCall(WITH_CARD, stereo_call_path)
    _run(store, backend)
    assert backend.redacted == [] and store.get_call("call-1").status == CallStatus.PARTIAL
    copy = store.recording_info("call-1").redacted
    assert copy.state == "unavailable" and "PII redaction failed" in copy.reason
    assert _stage(store) == ("skipped", copy.reason)
