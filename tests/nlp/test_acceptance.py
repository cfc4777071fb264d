"""Issue 4 acceptance through the pipeline: an espeak-ng agent/customer dialogue about a double
charge with a card number read out -> two speakers, the agent role, negative customer sentiment
early, the card number masked everywhere it is stored or sent, and a summary and topics about
the double charge; with the offline analyzer and with a local OpenAI-protocol server.

Runs once the pipeline diarizes (CallAnalysis.speakers set) and composes the NLP step
(callytics_ray.pipeline.assemble); until then it is skipped with the reason (tests/nlp/test_conversation.py covers the NLP step on
the same recognised speech with reference speaker turns).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from callytics_ray.settings import LLMOptions, LLMSettings, RedactionOptions
from tests.synth import DOUBLE_CHARGE_CALL, build_dialogue

pytestmark = [pytest.mark.models, pytest.mark.slow]

CARD_DIGITS = re.compile(r"4111|1111|four one one one|one one one one", re.IGNORECASE)


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("acceptance") / "double_charge.wav"
    build_dialogue(DOUBLE_CHARGE_CALL, path)
    return path


def _stored_text(db_path: Path) -> str:
    """Every text value in every table of the database, FTS indexes included."""
    values = []
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            try:
                rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.DatabaseError:  # FTS shadow tables that cannot be read directly
                continue
            values += [v for row in rows for v in row if isinstance(v, str)]  # not audio blobs
    return "\n".join(values)


def _analyse(path: Path, settings, transcriber):
    from callytics_ray.pipeline import LocalStages, analyze_file
    from callytics_ray.storage import CallStore

    store = CallStore.from_url(settings.database_url)
    stages = LocalStages(settings, transcriber=transcriber)
    call = analyze_file(path, settings, stages=stages, store=store, language="en")
    if call.speakers is None:
        # Diarization and roles are not part of the pipeline yet; once they are, everything
        # below must hold (a missing NLP result then fails instead of skipping).
        pytest.skip("the pipeline does not diarize yet (CallAnalysis.speakers is None)")
    return call, store


def _check(call, db_path: Path) -> None:
    assert len(call.speakers) == 2
    roles = {s.speaker: s.role for s in call.speakers}
    assert sorted(roles.values()) == ["agent", "customer"]
    assert call.segments[0].role == "agent"  # the agent greets first
    customer = next(s for s in call.sentiment.speakers if s.role == "customer")
    assert customer.trajectory[0].label == "negative"
    assert any(r.type == "card" for r in call.redactions)
    assert not CARD_DIGITS.search(call.to_json())
    assert not CARD_DIGITS.search(_stored_text(db_path)), "card digits were stored"
    assert re.search(r"charged twice|double charge|duplicate charge", call.analysis.summary, re.I)
    assert any("charge" in t for t in call.analysis.topics)


def test_acceptance_offline(dialogue, settings, transcriber):
    settings = settings.model_copy(update={"redaction": RedactionOptions(before_storage=True)})
    call, _ = _analyse(dialogue, settings, transcriber)
    _check(call, Path(settings.database_url.removeprefix("sqlite:///")))
    assert call.analysis.analyzer == "offline"


def test_acceptance_with_local_openai_server(dialogue, settings, transcriber, llm_server):
    settings = settings.model_copy(update={
        "redaction": RedactionOptions(before_storage=True),
        "llm": LLMSettings(base_url=llm_server.base_url, model="local-model", options=LLMOptions(timeout_s=10)),
    })
    call, _ = _analyse(dialogue, settings, transcriber)
    _check(call, Path(settings.database_url.removeprefix("sqlite:///")))
    assert call.analysis.analyzer == "llm" and call.errors is None
    sent = json.dumps([r["body"] for r in llm_server.requests])
    assert llm_server.requests and "[CARD]" in sent and not CARD_DIGITS.search(sent)
