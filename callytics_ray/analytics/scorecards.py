"""QA scorecards: a rubric (data: items with weights and checks) scored on one call.

An item's check is a rule ("must match" / "must not match"), one of the built-in checks for what
needs ordering logic rules cannot say (empathy after the customer's first negative utterance,
one step before another, every long silence announced), or `llm`. Each item ends as:

    pass / fail      assessed, with the evidence (seconds and words) that decided it
    not_applicable   the situation did not arise (no negative utterance, no long silence)
    not_assessed     the call lacks what the check needs (no roles, no sentiment), or no judge
                     answered an llm item with a quote found in the transcript: never a made-up pass

The score is the weighted share of passes among the assessed items (pass or fail), 0-100.

`llm` items are answered by an `ItemJudge` (callytics_ray.judgement; the LLM one lives in
callytics_ray.llm.judge) when the caller gives one: all of a call's questions in one request,
each pass or fail backed by a quote verified in the stored transcript, whose words and seconds
become the evidence.

Example:
    >>> card = score(builtin_rubric(), analysis)
    >>> card = score(builtin_rubric(), analysis, judge=RubricJudge.from_settings(settings))
    >>> card.score, [(i.id, i.status) for i in card.items]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callytics_ray.analytics.conversation import Conversation
from callytics_ray.analytics.evidence import (
    Evidence,
    EvidenceWord,
    PhraseEvidence,
    RuleResult,
    SilenceEvidence,
    UtteranceEvidence,
)
from callytics_ray.analytics.rules import NAME_PATTERN, MatchOptions, PhraseCondition, Phrases, Rule, Window
from callytics_ray.judgement import ItemJudge, Judgement, QuoteSpan
from callytics_ray.result import CallAnalysis

logger = logging.getLogger(__name__)

ItemStatus = Literal["pass", "fail", "not_assessed", "not_applicable"]

_NO_ROLES = "the call's roles are not known (no diarization), so the agent's part cannot be told apart"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Outcome(_Model):
    """What a check concluded on one call."""

    status: ItemStatus
    reason: str
    evidence: list[Evidence] = []


class RuleCheck(_Model):
    """The item passes when `rule` matches (`expect: match`) or when it does not (`no_match`)."""

    kind: Literal["rule"] = "rule"
    rule: Rule
    expect: Literal["match", "no_match"] = "match"

    def assess(self, conversation: Conversation) -> Outcome:
        result = self.rule.evaluate(conversation)
        if result.matched is None:
            return Outcome(status="not_assessed", reason=result.unknown or "the rule could not be decided")
        passed = result.matched == (self.expect == "match")
        found = "matched" if result.matched else "did not match"
        return Outcome(status="pass" if passed else "fail", reason=f"the rule {found}", evidence=result.evidence)


class EmpathyAfterNegativeCheck(MatchOptions):
    """The agent says an empathy phrase within `within_s` after the customer's first negative
    utterance (from its start, so an agent answering over the customer counts)."""

    kind: Literal["empathy_after_negative"] = "empathy_after_negative"
    phrases: Phrases
    within_s: float = Field(20.0, gt=0, description="seconds after the negative utterance ends")

    def assess(self, conversation: Conversation) -> Outcome:
        if not conversation.roles_known:
            return Outcome(status="not_assessed", reason=_NO_ROLES)
        if not conversation.sentiment_known:
            return Outcome(status="not_assessed", reason="the call's utterances have no sentiment")
        negative = next((t for t in conversation.turns if t.role == "customer" and t.sentiment is not None
                         and t.sentiment.label == "negative"), None)
        if negative is None:
            return Outcome(status="not_applicable", reason="the customer said nothing negative")
        cue = UtteranceEvidence(utterance=negative.index, speaker=negative.speaker, role=negative.role,
                                start=negative.start, end=negative.end, text=negative.text,
                                sentiment=negative.sentiment.label, sentiment_score=negative.sentiment.score)
        window = Window(from_s=negative.start, to_s=negative.end + self.within_s)
        empathy = PhraseCondition(phrases=self.phrases, speaker="agent", window=window, match=self.match,
                                  threshold=self.threshold).hits(conversation)
        if isinstance(empathy, str):
            return Outcome(status="not_assessed", reason=empathy)
        if empathy:
            return Outcome(status="pass", evidence=[cue, empathy[0]],
                           reason=f"the agent said '{empathy[0].text}' at {empathy[0].start:.1f} s, after the "
                                  f"customer's negative utterance at {negative.start:.1f} s")
        return Outcome(status="fail", evidence=[cue],
                       reason=f"no empathy phrase by the agent within {self.within_s:g} s after the customer's "
                              f"first negative utterance at {negative.start:.1f} s")


class OrderCheck(_Model):
    """`first` happens before `then` does (e.g. identity verification before account details).
    Not applicable when `then` never happens."""

    kind: Literal["before"] = "before"
    first: PhraseCondition
    then: PhraseCondition

    def assess(self, conversation: Conversation) -> Outcome:
        later = self.then.hits(conversation)
        if isinstance(later, str):
            return Outcome(status="not_assessed", reason=later)
        if not later:
            return Outcome(status="not_applicable", reason="what must come second never came up")
        earlier = self.first.hits(conversation)
        if isinstance(earlier, str):
            return Outcome(status="not_assessed", reason=earlier)
        cue = later[0]
        before = [e for e in earlier if e.start <= cue.start]
        if before:
            return Outcome(status="pass", evidence=[before[0], cue],
                           reason=f"'{before[0].text}' at {before[0].start:.1f} s came before '{cue.text}' at "
                                  f"{cue.start:.1f} s")
        return Outcome(status="fail", evidence=[cue, *earlier[:1]],
                       reason=f"'{cue.text}' at {cue.start:.1f} s came first"
                              + (f"; '{earlier[0].text}' only at {earlier[0].start:.1f} s" if earlier else ""))


class SilenceAnnouncedCheck(MatchOptions):
    """Every silence over `min_silence_s` is announced: the agent says one of `phrases` within
    `within_s` before it (a hold). Not applicable when there is no such silence."""

    kind: Literal["silence_announced"] = "silence_announced"
    min_silence_s: float = Field(10.0, gt=0)
    phrases: Phrases
    within_s: float = Field(30.0, gt=0, description="how long before the silence the announcement may come")

    def assess(self, conversation: Conversation) -> Outcome:
        if not conversation.roles_known:
            return Outcome(status="not_assessed", reason=_NO_ROLES)
        gaps = conversation.silences(self.min_silence_s)
        if not gaps:
            return Outcome(status="not_applicable", reason=f"no silence over {self.min_silence_s:g} s")
        announced: list[Evidence] = []
        unannounced: list[Evidence] = []
        for start, end in gaps:
            window = Window(from_s=max(0.0, start - self.within_s), to_s=start + 1e-3)
            hits = PhraseCondition(phrases=self.phrases, speaker="agent", window=window, match=self.match,
                                   threshold=self.threshold).hits(conversation)
            silence = SilenceEvidence(start=round(start, 3), end=round(end, 3), duration_s=round(end - start, 3))
            if hits:
                announced += [hits[-1], silence]
            else:
                unannounced.append(silence)
        if unannounced:
            times = ", ".join(f"{s.start:.1f} s ({s.duration_s:.1f} s)" for s in unannounced)
            return Outcome(status="fail", evidence=unannounced, reason=f"silence not announced at {times}")
        return Outcome(status="pass", evidence=announced, reason=f"all {len(gaps)} long silences were announced")


class LlmCheck(_Model):
    """Judged by an LLM (`ItemJudge`) that quotes its evidence: a pass or fail stands only with a
    quote found in the stored transcript, whose words and seconds are the evidence. Without a
    judge, or when it could not back its answer, the item is not assessed (never a made-up pass)."""

    kind: Literal["llm"] = "llm"
    question: str = Field(min_length=1, max_length=2000)

    def assess(self, conversation: Conversation, judgement: Judgement | None = None) -> Outcome:
        if judgement is None:
            return Outcome(status="not_assessed",
                           reason="needs an LLM judge (llm.base_url), and none is configured for scoring")
        if judgement.verdict == "not_assessed" or judgement.quote is None:
            return Outcome(status="not_assessed", reason=judgement.reason)
        evidence = _quote_evidence(conversation, judgement.quote)
        if evidence is None:
            return Outcome(status="not_assessed", reason="the judge's quote does not point into this call's transcript")
        return Outcome(status=judgement.verdict, evidence=[evidence],
                       reason=f"the LLM judged {judgement.verdict}: {judgement.reason} (quoting utterance "
                              f"{evidence.utterance + 1} at {evidence.start:.1f} s: '{evidence.text}')")


def _quote_evidence(conversation: Conversation, quote: QuoteSpan) -> PhraseEvidence | None:
    """The quoted words as the stored transcript has them (its seconds, never the judge's)."""
    segments = conversation.analysis.segments
    if not 0 <= quote.utterance < len(segments):
        return None
    segment = segments[quote.utterance]
    if quote.first_word is None or quote.last_word is None:
        start, end, text, words = segment.start, segment.end, segment.text.strip(), []
    else:
        if not 0 <= quote.first_word <= quote.last_word < len(segment.words):
            return None
        said = segment.words[quote.first_word: quote.last_word + 1]
        start, end = said[0].start, said[-1].end
        text = " ".join(w.text.strip() for w in said)
        words = [EvidenceWord(text=w.text.strip(), start=w.start, end=w.end) for w in said]
    return PhraseEvidence(utterance=quote.utterance, speaker=segment.speaker, role=segment.role, start=start,
                          end=end, phrase=quote.quote, text=text, words=words, score=round(quote.similarity, 1))


Check = Annotated[
    RuleCheck | EmpathyAfterNegativeCheck | OrderCheck | SilenceAnnouncedCheck | LlmCheck,
    Field(discriminator="kind"),
]


class RubricItem(_Model):
    """One line of a rubric. With `applies_when`, the item is not applicable on calls where that
    rule does not match (and not assessed where it cannot be decided)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    description: str = Field(min_length=1, max_length=500)
    weight: float = Field(1.0, gt=0, le=100)
    check: Check
    applies_when: Rule | None = None

    def assess(self, conversation: Conversation, judgements: Mapping[str, Judgement] | None = None) -> Outcome:
        """`judgements`: the judge's answers by question (`judge_questions`), for an llm check."""
        if self.applies_when is not None:
            gate: RuleResult = self.applies_when.evaluate(conversation)
            if gate.matched is None:
                return Outcome(status="not_assessed", reason=f"applies_when: {gate.unknown}")
            if not gate.matched:
                return Outcome(status="not_applicable", reason="applies_when did not match")
        if isinstance(self.check, LlmCheck):
            return self.check.assess(conversation, (judgements or {}).get(self.check.question))
        return self.check.assess(conversation)

    def asks(self, conversation: Conversation) -> str | None:
        """The question this item puts to a judge on this call (an llm check that applies), else None."""
        if not isinstance(self.check, LlmCheck):
            return None
        if self.applies_when is not None and not self.applies_when.evaluate(conversation).matched:
            return None
        return self.check.question


class Rubric(_Model):
    """A QA rubric. `version` 0 is a built-in rubric; stored versions count from 1."""

    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(0, ge=0)
    description: str = Field("", max_length=2000)
    items: list[RubricItem] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        ids = [i.id for i in self.items]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"item ids must be unique; repeated: {', '.join(duplicated)}")
        return self


