"""Match tokens: how rules, categories and a judge's quotes compare text with a transcript."""

from __future__ import annotations

import re

# A token is a run of letters/digits (Hangul included) with inner apostrophes: "don't", "카드를".
TOKEN = re.compile(r"\w+(?:'\w+)*")


def normalize(text: str) -> str:
    """Lower case with typographic apostrophes made plain, as tokens and phrases are compared."""
    return text.lower().replace("’", "'").replace("‘", "'")


def tokenize(text: str) -> list[str]:
    """The normalised tokens of `text` (a phrase of a rule, a quote, or one word of a transcript)."""
    return TOKEN.findall(normalize(text))
