"""The condition language of categories and scorecards: plain data (JSON / YAML), evaluated on one
call's analysis with the evidence of what matched.

A rule is one of (by `kind`):
    phrase     phrases said (exact or fuzzy, English or Korean), not negated unless asked; with
               `vocabulary: true` the terms of the call's custom vocabulary count as phrases
    near       a phrase within N words of another ("card" within 5 words of "stolen")
    sentiment  utterances with a sentiment label
    metric     a call metric compared with a value (longest silence, talk share, ...)
    all / any / not   combinations

`phrase`, `near` and `sentiment` take a role scope (`speaker`: agent, customer or any) and a time
window (first N s, last N s, or between two times). Evaluation is three-valued: a rule that needs
what the call lacks (roles, sentiment, quality metrics) is neither matched nor unmatched but
unknown, and says why.

Example:
    >>> rule = parse_rule({"kind": "near", "phrases": ["card"], "near": ["stolen", "lost"],
    ...                    "within_words": 5, "speaker": "customer"})
    >>> evaluate(rule, analysis).matched
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from callytics_ray.analytics.conversation import Conversation, Turn
from callytics_ray.analytics.evidence import (
    Evidence,
    EvidenceWord,
    MetricEvidence,
    PhraseEvidence,
    RuleResult,
    UtteranceEvidence,
)
from callytics_ray.analytics.metrics import MetricName, MissingMetric, metric_value
from callytics_ray.analytics.phrases import PhraseHit, PhraseMatcher
from callytics_ray.result import CallAnalysis, SentimentLabel

# The names of rubrics, category sets and categories: safe in URLs and logs.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

Speaker = Literal["agent", "customer", "any"]
MatchMode = Literal["exact", "fuzzy"]
Negation = Literal["exclude", "require", "ignore"]
Comparison = Literal["<", "<=", ">", ">=", "==", "!="]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
Phrases = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1, max_length=500)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_Model):
    """When in the call: exactly one of `first_s`, `last_s`, or `from_s` / `to_s` (either or both).

    Something is in the window when it starts there (a phrase: its first word).
    """

    first_s: float | None = Field(default=None, gt=0, description="the first N seconds")
    last_s: float | None = Field(default=None, gt=0, description="the last N seconds")
    from_s: float | None = Field(default=None, ge=0)
    to_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        forms = [self.first_s is not None, self.last_s is not None, self.from_s is not None or self.to_s is not None]
        if sum(forms) != 1:
            raise ValueError("a window is one of: first_s, last_s, or from_s/to_s")
        if self.from_s is not None and self.to_s is not None and self.to_s <= self.from_s:
            raise ValueError(f"window to_s {self.to_s} is not after from_s {self.from_s}")
        return self

    def contains(self, time_s: float, duration_s: float) -> bool:
        if self.first_s is not None:
            return time_s < self.first_s
        if self.last_s is not None:
            return time_s >= duration_s - self.last_s
        return (self.from_s or 0.0) <= time_s and (self.to_s is None or time_s < self.to_s)


class _Scoped(_Model):
    speaker: Speaker = Field("any", description="whose utterances: the agent's, the customer's, or anyone's")
    window: Window | None = None

    def _turns(self, conversation: Conversation) -> list[Turn] | str:
        """The utterances in the role scope, or why they cannot be known."""
        if self.speaker == "any":
            return list(conversation.turns)
        if not conversation.roles_known:
            return f"the call's roles are not known, so what the {self.speaker} said cannot be told apart"
        return [t for t in conversation.turns if t.role == self.speaker]

    def _in_window(self, time_s: float, conversation: Conversation) -> bool:
        return self.window is None or self.window.contains(time_s, conversation.duration_s)


class MatchOptions(_Model):
    """How phrases are matched: exactly, or fuzzily at a similarity threshold."""

    match: MatchMode = "exact"
    threshold: float = Field(85.0, ge=50, le=100, description="fuzzy: the similarity (0-100) every word must reach")

    def _matcher(self, phrases: list[str], negation_window: int = 3) -> PhraseMatcher:
        return PhraseMatcher(phrases, threshold=self.threshold if self.match == "fuzzy" else None,
                             negation_window=negation_window)


def _phrase_evidence(turn: Turn, first: int, last: int, phrase: str, hit: PhraseHit) -> PhraseEvidence:
    tokens = turn.tokens[first:last + 1]
    return PhraseEvidence(
        utterance=turn.index, speaker=turn.speaker, role=turn.role, start=tokens[0].start, end=tokens[-1].end,
        phrase=phrase, text=" ".join(t.text for t in tokens),
        words=[EvidenceWord(text=t.text, start=t.start, end=t.end) for t in tokens],
        negated=hit.negated, score=hit.score,
    )


class PhraseCondition(MatchOptions, _Scoped):
    """Any of `phrases` said (at least `min_count` times in all); with `vocabulary`, any term of the
    call's custom vocabulary too (its request's and its tenant's terms, `CallAnalysis.vocabulary`)."""

    kind: Literal["phrase"] = "phrase"
    phrases: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=500)] = []
    vocabulary: bool = Field(
        False,
        description="also match the terms of the call's vocabulary (the tenant's and the request's); with "
                    "match 'fuzzy' a near-miss spelling of a term counts too",
    )
    negation: Negation = Field(
        "exclude",
        description="exclude: a negated occurrence ('not happy') does not count; require: only negated ones "
                    "count; ignore: both count",
    )
    negation_window: int = Field(3, ge=0, le=10, description="tokens before a phrase searched for a negator")
    min_count: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _something_to_match(self) -> PhraseCondition:
        if not self.phrases and not self.vocabulary:
            raise ValueError("a phrase condition needs phrases, or vocabulary: true")
        return self

    def _phrases(self, conversation: Conversation) -> list[str] | str:
        """The phrases to look for in this call, or why there are none."""
        terms = conversation.vocabulary if self.vocabulary else ()
        if not self.phrases and not terms:
            return "the call has no vocabulary"
        return [*self.phrases, *terms]

    def hits(self, conversation: Conversation) -> list[PhraseEvidence] | str:
        """Every counted occurrence, in call order, or why the scope (or the vocabulary) cannot be known."""
        turns = self._turns(conversation)
        if isinstance(turns, str):
            return turns
        phrases = self._phrases(conversation)
        if isinstance(phrases, str):
            return phrases
        matcher = self._matcher(phrases, self.negation_window)
        found: list[PhraseEvidence] = []
        for turn in turns:
            for hit in matcher.find(turn.tokens):
                if self.negation == "exclude" and hit.negated or self.negation == "require" and not hit.negated:
                    continue
                if self._in_window(turn.tokens[hit.first].start, conversation):
                    found.append(_phrase_evidence(turn, hit.first, hit.last, hit.phrase, hit))
        return sorted(found, key=lambda e: e.start)

    def evaluate(self, conversation: Conversation) -> RuleResult:
        found = self.hits(conversation)
        if isinstance(found, str):
            return RuleResult(matched=None, unknown=found)
        return RuleResult(matched=len(found) >= self.min_count, evidence=found)