class ItemResult(_Model):
    id: str
    description: str
    weight: float
    status: ItemStatus
    reason: str
    evidence: list[Evidence] = []


class Scorecard(_Model):
    """One call scored on one rubric version.

    Attributes:
        score: 0-100, the weighted share of passed items among the assessed ones; None when no
            item could be assessed.
    """

    rubric: str
    rubric_version: int
    score: float | None
    passed: int
    failed: int
    not_assessed: int
    not_applicable: int
    items: list[ItemResult]


def judge_questions(judge: ItemJudge | None, rubrics: Sequence[Rubric],
                    conversation: Conversation) -> dict[str, Judgement]:
    """The judge's answers to every llm question of `rubrics` that applies to the call, asked in
    one go (one LLM request per call). Empty without a judge or questions; a judge that fails
    makes every answer not_assessed with why, so scoring goes on."""
    questions = list(dict.fromkeys(q for r in rubrics for i in r.items if (q := i.asks(conversation)) is not None))
    if judge is None or not questions:
        return {}
    try:
        answers = list(judge.judge(questions, conversation.analysis))
    except Exception as err:  # a judge must not cost the call its scorecard
        logger.exception("call %s: the item judge failed", conversation.analysis.call_id)
        answers = [Judgement.unassessed(f"the judge failed: {type(err).__name__}: {err}")] * len(questions)
    if len(answers) != len(questions):
        answers = [Judgement.unassessed(f"the judge gave {len(answers)} answers to {len(questions)} questions")
                   ] * len(questions)
    return dict(zip(questions, answers, strict=True))


