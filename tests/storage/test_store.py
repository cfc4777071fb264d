"""CallStore on a real SQLite file and a real PostgreSQL server: the same tests for both."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from callytics_ray.errors import NotFoundError
from sqlmodel import Session

from callytics_ray.result import (
    AudioResult, CallAnalysis, LoudnessPoint, NonTalkInstance, QualityResult, SegmentResult, SentimentResult,
    SpeakerQualityResult, TalkSpeedPoint, WordResult,
)
from callytics_ray.storage import CallFilter, CallStatus, CallStore
from callytics_ray.storage.tables import Analysis
from callytics_ray.storage.keys import create_api_key, revoke_api_key, verify_api_key


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> CallStore:
    if request.param == "sqlite":
        yield CallStore.from_url(f"sqlite:///{tmp_path / 'store.db'}")
        return
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import text

    schema = f"t_{uuid.uuid4().hex[:10]}"
    bootstrap = CallStore.from_url(url).engine
    with bootstrap.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    bootstrap.dispose()
    scoped = url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    yield CallStore.from_url(scoped)
    with CallStore.from_url(url).engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def analysis(call_id: str, *, language="en", duration=30.0, texts=("hello there", "my card was charged twice"),
             created_at=None) -> CallAnalysis:
    segments = []
    t = 0.0
    for i, text in enumerate(texts):
        words = [WordResult(start=t + j * 0.3, end=t + j * 0.3 + 0.25, text=w, probability=0.9)
                 for j, w in enumerate(text.split())]
        segments.append(SegmentResult(start=t, end=t + 2, text=text, words=words, speaker=f"SPEAKER_0{i % 2}",
                                      role="agent" if i % 2 == 0 else "customer",
                                      sentiment=SentimentResult(label="neutral", score=0.0)))
        t += 2.5
    return CallAnalysis(
        call_id=call_id, source=f"{call_id}.wav", language=language, language_probability=0.98,
        created_at=created_at or datetime.now(timezone.utc),
        audio=AudioResult(duration_s=duration, sample_rate_hz=8000, channels=1, codec="pcm_s16le", layout="mono",
                          snr_db=30, speech_ratio=0.7, noise_reduced=False, gain_db=3.0),
        segments=segments,
    )


def test_round_trip_keeps_the_contract(store):
    original = analysis("c-1")
    store.save_analysis(original)
    loaded = store.get_analysis("c-1")
    assert loaded.model_dump(exclude_none=True) == original.model_dump(exclude_none=True)
    record = store.get_call("c-1")
    assert record.status == CallStatus.COMPLETED and record.language == "en" and record.duration_s == 30.0


def test_audio_metrics_round_trip_and_results_stored_before_them_still_load(store):
    speakers = [SpeakerQualityResult(
        speaker=f"SPEAKER_0{i}", role=role, talk_time_s=4.0, talk_share=0.5, words=10, speaking_rate_wpm=150.0,
        interruptions_made=0, loudness_lufs=-23.5 - i,
        loudness=[LoudnessPoint(start=2.5 * i, end=2.5 * i + 2, lufs=-23.5 - i)],
        talk_speed=[TalkSpeedPoint(start=0.0, end=15.0, words=10, talk_time_s=4.0, wpm=150.0)],
    ) for i, role in enumerate(("agent", "customer"))]
    quality = QualityResult(duration_s=30.0, talk_share_by_role={"agent": 0.5, "customer": 0.5}, silence_ratio=0.7,
                            longest_silence_s=3.0, overtalk_s=0.0, overtalk_ratio=0.0, speakers=speakers,
                            non_talk_time_s=25.0, non_talk_ratio=0.8333,
                            non_talk=[NonTalkInstance(start=5.0, end=30.0, duration_s=25.0)])
    current = analysis("c-new").model_copy(update={"quality": quality})
    store.save_analysis(current)
    assert store.get_analysis("c-new").quality == quality
    # A result stored before these fields existed: its JSON has none of their keys.
    older = json.loads(current.model_dump_json(exclude_none=True))
    for key in ("non_talk_time_s", "non_talk_ratio", "non_talk"):
        older["quality"].pop(key)
    for party in older["quality"]["speakers"]:
        for key in ("loudness_lufs", "loudness", "talk_speed"):
            party.pop(key)
    store.save_analysis(analysis("c-old"))
    with Session(store.engine) as session:
        row = session.get(Analysis, "c-old")
        row.result_json = json.dumps({**older, "call_id": "c-old"})
        session.add(row)
        session.commit()
    loaded = store.get_analysis("c-old").quality
    assert loaded.non_talk_time_s is None and loaded.non_talk == []
    assert [(s.loudness_lufs, s.loudness, s.talk_speed) for s in loaded.speakers] == [(None, [], [])] * 2
    assert loaded.speakers[0].speaking_rate_wpm == 150.0


def test_saving_twice_replaces_utterances_and_index(store):
    store.save_analysis(analysis("c-1", texts=("first version",)))
    store.save_analysis(analysis("c-1", texts=("second version",)))
    assert [h.text for h in store.search("version")] == ["second version"]
    assert store.search("first") == []


def test_create_call_stores_audio_jobs_and_idempotency(store):
    record, created = store.create_call(tenant="acme", source_name="a.wav", audio=b"RIFF1234", idempotency_key="k1",
                                        stages=("audio", "asr"))
    assert created and record.status == CallStatus.QUEUED
    again, created_again = store.create_call(tenant="acme", audio=b"RIFF1234", idempotency_key="k1")
    assert not created_again and again.id == record.id
    other_tenant, created_other = store.create_call(tenant="globex", idempotency_key="k1")
    assert created_other and other_tenant.id != record.id
    assert store.get_audio(record.id) == (b"RIFF1234", "a.wav")
    assert [(s.stage, s.status) for s in store.stage_states(record.id)] == [("audio", "pending"), ("asr", "pending")]
    store.set_stage(record.id, "audio", "running")
    store.set_stage(record.id, "audio", "failed", error="boom", seconds=0.5)
    state = store.stage_states(record.id)[0]
    assert (state.status, state.attempts, state.error) == ("failed", 1, "boom")
    assert record.id in store.unfinished_calls()
    store.set_status(record.id, CallStatus.PARTIAL, error="asr: boom")
    assert record.id not in store.unfinished_calls()


def test_tenants_are_isolated(store):
    store.save_analysis(analysis("a-1", texts=("refund please",)), tenant="acme")
    store.save_analysis(analysis("g-1", texts=("refund now",)), tenant="globex")
    with pytest.raises(NotFoundError):
        store.get_call("a-1", tenant="globex")
    with pytest.raises(NotFoundError):
        store.get_analysis("a-1", tenant="globex")
    assert [h.call_id for h in store.search("refund", tenant="acme")] == ["a-1"]
    assert [c.id for c in store.list_calls(CallFilter(tenant="globex")).items] == ["g-1"]


def test_list_filters_and_pagination(store):
    now = datetime.now(timezone.utc)
    for i in range(7):
        store.save_analysis(analysis(f"c-{i}", language="ko" if i % 3 == 0 else "en", duration=10.0 * (i + 1),
                                     created_at=now - timedelta(days=i)))
    assert store.list_calls().total == 7
    korean = store.list_calls(CallFilter(language="ko"))
    assert {c.id for c in korean.items} == {"c-0", "c-3", "c-6"}
    long_calls = store.list_calls(CallFilter(min_duration_s=45, max_duration_s=65))
    assert {c.id for c in long_calls.items} == {"c-4", "c-5"}
    recent = store.list_calls(CallFilter(created_after=now - timedelta(days=2, hours=1)))
    assert {c.id for c in recent.items} == {"c-0", "c-1", "c-2"}
    page1 = store.list_calls(limit=3, offset=0)
    page3 = store.list_calls(limit=3, offset=6)
    assert [c.id for c in page1.items] == ["c-0", "c-1", "c-2"] and page1.total == 7
    assert [c.id for c in page3.items] == ["c-6"]


def test_full_text_search_finds_words_not_substrings(store):
    store.save_analysis(analysis("c-1", texts=("I was charged twice on my card", "let me check the account")))
    store.save_analysis(analysis("c-2", texts=("the weather is nice",)))
    hits = store.search("charged card")
    assert [(h.call_id, h.text) for h in hits] == [("c-1", "I was charged twice on my card")]
    assert hits[0].speaker == "SPEAKER_00"
    assert store.search("zebra") == []
    assert store.search('"; DROP TABLE calls; --') == []  # user text never reaches SQL/FTS syntax
    assert store.list_calls().total == 2


def test_korean_text_is_searchable(store):
    store.save_analysis(analysis("k-1", language="ko", texts=("카드 결제가 두 번 되었어요", "환불 도와드리겠습니다")))
    assert [h.call_id for h in store.search("환불")] == ["k-1"]


def test_delete_removes_everything(store):
    store.save_analysis(analysis("c-1"))
    store.delete_call("c-1")
    with pytest.raises(NotFoundError):
        store.get_call("c-1")
    assert store.search("hello") == [] and store.list_calls().total == 0


def test_api_keys_are_hashed_and_scoped(store):
    secret, record = create_api_key(store.engine, tenant="acme", scopes=("submit", "read"))
    found = verify_api_key(store.engine, secret)
    assert found is not None and found.tenant == "acme" and found.allows("read") and not found.allows("admin")
    assert verify_api_key(store.engine, secret + "x") is None
    assert verify_api_key(store.engine, "garbage") is None
    from sqlmodel import Session, select

    from callytics_ray.storage.tables import ApiKey

    with Session(store.engine) as session:
        stored = session.exec(select(ApiKey)).one()
        assert secret not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert revoke_api_key(store.engine, record.prefix)
    assert verify_api_key(store.engine, secret) is None


def test_search_applies_the_same_filters_as_listing(store):
    now = datetime.now(timezone.utc)
    for i in range(6):
        texts = ("please refund my card",) if i != 5 else ("the weather is nice",)
        store.save_analysis(analysis(f"c-{i}", language="ko" if i % 2 else "en", duration=10.0 * (i + 1),
                                     texts=texts, created_at=now - timedelta(days=i)),
                            status=CallStatus.PARTIAL if i == 4 else CallStatus.COMPLETED)
    store.save_analysis(analysis("g-1", texts=("refund",)), tenant="globex")
    refunds = {f"c-{i}" for i in range(5)}
    for filters in (
        CallFilter(tenant="default"), CallFilter(tenant="default", language="ko"),
        CallFilter(tenant="default", status="partial"), CallFilter(tenant="default", min_duration_s=25),
        CallFilter(tenant="default", max_duration_s=25), CallFilter(tenant="default", created_after=now - timedelta(days=2, hours=1)),
        CallFilter(tenant="default", created_before=now - timedelta(days=2, hours=1)),
    ):
        listed = {c.id for c in store.list_calls(filters).items} & refunds
        page = store.search_calls("refund", filters, max_hits=100)
        assert {c.id for c in page.items} == listed and page.total == len(listed), filters
        assert {h.call_id for h in page.hits} == listed and page.query == "refund"


def test_search_pages_and_hits_follow_the_ranking(store):
    for i in range(5):
        store.save_analysis(analysis(f"c-{i}", texts=("refund " * (i + 1),)))
    everything = store.search_calls("refund", max_hits=100)
    ranked = [c.id for c in everything.items]
    assert sorted(ranked) == [f"c-{i}" for i in range(5)] and everything.total == 5
    second = store.search_calls("refund", limit=2, offset=2, max_hits=100)
    assert [c.id for c in second.items] == ranked[2:4] and second.total == 5
    assert {h.call_id for h in second.hits} == set(ranked[2:4])
    # max_hits bounds how many utterances are looked at, so how many calls can match.
    assert store.search_calls("refund", max_hits=3).total == 3
    assert store.search_calls("zebra", max_hits=100).items == []


def test_a_read_only_engine_reads_but_refuses_writes(store):
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    from callytics_ray.storage import make_engine
    from callytics_ray.storage.tables import Call

    store.save_analysis(analysis("c-1"))
    reader = CallStore(make_engine(store.engine.url.render_as_string(hide_password=False), read_only=True))
    try:
        assert reader.get_call("c-1").status == CallStatus.COMPLETED
        assert [h.call_id for h in reader.search("hello")] == ["c-1"]
        with pytest.raises(DBAPIError):
            reader.set_status("c-1", CallStatus.FAILED)
        with pytest.raises(DBAPIError), reader.engine.begin() as conn:
            conn.execute(update(Call).values(status=CallStatus.FAILED))
        with pytest.raises(DBAPIError):
            reader.create_call(tenant="acme")
    finally:
        reader.engine.dispose()
    assert store.get_call("c-1").status == CallStatus.COMPLETED and store.list_calls().total == 1


def test_a_read_only_engine_needs_a_database_others_write():
    from callytics_ray.errors import ConfigError
    from callytics_ray.storage import make_engine

    with pytest.raises(ConfigError):
        make_engine("sqlite://", read_only=True)


def _with_quality(call: CallAnalysis, *, agent_share: float, longest_silence_s: float,
                  agent_interruptions: int, conflict: bool) -> CallAnalysis:
    from callytics_ray.result import AnalysisResult, ConflictResult, QualityResult, SpeakerQualityResult

    speakers = [
        SpeakerQualityResult(speaker="SPEAKER_00", role="agent", talk_time_s=10, talk_share=agent_share, words=30,
                             speaking_rate_wpm=180.0, interruptions_made=agent_interruptions),
        SpeakerQualityResult(speaker="SPEAKER_01", role="customer", talk_time_s=10, talk_share=1 - agent_share,
                             words=20, speaking_rate_wpm=120.0, interruptions_made=0),
    ]
    quality = QualityResult(duration_s=30, talk_share_by_role={"agent": agent_share, "customer": 1 - agent_share},
                            silence_ratio=0.2, longest_silence_s=longest_silence_s, overtalk_s=0.0,
                            overtalk_ratio=0.0, speakers=speakers)
    summary = AnalysisResult(summary="s", conflict=ConflictResult(flag=conflict), analyzer="offline", model="rules")
    return call.model_copy(update={"quality": quality, "analysis": summary})


def test_headline_facts_are_stored_listed_and_filtered_by_flag(store):
    store.save_analysis(_with_quality(analysis("calm"), agent_share=0.4, longest_silence_s=2.0,
                                      agent_interruptions=0, conflict=False))
    store.save_analysis(_with_quality(analysis("rough"), agent_share=0.7, longest_silence_s=12.5,
                                      agent_interruptions=4, conflict=True))
    rough = store.get_call("rough")
    assert rough.agent_talk_share == pytest.approx(0.7)
    assert rough.agent_interruptions == 4 and rough.agent_speaking_rate_wpm == pytest.approx(180.0)
    assert rough.flags == ["conflict", "long_silence", "interruptions"]
    assert store.get_call("calm").flags == []
    assert [c.id for c in store.list_calls(CallFilter(flag="long_silence")).items] == ["rough"]
    assert store.list_calls(CallFilter(flag="pii")).total == 0
    # "long" is not a flag, only a prefix of one: no call has it.
    assert store.list_calls(CallFilter(flag="long")).total == 0


def test_an_older_database_gains_the_new_columns(tmp_path):
    import sqlite3

    from callytics_ray.storage.db import add_missing_columns

    path = tmp_path / "old.db"
    store = CallStore.from_url(f"sqlite:///{path}")
    store.save_analysis(analysis("before"))
    store.engine.dispose()
    with sqlite3.connect(path) as conn:  # the calls table as an older release made it
        conn.execute("ALTER TABLE calls DROP COLUMN flags")
        conn.execute("ALTER TABLE calls DROP COLUMN agent_talk_share")
    reopened = CallStore.from_url(f"sqlite:///{path}")
    assert reopened.get_call("before").flags == []
    reopened.save_analysis(_with_quality(analysis("after"), agent_share=0.5, longest_silence_s=11.0,
                                         agent_interruptions=0, conflict=False))
    assert reopened.get_call("after").flags == ["long_silence"]
    assert add_missing_columns(reopened.engine) == []  # idempotent
