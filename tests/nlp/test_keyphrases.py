"""Offline topics as keyphrases on real transcripts: the shared recordings' own transcripts (the
bleed call's read prompts, stereo_diarization's two sentences), the shared double-charge call, and
(slow) the real pipeline on the bleed call's audio. Names said in a call never become topics."""

from __future__ import annotations

import json
import re

import pytest

from callytics_ray.llm.keyphrases import KeyphraseExtractor, Vocabulary
from callytics_ray.model_store import resolve_model
from callytics_ray.text.encoder import load_sentence_encoder
from callytics_ray.text.names import spoken_names
from tests.synth import DOUBLE_CHARGE_CALL

BLEED_NAMES = {"philip", "steels", "phil", "tom", "whittemore", "whitmore"}


@pytest.fixture(scope="module")
def encoder(session_settings):
    path = resolve_model(session_settings.sentiment.embedding_model, kind="sentence-embedding",
                         cache_dir=session_settings.cache_dir, offline=True)
    return load_sentence_encoder(path, "cpu", cache_dir=session_settings.cache_dir)


@pytest.fixture(scope="module", params=["keybert", "yake"])
def extractor(request, encoder) -> KeyphraseExtractor:
    return KeyphraseExtractor(encoder if request.param == "keybert" else None)


@pytest.fixture(scope="module")
def bleed_turns(data_dir) -> list[str]:
    return [t["text"] for t in json.loads((data_dir / "synthetic_stereo_call_bleed.json").read_text())["turns"]]


def said_contiguously(topic: str, texts: list[str]) -> bool:
    """Whether the topic's words follow each other in one utterance (no fragment across dropped words)."""
    pattern = r"\b" + r"\W+".join(re.escape(w) for w in topic.split()) + r"(?:'s)?\b"
    return any(re.search(pattern, t.lower().replace("’", "'")) for t in texts)


def test_names_said_in_the_call_are_found(bleed_turns):
    assert {"Philip", "Steels", "Phil", "Tom", "Whittemore"} <= spoken_names(bleed_turns)
    lines = ["Thank you for calling, my name is Sarah Jones.", "Hi Sarah, this is Priya.", "Thanks, Mike.",
             "Mr. Patel asked for it.", "안녕하세요 상담원 김민수입니다", "박지영 고객님 확인했습니다"]
    assert {"Sarah", "Jones", "Priya", "Mike", "Patel", "김민수", "박지영"} <= spoken_names(lines)
    # Capitalised for other reasons: sentence starts, "I'm", days.
    assert not spoken_names(["Refund it on Monday. Please do.", "I'm sure I'll call back."])


def test_topics_of_the_bleed_call_are_phrases_without_its_names(extractor, bleed_turns):
    topics = extractor.topics(bleed_turns)
    assert len(topics) == 5
    assert not {w for t in topics for w in t.split()} & BLEED_NAMES, topics
    assert "danger trail" in topics and "men shook hands" in topics, topics
    assert all(said_contiguously(t, bleed_turns) for t in topics), topics


def test_topics_of_stereo_diarization_are_phrases(extractor, data_dir):
    # The recording's two sentences, as the shared data's README gives them.
    texts = ["He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
             "The horizon seems extremely distant."]
    topics = extractor.topics(texts)
    assert sum(len(t.split()) > 1 for t in topics) >= 2, topics
    assert all(said_contiguously(t, texts) for t in topics), topics
    assert {"confused complaint", "vanished behind", "wizard"} & set(topics), topics


def test_topics_of_the_double_charge_call(extractor):
    texts = [text for _, text in DOUBLE_CHARGE_CALL]
    topics = extractor.topics(texts)
    assert {"double charge", "duplicate charge", "charged twice"} & set(topics), topics
    assert sum(len(t.split()) > 1 for t in topics) >= 3, topics
    assert not {w for t in topics for w in t.split()} & {"john", "acme", "bank", "four", "one", "help", "today"}
    assert all(said_contiguously(t, texts) for t in topics), topics


def test_masks_numbers_and_filler_never_become_topics(extractor):
    texts = ["Hello, my name is Dana. Let me ask my colleague, one moment please.",
             "My card [CARD] was declined at the petrol station, the number is 0770 900 123.",
             "Okay, so the card was declined at the petrol station twice, yeah.",
             "I see, the declined payment was flagged by fraud protection. I have unblocked the card."]
    topics = extractor.topics(texts)
    words = {w for t in topics for w in t.split()}
    assert not words & {"dana", "colleague", "let", "moment", "ask", "okay", "yeah", "[card]", "card]"}, topics
    assert not any(ch.isdigit() for t in topics for ch in t), topics
    assert {"petrol station", "fraud protection", "declined payment"} & set(topics), topics


def test_korean_topics_leave_names_and_endings_out(encoder):
    texts = ["안녕하세요 고객센터 상담원 김민수입니다 무엇을 도와드릴까요",
             "카드 분실 신고를 하려고 전화했어요 어제 지갑을 잃어버렸어요",
             "네 박지영 고객님 카드 분실 신고 접수해 드리겠습니다"]
    topics = KeyphraseExtractor(encoder).topics(texts)
    assert topics[0] == "카드 분실 신고", topics
    assert not any(name in t for t in topics for name in ("김민수", "박지영")), topics
    assert not any(t.endswith(("니다", "요", "까")) for t in topics), topics


def test_the_vocabulary_drops_a_name_but_keeps_the_same_word_in_lower_case():
    vocabulary = Vocabulary.of(["My name is Bill.", "My bill is wrong."])
    assert not vocabulary.content("Bill") and vocabulary.content("bill")


def test_sentiment_and_the_offline_analyzer_share_one_encoder(session_settings):
    from callytics_ray.llm import CallAnalyzer
    from callytics_ray.sentiment import SentimentClassifier

    classifier = SentimentClassifier.from_settings(session_settings)
    analyzer = CallAnalyzer.from_settings(session_settings)
    assert classifier._model._encoder is analyzer._offline._encoder


@pytest.mark.slow
def test_the_pipeline_on_the_bleed_recording_keeps_names_out_of_topics(session_settings, local_stages, data_dir):
    from callytics_ray.pipeline import analyze_file

    call = analyze_file(data_dir / "synthetic_stereo_call_bleed.wav", session_settings, stages=local_stages)
    texts = [s.text for s in call.segments]
    said = {n.lower() for n in spoken_names(texts)}
    topics = call.analysis.topics
    assert call.analysis.analyzer == "offline" and len(topics) >= 3
    assert not {w for t in topics for w in t.split()} & (said | BLEED_NAMES), (topics, texts)
    assert any(len(t.split()) > 1 for t in topics) and all(said_contiguously(t, texts) for t in topics), topics
