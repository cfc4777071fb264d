"""The LLM's role judgement in the pipeline: run_call with stages that replay a known call (no
speech models) and the real LLM analyzer against the real local chat-completions server.

When the LLM moves the agent role, every per-party result (speakers, segments, quality, sentiment
by speaker, role confirmations) follows; a request's roles, the dual-channel mapping and a failed
endpoint leave the offline roles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from callytics_ray.llm import CallAnalyzer, LLMAnalyzer, OfflineAnalyzer
from callytics_ray.pipeline import CallRequest, RetryPolicy, run_call
from callytics_ray.sentiment import Sentiment
from callytics_ray.settings import LLMOptions, Settings
from callytics_ray.types import AudioInfo, SpeakerTurn, Transcript, TranscriptSegment, Utterance
from tests.nlp.conftest import chat_server, llm_server, make_utterance  # noqa: F401 (the server fixtures)

FAST = LLMOptions(timeout_s=5.0, max_retries=2, backoff_initial_s=0.01, backoff_max_s=0.05)

# The agent answers with the company name only, which the offline phrase lists do not know; the
# customer opens the call (not with a bare "hello?", which would mark them as the one who picked
# up): offline evidence points (weakly) the wrong way.
CALL = [
    ("A", "Hi, good morning."),
    ("B", "Globex, good morning."),
    ("A", "Hi, I got charged for the same thing twice this month."),
    ("B", "Let me see. Yes, the second charge is an error, it is reversed now."),
    ("A", "Great, thanks."),
]


class ReplayedCall:
    """Stages that return a known call: the words and turns of `lines`, neutral sentiment except
    for complaints; the analysis runs the real CallAnalyzer."""

    def __init__(self, lines: Sequence[tuple[str, str]], analyzer: CallAnalyzer, *, dual: bool = False) -> None:
        self.utterances: list[Utterance] = []
        t = 0.5
        for speaker, text in lines:
            label = f"CHANNEL_{ord(speaker) - ord('A')}" if dual else speaker
            self.utterances.append(make_utterance(label, text, t))
            t = self.utterances[-1].end + 0.8
        self.dual, self.analyzer = dual, analyzer
        self.info = AudioInfo(t, 8000, 2 if dual else 1, "pcm_s16le", "wav", "dual" if dual else "mono", 30.0, 0.6)

    async def process_audio(self, request):
        return self.info, None

    async def transcribe(self, audio, language, variant=None, vocabulary=()):
        segments = tuple(
            TranscriptSegment(u.start, u.end, u.text, u.words, channel=int(u.speaker[-1]) if self.dual else None)
            for u in self.utterances
        )
        return Transcript(segments, "en", 0.99, "replayed", self.info.duration_s)

    async def diarize(self, audio, min_speakers, max_speakers):
        return [SpeakerTurn(u.start - 0.1, u.end + 0.1, u.speaker) for u in self.utterances]

    async def punctuate(self, utterances, language):
        return tuple(utterances)

    async def classify_sentiment(self, texts):
        negative, neutral = Sentiment("negative", -0.7, (0.8, 0.2, 0.0)), Sentiment("neutral", 0.0, (0.0, 1.0, 0.0))
        return tuple(negative if "charged" in t else neutral for t in texts)

    async def analyze_conversation(self, utterances, roles, sentiments, quality):
        return await asyncio.to_thread(self.analyzer.analyze, utterances, roles, sentiments, quality, options=FAST)

    async def stage_models(self):
        return {}


@pytest.fixture()
def llm(llm_server):
    llm_server.agent_pattern = r"globex, good morning"  # a model that knows a company greeting
    client = LLMAnalyzer(base_url=llm_server.base_url, api_key="k", model="m")
    return CallAnalyzer(offline=OfflineAnalyzer(), llm=client)


def _run(backend: ReplayedCall, **request) -> object:
    call = CallRequest(call_id="call-1", source=b"", name="replayed.wav", **request)
    return asyncio.run(run_call(call, backend, settings=Settings(_env_file=None), retry=RetryPolicy(attempts=1)))


def _offline_roles(lines=CALL, **request) -> dict[str, tuple[str, float]]:
    analysis = _run(ReplayedCall(lines, CallAnalyzer(offline=OfflineAnalyzer())), **request)
    return {s.speaker: (s.role, s.role_confidence) for s in analysis.speakers}


def test_offline_alone_gets_this_call_wrong_and_is_unsure():
    roles = _offline_roles()
    assert roles["A"][0] == "agent" and roles["B"][0] == "customer"
    assert roles["A"][1] < 0.9  # weak enough for the LLM's capped judgement (0.9) to outweigh


def test_the_llm_moves_the_agent_role_and_every_per_party_result_follows(llm):
    analysis = _run(ReplayedCall(CALL, llm))
    assert analysis.errors is None and analysis.analysis.analyzer == "llm"
    assert {s.speaker: s.role for s in analysis.speakers} == {"A": "customer", "B": "agent"}
    offline_confidence = _offline_roles()["A"][1]
    assert 0.5 < analysis.speakers[0].role_confidence < 0.9
    # Log-odds: the offline 'A is agent' against the LLM's 0.9 for B.
    odds = (offline_confidence / (1 - offline_confidence)) / 9.0
    assert analysis.speakers[0].role_confidence == pytest.approx(1 - odds / (1 + odds), abs=0.002)
    assert {s.speaker: s.role for s in analysis.segments} == {"A": "customer", "B": "agent"}
    assert {s.speaker: s.role for s in analysis.quality.speakers} == {"A": "customer", "B": "agent"}
    share_b = next(s.talk_share for s in analysis.quality.speakers if s.speaker == "B")
    assert analysis.quality.talk_share_by_role["agent"] == pytest.approx(share_b, abs=1e-3)
    assert {s.speaker: s.role for s in analysis.sentiment.speakers} == {"A": "customer", "B": "agent"}
    customer = next(s for s in analysis.sentiment.speakers if s.role == "customer")
    assert customer.speaker == "A" and customer.score < 0  # the complaint is the customer's
    assert all(c.agrees for c in analysis.analysis.roles)


def test_a_failing_endpoint_leaves_the_offline_roles(llm, llm_server):
    llm_server.script = ["http500"] * 3
    analysis = _run(ReplayedCall(CALL, llm))
    assert "HTTP 500" in analysis.errors["llm"] and analysis.analysis.analyzer == "offline"
    assert {s.speaker: (s.role, s.role_confidence) for s in analysis.speakers} == _offline_roles()


def test_the_request_roles_win_over_the_llm(llm):
    analysis = _run(ReplayedCall(CALL, llm), roles={"A": "agent", "B": "customer"})
    assert {s.speaker: (s.role, s.role_confidence) for s in analysis.speakers} == {
        "A": ("agent", 1.0), "B": ("customer", 1.0)}
    assert not all(c.agrees for c in analysis.analysis.roles)  # the disagreement stays visible


def test_dual_channel_roles_stay_channel_mapped(llm):
    analysis = _run(ReplayedCall(CALL, llm, dual=True), agent_channel=0)
    assert {s.speaker: (s.role, s.role_confidence) for s in analysis.speakers} == {
        "CHANNEL_0": ("agent", 1.0), "CHANNEL_1": ("customer", 1.0)}