class NearCondition(MatchOptions, _Scoped):
    """One of `phrases` and one of `near` in the same utterance, at most `within_words` apart
    (adjacent words are 1 apart); with `ordered`, `near` comes after."""

    kind: Literal["near"] = "near"
    phrases: Phrases
    near: Phrases
    within_words: int = Field(5, ge=1, le=50)
    ordered: bool = False

    def evaluate(self, conversation: Conversation) -> RuleResult:
        turns = self._turns(conversation)
        if isinstance(turns, str):
            return RuleResult(matched=None, unknown=turns)
        first, second = self._matcher(self.phrases), self._matcher(self.near)
        found: list[Evidence] = []
        for turn in turns:
            others = second.find(turn.tokens)
            for a in first.find(turn.tokens):
                pair = self._closest(a, others)
                if pair is not None and self._in_window(turn.tokens[min(a.first, pair.first)].start, conversation):
                    lo, hi = min(a.first, pair.first), max(a.last, pair.last)
                    found.append(_phrase_evidence(turn, lo, hi, f"{a.phrase} ~ {pair.phrase}", a))
        return RuleResult(matched=bool(found), evidence=found)

    def _closest(self, a: PhraseHit, others: list[PhraseHit]) -> PhraseHit | None:
        def distance(b: PhraseHit) -> int:
            return b.first - a.last if b.first > a.last else a.first - b.last

        near = [b for b in others if b.first != a.first and (not self.ordered or b.first > a.last)
                and 0 < distance(b) <= self.within_words]
        return min(near, key=distance, default=None)


