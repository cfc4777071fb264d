"""Rubric `llm` items judged by an OpenAI-protocol LLM, over the analyzer's client (its retries,
timeouts, repair turn and strict JSON-schema output).

All of a call's questions go in one request. The model answers each with a verdict, the number
of an utterance and a verbatim quote from it; the quote is then looked up in that utterance of
the stored transcript (normalised tokens, fuzzy with rapidfuzz to forgive punctuation and a
slipped word) and only a quote found there makes a pass or fail. Its seconds and words are read
from the transcript, never from the model. cannot_tell, an unverifiable quote, invalid output or
a failing endpoint: not_assessed with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from callytics_ray.errors import LLMError
from callytics_ray.judgement import Judgement, QuoteSpan
from callytics_ray.llm.client import AnswerFormat, LLMAnalyzer
from callytics_ray.llm.tokens import estimate_tokens
from callytics_ray.result import CallAnalysis, SegmentResult
from callytics_ray.settings import LLMOptions, RedactionOptions, Settings
from callytics_ray.text.redaction import redact_text
from callytics_ray.text.tokens import tokenize

logger = logging.getLogger(__name__)

# How closely (rapidfuzz ratio over normalised tokens, 0-100) a run of the utterance's words must
# match the quote: high enough that a paraphrase fails, low enough for a dropped comma or "its/it's".
QUOTE_MIN_SIMILARITY = 90.0

SYSTEM_PROMPT = (
    "You are a quality-assurance analyst for a call centre. You read the transcript of one phone call, "
    "one numbered utterance per line with its start and end in seconds and who spoke, and answer every "
    "numbered question about it. For each question: verdict pass when the transcript shows the answer "
    "is yes, fail when it shows no, cannot_tell when it does not show either. With pass or fail, give "
    "the number of the one utterance that shows it best and a quote copied word for word from that "
    "utterance (a few words to one sentence; never paraphrase, never join utterances). With "
    "cannot_tell, give utterance 0 and an empty quote. Masks such as [CARD] stand for removed personal "
    "data; never guess it. Answer with one JSON object that follows the given schema."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemAnswer(_Strict):
    question: int = Field(description="the question's number")
    verdict: Literal["pass", "fail", "cannot_tell"]
    utterance: int = Field(description="the number of the quoted utterance; 0 with cannot_tell")
    quote: str = Field(description="words copied verbatim from that utterance; empty with cannot_tell")
    reason: str = Field(description="one short sentence: why the quote decides the question")


class ItemAnswers(_Strict):
    answers: list[ItemAnswer] = Field(description="one answer per question")


ANSWER_FORMAT = AnswerFormat(ItemAnswers, "rubric_item_answers", "record_rubric_item_answers",
                             "Record one answer per question.")


class RubricJudge:
    """`ItemJudge` (callytics_ray.judgement) over an OpenAI-protocol endpoint.

    Example:
        >>> judge = RubricJudge.from_settings(settings)
        >>> [j.verdict for j in judge.judge(["Did the agent greet the customer?"], analysis)]
        ['pass']
    """

    def __init__(self, llm: LLMAnalyzer, *, options: LLMOptions | None = None,
                 redaction: RedactionOptions | None = None) -> None:
        self._llm = llm
        self._options = options or LLMOptions()
        self._redaction = redaction or RedactionOptions()

    @classmethod
    def from_settings(cls, settings: Settings) -> RubricJudge:
        """Raises ConfigError when `llm.base_url` is not set (no judge offline)."""
        return cls(LLMAnalyzer.from_settings(settings), options=settings.llm.options, redaction=settings.redaction)

    @property
    def model(self) -> str:
        return self._llm.model

    def judge(self, questions: Sequence[str], analysis: CallAnalysis) -> list[Judgement]:
        """One answer per question, in order; never raises for the model or the endpoint."""
        if not analysis.segments:
            return [Judgement.unassessed("the call has no transcript to judge")] * len(questions)
        prompt = self._prompt(questions, analysis)
        if estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(prompt) > self._options.token_budget:
            return [Judgement.unassessed("the transcript is longer than llm.options.token_budget allows "
                                         "in one request, and judging does not split a call")] * len(questions)
        try:
            answer, _ = self._llm.ask(SYSTEM_PROMPT, prompt, ANSWER_FORMAT, options=self._options)
        except LLMError as err:
            logger.warning("call %s: the LLM did not judge its rubric items: %s", analysis.call_id, err)
            return [Judgement.unassessed(f"the LLM did not answer: {err}")] * len(questions)
        by_number: dict[int, ItemAnswer] = {}
        for item in answer.answers:
            by_number.setdefault(item.question, item)
        return [verify(by_number.get(n), analysis) for n in range(1, len(questions) + 1)]

    def _prompt(self, questions: Sequence[str], analysis: CallAnalysis) -> str:
        lines = []
        for number, segment in enumerate(analysis.segments, start=1):
            who = segment.role or segment.speaker or "unknown"
            text = " ".join(segment.text.split())
            if self._options.redact_before_send:
                text = redact_text(text, self._redaction).text
            lines.append(f"{number}. [{segment.start:.1f}-{segment.end:.1f} s] {who}: {text}")
        asked = [f"Q{number}. {' '.join(q.split())}" for number, q in enumerate(questions, start=1)]
        return "Transcript:\n" + "\n".join(lines) + "\n\nQuestions:\n" + "\n".join(asked)


def verify(answer: ItemAnswer | None, analysis: CallAnalysis) -> Judgement:
    """The model's answer as a Judgement: pass or fail only with its quote found in the utterance
    it names (numbered from 1 in the prompt)."""
    if answer is None:
        return Judgement.unassessed("the LLM gave no answer to this question")
    if answer.verdict == "cannot_tell":
        return Judgement.unassessed(f"the LLM could not tell: {answer.reason}")
    if not 1 <= answer.utterance <= len(analysis.segments):
        return Judgement.unassessed(f"the LLM quoted utterance {answer.utterance}, which the call does not have")
    span = locate_quote(analysis.segments[answer.utterance - 1], answer.quote)
    if span is None:
        return Judgement.unassessed(f"the LLM's quote '{answer.quote}' is not in utterance {answer.utterance}, "
                                    f"so its {answer.verdict} is not taken")
    return Judgement(verdict=answer.verdict, reason=answer.reason,
                     quote=QuoteSpan(utterance=answer.utterance - 1, first_word=span[0], last_word=span[1],
                                     quote=answer.quote, similarity=span[2]))


def locate_quote(segment: SegmentResult, quote: str) -> tuple[int | None, int | None, float] | None:
    """(first word, last word, similarity) of the run of `segment`'s words most like `quote`,
    or None below QUOTE_MIN_SIMILARITY. Word indices are None when the utterance has no word
    timings (the whole utterance is the evidence then)."""
    wanted = tokenize(quote)
    if not wanted:
        return None
    if segment.words:
        units = [(i, token) for i, w in enumerate(segment.words) for token in tokenize(w.text)]
    else:
        units = [(None, token) for token in tokenize(segment.text)]
    target = " ".join(wanted)
    best: tuple[float, int, int, int] | None = None  # (similarity, -length difference, first, last unit)
    for length in range(max(1, len(wanted) - 2), min(len(units), len(wanted) + 2) + 1):
        for first in range(len(units) - length + 1):
            similarity = fuzz.ratio(" ".join(t for _, t in units[first: first + length]), target)
            candidate = (similarity, -abs(length - len(wanted)), first, first + length - 1)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None or best[0] < QUOTE_MIN_SIMILARITY:
        return None
    return units[best[2]][0], units[best[3]][0], best[0]
