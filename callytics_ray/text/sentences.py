"""Sentence splitting of word-timed utterances, English and Korean, with or without punctuation."""

from __future__ import annotations

import re
from dataclasses import replace

from callytics_ray.text.korean import ends_sentence as korean_ends_sentence
from callytics_ray.text.korean import is_hangul
from callytics_ray.types import Utterance, Word, join_words

# A trailing period on these is not a sentence end.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.", "a.m.", "p.m.", "no.", "inc."}
)
_TERMINAL = re.compile(r"[.!?。？！]+[\"')\]]*$")


def word_ends_sentence(text: str) -> bool:
    """Whether a word (as ASR writes it, punctuation attached) closes a sentence."""
    token = text.strip()
    if not token:
        return False
    if _TERMINAL.search(token):
        return token.lower() not in _ABBREVIATIONS and not re.fullmatch(r"\d+\.", token)
    return is_hangul(token) and korean_ends_sentence(token)


def split_sentences(utterance: Utterance) -> tuple[Utterance, ...]:
    """Cut an utterance into sentences, each keeping its own words and times.

    A sentence ends at ".", "?" or "!" (not after abbreviations such as "Mr.") and, in Korean, at
    a sentence-final ending (다/요/까 forms) with or without punctuation. Without words, the text
    is split and the utterance's times are shared.
    """
    if not utterance.words:
        return _split_text_only(utterance)
    sentences: list[Utterance] = []
    current: list[Word] = []
    for i, word in enumerate(utterance.words):
        current.append(word)
        if word_ends_sentence(word.text) or i == len(utterance.words) - 1:
            sentences.append(
                replace(utterance, start=current[0].start, end=current[-1].end, text=join_words(current),
                        words=tuple(current))
            )
            current = []
    return tuple(sentences)


def _split_text_only(utterance: Utterance) -> tuple[Utterance, ...]:
    pieces: list[str] = []
    for token in utterance.text.split():
        if pieces and not pieces[-1].endswith("\n"):
            pieces.append(" ")
        pieces.append(token)
        if word_ends_sentence(token):
            pieces.append("\n")
    texts = [s.strip() for s in "".join(pieces).split("\n") if s.strip()]
    return tuple(replace(utterance, text=t, words=()) for t in texts) or (utterance,)