def score(rubric: Rubric, analysis: CallAnalysis | Conversation, judge: ItemJudge | None = None, *,
          judgements: Mapping[str, Judgement] | None = None) -> Scorecard:
    """Score one call on `rubric`. Pure but for `judge` (asked once for all llm items);
    `judgements`: answers already asked (`judge_questions`), used instead of asking `judge`.
    Re-scoring stored calls maps it over their analyses."""
    conversation = Conversation.of(analysis)
    if judgements is None:
        judgements = judge_questions(judge, [rubric], conversation)
    items = []
    for item in rubric.items:
        outcome = item.assess(conversation, judgements)
        items.append(ItemResult(id=item.id, description=item.description, weight=item.weight,
                                status=outcome.status, reason=outcome.reason, evidence=outcome.evidence))
    passed = sum(i.weight for i in items if i.status == "pass")
    assessed = passed + sum(i.weight for i in items if i.status == "fail")
    count = {status: sum(1 for i in items if i.status == status) for status in ("pass", "fail", "not_assessed",
                                                                                 "not_applicable")}
    return Scorecard(
        rubric=rubric.name, rubric_version=rubric.version,
        score=round(100.0 * passed / assessed, 1) if assessed else None,
        passed=count["pass"], failed=count["fail"], not_assessed=count["not_assessed"],
        not_applicable=count["not_applicable"], items=items,
    )