class SentimentCondition(_Scoped):
    """At least `min_count` utterances with sentiment `label`."""

    kind: Literal["sentiment"] = "sentiment"
    label: SentimentLabel
    min_count: int = Field(1, ge=1)

    def evaluate(self, conversation: Conversation) -> RuleResult:
        if not conversation.sentiment_known:
            return RuleResult(matched=None, unknown="the call's utterances have no sentiment")
        turns = self._turns(conversation)
        if isinstance(turns, str):
            return RuleResult(matched=None, unknown=turns)
        found: list[Evidence] = [
            UtteranceEvidence(utterance=t.index, speaker=t.speaker, role=t.role, start=t.start, end=t.end,
                              text=t.text, sentiment=t.sentiment.label, sentiment_score=t.sentiment.score)
            for t in turns
            if t.sentiment is not None and t.sentiment.label == self.label and self._in_window(t.start, conversation)
        ]
        return RuleResult(matched=len(found) >= self.min_count, evidence=found)


class MetricCondition(_Model):
    """A call metric compared with `value`, e.g. longest_silence_s > 10."""

    kind: Literal["metric"] = "metric"
    metric: MetricName
    op: Comparison
    value: float

    def evaluate(self, conversation: Conversation) -> RuleResult:
        try:
            actual = metric_value(self.metric, conversation.analysis)
        except MissingMetric as err:
            return RuleResult(matched=None, unknown=f"{self.metric}: {err}")
        evidence = MetricEvidence(metric=self.metric, value=round(actual, 4), op=self.op, threshold=self.value)
        return RuleResult(matched=_COMPARE[self.op](actual, self.value), evidence=[evidence])


class AllOf(_Model):
    """Every condition matches."""

    kind: Literal["all"] = "all"
    conditions: list[Rule] = Field(min_length=1)

    def evaluate(self, conversation: Conversation) -> RuleResult:
        results = [c.evaluate(conversation) for c in self.conditions]
        outcomes = [r.matched for r in results]
        matched = False if False in outcomes else (None if None in outcomes else True)
        return _combined(matched, results)


class AnyOf(_Model):
    """At least one condition matches."""

    kind: Literal["any"] = "any"
    conditions: list[Rule] = Field(min_length=1)

    def evaluate(self, conversation: Conversation) -> RuleResult:
        results = [c.evaluate(conversation) for c in self.conditions]
        outcomes = [r.matched for r in results]
        matched = True if True in outcomes else (None if None in outcomes else False)
        return _combined(matched, [r for r in results if r.matched] if matched else results)


class Not(_Model):
    """The condition does not match."""

    kind: Literal["not"] = "not"
    condition: Rule

    def evaluate(self, conversation: Conversation) -> RuleResult:
        inner = self.condition.evaluate(conversation)
        matched = None if inner.matched is None else not inner.matched
        return RuleResult(matched=matched, evidence=inner.evidence, unknown=inner.unknown)


def _combined(matched: bool | None, results: list[RuleResult]) -> RuleResult:
    evidence = [e for r in results for e in r.evidence]
    unknown = "; ".join(r.unknown for r in results if r.unknown) if matched is None else None
    return RuleResult(matched=matched, evidence=evidence, unknown=unknown)


Rule = Annotated[
    PhraseCondition | NearCondition | SentimentCondition | MetricCondition | AllOf | AnyOf | Not,
    Field(discriminator="kind"),
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()

_RULE = TypeAdapter(Rule)


def parse_rule(data: object) -> Rule:
    """A rule from its JSON / YAML data.

    Raises:
        pydantic.ValidationError: the data is not a valid rule (the message says where).
    """
    return _RULE.validate_python(data)


def evaluate(rule: Rule, analysis: CallAnalysis | Conversation) -> RuleResult:
    """Whether `rule` matches the call, with the evidence. Pure: a backfill can map it over
    stored calls."""
    return rule.evaluate(Conversation.of(analysis))

