"""Fixtures of the NLP tests: hand-made utterances, the local chat-completions server, models."""

from __future__ import annotations

import pytest

from callytics_ray.types import SpeakerRole, Utterance, Word
from tests.nlp.llm_server import ChatServer
from tests.synth import DOUBLE_CHARGE_CALL


def make_utterance(speaker: str, text: str, start: float, *, word_s: float = 0.3, gap_s: float = 0.05,
                   pauses: dict[int, float] | None = None) -> Utterance:
    """An utterance with evenly timed words (`pauses[i]` after word i overrides the gap)."""
    words, t = [], start
    for i, token in enumerate(text.split()):
        words.append(Word(round(t, 3), round(t + word_s, 3), " " + token, 0.9))
        t += word_s + (pauses or {}).get(i, gap_s)
    return Utterance(words[0].start, words[-1].end, speaker, text, tuple(words))


def double_charge_utterances() -> tuple[list[Utterance], list[SpeakerRole]]:
    """The shared double-charge dialogue as timed utterances (agent SPEAKER_00)."""
    utterances, t = [], 0.5
    for role, text in DOUBLE_CHARGE_CALL:
        u = make_utterance("SPEAKER_00" if role == "agent" else "SPEAKER_01", text, t)
        utterances.append(u)
        t = u.end + 0.6
    roles = [SpeakerRole("SPEAKER_00", "agent", 0.9, 25.0), SpeakerRole("SPEAKER_01", "customer", 0.9, 15.0)]
    return utterances, roles


@pytest.fixture(scope="session")
def chat_server():
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture()
def llm_server(chat_server):
    chat_server.reset()
    return chat_server


@pytest.fixture(scope="session")
def sentiment_classifier(session_settings):
    from callytics_ray.sentiment import SentimentClassifier

    return SentimentClassifier.from_settings(session_settings)
