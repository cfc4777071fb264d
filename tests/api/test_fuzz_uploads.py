"""Hostile uploads (issue 14): the whole fuzz corpus of bench/fuzz_corpus.py over real HTTP to the
gateway on 127.0.0.1. Every answer is a 4xx with a JSON reason, or a 202 whose call then fails with
a reason (or completes, for a harmless mutation); no 5xx, no hang, no call left unfinished, and
the same server still analyses a real recording afterwards.

The gateway runs the real audio stage on every case. Its model stages are held off while the
corpus is sent: no case reaches them differently from ordinary audio (they get decoded samples),
and on 2 cores each would cost seconds of recognition. A case whose audio decodes therefore ends
failed at `asr`; the last, normal call runs every stage for real.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.fuzz import FuzzSummary, send_corpus
from bench.fuzz_corpus import CONTAINERS, FuzzCase, base_clips, build_corpus, encode, silent_flac
from callytics_ray.api import LocalRunner, create_app
from callytics_ray.api.errors import UnsupportedMediaTypeError
from callytics_ray.api.upload import check_media_type, display_filename
from callytics_ray.errors import StageError
from callytics_ray.settings import ApiSettings
from callytics_ray.storage import CallFilter, CallStore
from callytics_ray.storage.keys import create_api_key
from tests.api.conftest import FAST_RETRY, running_server, with_api

pytest.importorskip("uvicorn")

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 20.0
MODEL_STAGES = ("asr", "diarization")


class ModelsHeldOff:
    """The session's real stages; recognition and diarization refuse (not retriable) until
    `models_on` is set, so a decodable fuzz case fails at once after the real audio stage."""

    def __init__(self, stages) -> None:
        self._stages = stages
        self.models_on = False

    def __getattr__(self, name: str):
        return getattr(self._stages, name)

    def _gate(self, stage: str) -> None:
        if not self.models_on:
            raise StageError(stage, "held off while the fuzz corpus is sent (the audio decoded)", retriable=False)

    async def transcribe(self, audio, language, variant=None, vocabulary=()):
        self._gate("asr")
        return await self._stages.transcribe(audio, language, variant, vocabulary)

    async def diarize(self, audio, min_speakers, max_speakers):
        self._gate("diarization")
        return await self._stages.diarize(audio, min_speakers, max_speakers)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-corpus")


@pytest.fixture(params=["postgres"])
def fuzz_store(request, tmp_path) -> Iterator[CallStore]:
    """A store of its own: a fresh PostgreSQL database (strict about NUL and lengths; the default
    run), or a SQLite file (the slow run)."""
    if request.param == "sqlite":
        store = CallStore.from_url(f"sqlite:///{tmp_path / 'fuzz.db'}")
        yield store
        store.engine.dispose()
        return
    import sqlalchemy as sa

    server = sa.create_engine(request.getfixturevalue("postgres_url"), isolation_level="AUTOCOMMIT")
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with server.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    store = CallStore.from_url(server.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.engine.dispose()
        with server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


@pytest.fixture()
def fuzz_server(fuzz_store, api_settings, local_stages) -> Iterator[tuple[str, str, ModelsHeldOff, CallStore]]:
    url = fuzz_store.engine.url.render_as_string(hide_password=False)
    settings = api_settings.model_copy(update={"database_url": url})
    settings = with_api(settings, max_upload_mb=4.0)
    backend = ModelsHeldOff(local_stages)
    app = create_app(settings, fuzz_store, LocalRunner(backend, fuzz_store, settings, retry=FAST_RETRY))
    secret, _ = create_api_key(fuzz_store.engine, tenant="fuzz", scopes=("submit", "read"))
    with running_server(app) as base_url:
        yield base_url, secret, backend, fuzz_store


def _assert_every_answer_explained(summary: FuzzSummary, cases: list[FuzzCase]) -> None:
    logger.info("%s", summary.report())
    print(summary.report())  # noqa: T201 - the summary is the point of this test when it is run by hand
    assert summary.sent == len(cases) >= 300
    assert summary.server_errors == 0 and summary.hangs == 0, summary.report()
    assert not summary.problems, summary.report()
    assert summary.alive
    decodable = {c.name for c in cases if c.decodable}
    for outcome in summary.outcomes:
        if outcome.outcome == "rejected":
            assert 400 <= outcome.status < 500 and outcome.reason, outcome
        elif outcome.reason.split(":")[0] in MODEL_STAGES:  # decoded: only a harmless mutation may
            assert outcome.case in decodable, f"{outcome.case} decoded as audio: {outcome}"
        else:
            assert outcome.outcome == "failed" and outcome.reason.startswith("audio:"), outcome
        assert outcome.seconds < REQUEST_TIMEOUT_S or outcome.status == 202, outcome


def _normal_call_completes(base_url: str, secret: str, backend: ModelsHeldOff, recording: Path) -> None:
    backend.models_on = True
    with httpx.Client(base_url=base_url, timeout=600) as client:
        reply = client.post("/v1/calls", headers={"Authorization": f"Bearer {secret}"}, params={"wait": "true"},
                            files={"file": ("call.wav", recording.read_bytes(), "audio/wav")})
    assert reply.status_code == 200 and reply.json()["status"] == "completed", reply.text
    assert reply.json()["result"]["segments"]


@pytest.mark.models
def test_fuzzed_uploads_get_a_reason_never_a_crash(fuzz_server, corpus_dir, data_dir, stereo_call_path):
    base_url, secret, backend, store = fuzz_server
    cases = build_corpus(data_dir, corpus_dir, seed=14)
    summary = send_corpus(base_url, secret, cases, request_timeout_s=REQUEST_TIMEOUT_S, finish_timeout_s=60.0)
    _assert_every_answer_explained(summary, cases)
    by_family = {o.case: o for o in summary.outcomes}
    # What a client sees for the cases the issue names.
    assert by_family["format/6ch-wav"].reason == "too_many_channels"
    assert by_family["format/0-samples-wav"].reason == "empty_audio"
    assert by_family["bomb/flac-silence-3.9h-declared"].reason == "overcompressed_audio"
    assert by_family["bomb/flac-silence-3.9h-undeclared"].reason == "audio:overcompressed_audio"
    assert by_family["bomb/flac-silence-6h-declared"].reason == "audio_too_long"
    assert by_family["multipart/two-file-parts"].status == 400
    # Hostile names are stored only as a display name: last component, printable, bounded.
    names = {c.source_name for c in store.list_calls(CallFilter(tenant="fuzz"), limit=500).items}
    assert "passwd.wav" in names and "call.wav" in names
    assert all(n and len(n) <= 255 and n.isprintable() and "/" not in n and "\\" not in n for n in names), names
    _normal_call_completes(base_url, secret, backend, stereo_call_path)


def test_a_decompression_bomb_is_refused_without_decoding_hours(tmp_path):
    """A FLAC of 3.9 h of silence in 24 KB, with and without its length in the header: refused at
    the gateway's probe, or by the audio stage after at most 10 minutes of samples."""
    import resource

    from callytics_ray.audio.processor import load_audio
    from callytics_ray.errors import OvercompressedAudioError

    bomb = silent_flac(3.9 * 3600, declare_length=False)
    assert len(bomb) < 64_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(OvercompressedAudioError, match="decompression bomb"):
        load_audio(bomb, name="bomb.flac")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300, f"decoding the bomb grew the process by {grown_mb:.0f} MB"


