"""Word lists shipped with the package (English and Korean): positive, negative and profane
wording, and agent politeness markers. English terms match whole words or phrases; Korean terms
are stems that match inside words, since Korean attaches endings to them (감사 -> 감사합니다)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Literal

ListName = Literal["positive", "negative", "profane", "politeness"]
LIST_NAMES: tuple[ListName, ...] = ("positive", "negative", "profane", "politeness")


def _read(filename: str) -> tuple[str, ...]:
    text = resources.files("callytics_ray.text").joinpath("lists").joinpath(filename).read_text(encoding="utf-8")
    return tuple(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class WordList:
    """One list in both languages.

    Example:
        >>> WordList.load("negative").count("I am really upset, 정말 짜증나요")
        Counter({'upset': 1, '짜증': 1})
    """

    name: str
    english: tuple[str, ...]
    korean: tuple[str, ...]

    @classmethod
    def load(cls, name: ListName) -> WordList:
        return cls(name, _read(f"en_{name}.txt"), _read(f"ko_{name}.txt"))

    @cached_property
    def _english_pattern(self) -> re.Pattern[str]:
        # Longest first so "thank you" wins over "thanks"-like overlaps; apostrophes are part of words.
        terms = sorted(self.english, key=len, reverse=True)
        return re.compile(r"(?<![\w'])(" + "|".join(re.escape(t) for t in terms) + r")(?![\w'])")

    def count(self, text: str) -> Counter[str]:
        """How often each term of the list occurs in `text`."""
        lowered = text.lower().replace("’", "'")
        found: Counter[str] = Counter(m.group(1) for m in self._english_pattern.finditer(lowered))
        for term in self.korean:
            if (n := lowered.count(term)) > 0:
                found[term] += n
        return found


def load_wordlists() -> dict[ListName, WordList]:
    """All shipped lists by name."""
    return {name: WordList.load(name) for name in LIST_NAMES}
