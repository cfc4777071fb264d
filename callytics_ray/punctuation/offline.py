"""Offline punctuation: pauses between word timings, Korean sentence endings and English question
openers decide where sentences and commas go. Used when no punctuation model is available."""

from __future__ import annotations

from collections.abc import Sequence

from callytics_ray.settings import PunctuationOptions
from callytics_ray.text.korean import ends_sentence as korean_ends_sentence
from callytics_ray.text.korean import is_hangul
from callytics_ray.text.korean import is_question as korean_is_question
from callytics_ray.types import Word

# Sentences that open with these are questions ("can you read me the number").
_QUESTION_OPENERS = frozenset(
    "what where when why how who whom whose which can could would will do does did is are was were "
    "have has may might should shall am isn't aren't don't doesn't didn't won't can't".split()
)


class PauseRestorer:
    """Labels each word with the mark that follows it ("", ",", "." or "?").

    Example:
        >>> PauseRestorer().labels(["hello", "how", "are", "you"], None, "en", PunctuationOptions())
        ['', '', '', '?']
    """

    name = "offline-pause"

    def labels(
        self,
        cores: Sequence[str],
        words: Sequence[Word] | None,
        language: str,
        options: PunctuationOptions,
    ) -> list[str]:
        """Marks after each bare word; the last word always closes a sentence.

        Args:
            cores: the words without punctuation.
            words: the same words with timings, or None for text without timings.
            language: "ko" enables Korean endings (Hangul words use them in any case).
            options: pause thresholds and the longest sentence allowed.
        """
        n = len(cores)
        if n == 0:
            return []
        pauses = self._pauses(words, n)
        marks: list[str] = []
        for i, core in enumerate(cores):
            if (language == "ko" or is_hangul(core)) and korean_ends_sentence(core):
                marks.append("?" if korean_is_question(core) else ".")
            elif pauses[i] >= options.sentence_pause_s:
                marks.append(".")
            elif pauses[i] >= options.comma_pause_s:
                marks.append(",")
            else:
                marks.append("")
        marks[-1] = marks[-1] if marks[-1] in (".", "?") else "."
        self._limit_length(marks, pauses, options.max_unpunctuated_words)
        self._mark_questions(cores, marks)
        return marks

    @staticmethod
    def _pauses(words: Sequence[Word] | None, n: int) -> list[float]:
        if not words or len(words) != n:
            return [0.0] * n
        return [max(0.0, words[i + 1].start - words[i].end) for i in range(n - 1)] + [float("inf")]

    @staticmethod
    def _limit_length(marks: list[str], pauses: list[float], max_words: int) -> None:
        """Cut sentences longer than `max_words` at their longest internal pause."""
        start = 0
        while start < len(marks):
            end = start
            while end < len(marks) - 1 and marks[end] not in (".", "?"):
                end += 1
            if end - start + 1 > max_words:
                lo, hi = start + 2, end - 2  # keep at least three words on each side
                if lo <= hi:
                    cut = max(range(lo, hi + 1), key=lambda k: (pauses[k], marks[k] == ","))
                    marks[cut] = "."
                    continue
            start = end + 1

    @staticmethod
    def _mark_questions(cores: Sequence[str], marks: list[str]) -> None:
        start = 0
        for i, mark in enumerate(marks):
            if mark in (".", "?"):
                if mark == "." and cores[start].lower() in _QUESTION_OPENERS and not is_hangul(cores[start]):
                    marks[i] = "?"
                start = i + 1