@pytest.mark.slow
@pytest.mark.models
@pytest.mark.parametrize("fuzz_store", ["sqlite"], indirect=True)
def test_large_fuzz_corpus(fuzz_server, corpus_dir, data_dir, stereo_call_path):
    base_url, secret, backend, _ = fuzz_server
    cases = build_corpus(data_dir, corpus_dir, seed=15, large=True)
    summary = send_corpus(base_url, secret, cases, request_timeout_s=REQUEST_TIMEOUT_S, finish_timeout_s=180.0)
    _assert_every_answer_explained(summary, cases)
    _normal_call_completes(base_url, secret, backend, stereo_call_path)


def test_corpus_is_deterministic_and_covers_every_container(corpus_dir, data_dir, tmp_path):
    first = build_corpus(data_dir, corpus_dir, seed=3)
    second = build_corpus(data_dir, corpus_dir, seed=3)
    assert [(c.name, c.body) for c in first] == [(c.name, c.body) for c in second]
    assert len(first) >= 300
    families = {c.name.split("/")[1] for c in first if c.family == "truncate"}
    assert families >= {"wav", "flac", "mp3", "m4a", "ogg", "opus", "webm"}
    # Encoded afresh, an Ogg file is the same bytes too (bitexact: fixed serial numbers, no tags).
    mono, _ = base_clips(data_dir, corpus_dir)
    args = CONTAINERS["opus"][1]
    assert encode(mono, tmp_path / "a.opus", args) == encode(mono, tmp_path / "b.opus", args)


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../etc/passwd.wav", "passwd.wav"),
    ("..\\..\\windows\\x.wav", "x.wav"),
    ("call\x00.wav", "call.wav"),
    ("call\r\nX-Injected: 1.wav", "callX-Injected: 1.wav"),
    ("\u202eVAW.exe.wav", "VAW.exe.wav"),
    ("..", "upload"),
    ("", "upload"),
    (None, "upload"),
    ("appel-été.wav", "appel-été.wav"),
])
def test_an_uploaded_name_is_kept_for_display_only(raw, shown):
    assert display_filename(raw) == shown


def test_a_huge_name_is_cut_to_255_characters_with_its_extension():
    assert display_filename("통화" * 5000 + ".wav") == "통화" * 125 + "통.wav"


def test_a_malformed_content_type_is_refused_and_a_good_one_normalised():
    api = ApiSettings()
    assert check_media_type("call.wav", "Audio/WAV; charset=x", api) == "audio/wav"
    for bad in ("audio/" + "x" * 300, "audio", "é/ü", "audio/wav\tx"):
        with pytest.raises(UnsupportedMediaTypeError):
            check_media_type("call.wav", bad, api)
