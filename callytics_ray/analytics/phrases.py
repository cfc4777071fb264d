"""Phrase matching over tokens, in English and Korean, exact or fuzzy, with negation.

English tokens match whole words. A Korean phrase token matches an eojeol (a space-separated word)
that *starts* with it: Korean attaches particles and endings after the stem (카드 -> 카드를,
카드가; 확인 -> 확인했습니다), so the stem begins the eojeol. Matching anywhere inside would let
만족 ("satisfied") match 불만족 ("dissatisfied"); the price of the prefix rule is that the second
half of a compound written without a space (카드분실) needs its own phrase (or the spaced form,
which also matches the compact one: "카드 분실" matches 카드분실했어요).

Negation: an English or Korean negator within a few tokens before the phrase (not, never, don't,
안, 못 ...), or, for Korean, a negating ending right after it (만족하지 않아요, 문제없어요, 문제가
없어요, 불만이 아니에요).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from callytics_ray.analytics.conversation import Token
from callytics_ray.text.korean import is_hangul
from callytics_ray.text.tokens import tokenize

ENGLISH_NEGATORS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "hardly", "barely",
    "cannot", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "cant", "couldnt",
    "shouldnt", "wouldnt", "havent", "hasnt", "hadnt",
})
# Short negation: 안 좋아요, 못 받았어요 (a separate eojeol before the verb).
KOREAN_NEGATORS = frozenset({"안", "못", "전혀"})
# Long negation after the phrase: the next eojeol (좋지 않아요, 문제가 없어요, 불만이 아니에요) ...
_KOREAN_NEGATING_NEXT = ("없", "아니", "아닙", "아닌", "아냐")
_KOREAN_NEGATING_AFTER_JI = ("않", "못")  # only after an eojeol ending in 지: 만족하지 않아요, 하지 못했어요
# ... or the rest of the matched eojeol itself (문제없어요, 좋지않아요).
_KOREAN_NEGATING_REST = ("없", "지않", "지못")


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One occurrence of a phrase: tokens [first, last] of an utterance."""

    phrase: str
    first: int
    last: int
    negated: bool
    score: float | None


def _is_negator(norm: str) -> bool:
    bare = norm.replace("'", "")
    return bare in ENGLISH_NEGATORS or norm.endswith("n't") or norm in KOREAN_NEGATORS


def _token_score(pattern: str, hangul: bool, token: str, fuzzy: bool) -> float:
    """Similarity 0-100 of one phrase token to one transcript token (100: an exact match)."""
    if hangul:
        if token.startswith(pattern):
            return 100.0
        return fuzz.ratio(pattern, token[: len(pattern)]) if fuzzy else 0.0
    if token == pattern:
        return 100.0
    return fuzz.ratio(pattern, token) if fuzzy else 0.0


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A phrase as tokens, with what matching needs to know about them worked out once."""

    phrase: str
    tokens: tuple[str, ...]
    hangul: tuple[bool, ...]
    compact: str | None  # an all-Korean phrase of several tokens, without its spaces

    @classmethod
    def of(cls, phrase: str) -> _Pattern | None:
        tokens = tuple(tokenize(phrase))
        if not tokens:
            return None
        hangul = tuple(is_hangul(t) for t in tokens)
        return cls(phrase, tokens, hangul, "".join(tokens) if len(tokens) > 1 and all(hangul) else None)


class PhraseMatcher:
    """Finds phrases in the tokens of one utterance.

    Args:
        phrases: the phrases, as written in the rule (any case, English or Korean).
        threshold: None for exact matching; else the fuzzy similarity (0-100, rapidfuzz's ratio)
            every token of the phrase must reach.
        negation_window: how many tokens before a phrase are searched for a negator.
    """

    def __init__(self, phrases: Sequence[str], *, threshold: float | None = None, negation_window: int = 3) -> None:
        self.patterns = [p for p in map(_Pattern.of, phrases) if p is not None]
        self.threshold = threshold
        self.negation_window = negation_window
        # An exact match starts with the phrase's first character (a whole word, or the start of
        # an eojeol): only those phrases are tried at a token. Fuzzy matching tries them all.
        self._by_initial: dict[str, list[_Pattern]] = {}
        for pattern in self.patterns:
            self._by_initial.setdefault(pattern.tokens[0][0], []).append(pattern)

    def find(self, tokens: Sequence[Token]) -> list[PhraseHit]:
        """Every occurrence of any phrase, in token order (the best-scoring phrase at each start)."""
        norms = [t.norm for t in tokens]
        hits: list[PhraseHit] = []
        for start in range(len(norms)):
            best: PhraseHit | None = None
            candidates = self.patterns if self.threshold is not None else self._by_initial.get(norms[start][:1], ())
            for pattern in candidates:
                hit = self._match_at(pattern, norms, start)
                if hit is not None and (best is None or (hit.score or 100.0) > (best.score or 100.0)):
                    best = hit
            if best is not None:
                hits.append(best)
        return hits

    def _match_at(self, pattern: _Pattern, norms: list[str], start: int) -> PhraseHit | None:
        fuzzy = self.threshold is not None
        limit = self.threshold if fuzzy else 100.0
        size = len(pattern.tokens)
        scores: list[float] = []
        if start + size <= len(norms):
            for i, (token, hangul) in enumerate(zip(pattern.tokens, pattern.hangul)):
                scores.append(_token_score(token, hangul, norms[start + i], fuzzy))
                if scores[-1] < limit:
                    break
        if len(scores) == size and min(scores) >= limit:
            last, rest = start + size - 1, norms[start + size - 1][len(pattern.tokens[-1]):]
        elif pattern.compact is not None and norms[start].startswith(pattern.compact):
            # Korean spacing varies: "카드 분실" also matches the compact 카드분실했어요.
            last, rest, scores = start, norms[start][len(pattern.compact):], [100.0]
        else:
            return None
        score = round(min(scores), 1) if fuzzy else None
        return PhraseHit(pattern.phrase, start, last, self._negated(norms, start, last, pattern, rest), score)

    def _negated(self, norms: list[str], first: int, last: int, pattern: _Pattern, rest: str) -> bool:
        if any(_is_negator(n) for n in norms[max(0, first - self.negation_window):first]):
            return True
        if not pattern.hangul[-1]:
            return False
        if rest.startswith(_KOREAN_NEGATING_REST):
            return True
        following = norms[last + 1] if last + 1 < len(norms) else ""
        return following.startswith(_KOREAN_NEGATING_NEXT) or (
            norms[last].endswith("지") and following.startswith(_KOREAN_NEGATING_AFTER_JI)
        )
