"""Punctuation restoration for speaker-attributed utterances: keep Whisper's punctuation where it
is good, restore it where the text lost it, true-case English, keep every word's timing."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from callytics_ray.devices import torch_device
from callytics_ray.model_store import resolve_model
from callytics_ray.punctuation.offline import PauseRestorer
from callytics_ray.punctuation.truecasing import TrueCaser
from callytics_ray.settings import PunctuationOptions, Settings
from callytics_ray.text.korean import ends_sentence as korean_ends_sentence
from callytics_ray.text.korean import is_hangul
from callytics_ray.text.korean import is_question as korean_is_question
from callytics_ray.text.sentences import split_sentences
from callytics_ray.types import Utterance, Word, join_words

logger = logging.getLogger(__name__)

_WORD_PARTS = re.compile(r"^(\s*)(.*?)([.,!?;:。？！]*)$", re.S)
_SENTENCE_MARKS = ".?!。？！"


class Restorer(Protocol):
    name: str

    def labels(
        self, cores: Sequence[str], words: Sequence[Word] | None, language: str, options: PunctuationOptions
    ) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class _Token:
    lead: str
    core: str
    mark: str
    word: Word | None


class Punctuator:
    """Restores punctuation and casing of utterances and cuts them into sentences.

    Example:
        >>> punctuator = Punctuator.from_settings(Settings())
        >>> fixed = punctuator.restore(utterances, language="en")
        >>> sentences = punctuator.sentences(utterances, language="en")
    """

    def __init__(self, restorer: Restorer | None = None, *, truecaser: TrueCaser | None = None) -> None:
        self._restorer: Restorer = restorer or PauseRestorer()
        self._truecaser = truecaser or TrueCaser()

    @classmethod
    def from_settings(cls, settings: Settings) -> Punctuator:
        """Build the punctuator `settings.punctuation` describes (model or offline method).

        Raises:
            ModelNotFoundError: the configured model cannot be found or loaded.
        """
        config = settings.punctuation
        truecaser = TrueCaser(settings.cache_dir)
        if config.model is None:
            return cls(truecaser=truecaser)
        from callytics_ray.punctuation.model import ModelRestorer

        path = resolve_model(config.model, kind="punctuation", cache_dir=settings.cache_dir, offline=settings.offline)
        return cls(ModelRestorer(path, device=torch_device(config.device)), truecaser=truecaser)

    @property
    def method(self) -> str:
        """Which restorer runs ("offline-pause" or "deepmultilingualpunctuation:<model>")."""
        return self._restorer.name

    def restore(
        self,
        utterances: Sequence[Utterance],
        *,
        language: str | None = None,
        options: PunctuationOptions | None = None,
    ) -> tuple[Utterance, ...]:
        """Return the utterances with punctuation and casing restored where they were lost.

        Args:
            utterances: speaker-attributed word runs (words keep their timings).
            language: the call's language ("en", "ko", ...); Hangul words use Korean rules anyway.
            options: when and how to restore; defaults to PunctuationOptions().
        """
        options = options or PunctuationOptions()
        return tuple(self._restore_one(u, language or "en", options) for u in utterances)

    def sentences(
        self,
        utterances: Sequence[Utterance],
        *,
        language: str | None = None,
        options: PunctuationOptions | None = None,
    ) -> tuple[Utterance, ...]:
        """Restore, then cut every utterance into sentences that keep their words and timings."""
        return tuple(s for u in self.restore(utterances, language=language, options=options) for s in split_sentences(u))

    def _restore_one(self, utterance: Utterance, language: str, options: PunctuationOptions) -> Utterance:
        tokens = _tokens(utterance)
        if not tokens or options.restore == "never":
            return utterance
        cased = language != "ko" and not any(is_hangul(t.core) for t in tokens)
        for start, end in _spans_to_restore(tokens, cased, options):
            self._restore_span(tokens, start, end, language, cased, options)
        _repair_boundaries(tokens, cased)
        return _rebuild(utterance, tokens)

    def _restore_span(
        self, tokens: list[_Token], start: int, end: int, language: str, cased: bool, options: PunctuationOptions
    ) -> None:
        span = tokens[start:end]
        words = [t.word for t in span]
        timed = None if any(w is None for w in words) else words
        marks = self._restorer.labels([t.core for t in span], timed, language, options)
        if end < len(tokens):
            marks[-1] = span[-1].mark  # the run continues into text that is already punctuated
        lowered = cased and not any(ch.isupper() for t in span for ch in t.core)
        cores = [t.core for t in span]
        if lowered and options.truecase:
            cores = self._truecase(cores, marks)
        for k, (token, core, mark) in enumerate(zip(span, cores, marks, strict=True)):
            tokens[start + k] = replace(token, core=core, mark=mark)

    def _truecase(self, cores: list[str], marks: list[str]) -> list[str]:
        out: list[str] = []
        sentence: list[str] = []
        for core, mark in zip(cores, marks, strict=True):
            sentence.append(core)
            if any(ch in _SENTENCE_MARKS for ch in mark) or len(out) + len(sentence) == len(cores):
                out.extend(self._truecaser.case(sentence))
                sentence = []
        return out


def _tokens(utterance: Utterance) -> list[_Token]:
    if utterance.words:
        pieces = [(w.text, w) for w in utterance.words]
    else:
        pieces = [(" " + t, None) for t in utterance.text.split()]
    tokens = []
    for text, word in pieces:
        lead, core, mark = _WORD_PARTS.match(text).groups()
        tokens.append(_Token(lead, core, mark, word))
    return tokens


def _spans_to_restore(tokens: list[_Token], cased: bool, options: PunctuationOptions) -> list[tuple[int, int]]:
    """[start, end) word ranges whose punctuation was lost."""
    n = len(tokens)
    if options.restore == "always":
        return [(0, n)]
    alphabetic = [t.core for t in tokens if any(ch.isalpha() for ch in t.core)]
    if cased and len(alphabetic) >= 3 and not any(ch.isupper() for core in alphabetic for ch in core):
        return [(0, n)]  # an all-lower-case utterance lost its casing and most likely its marks
    spans: list[tuple[int, int]] = []
    start = 0
    for i, token in enumerate(tokens + [None]):
        if token is None or any(ch in _SENTENCE_MARKS for ch in token.mark):
            inner_endings = any(
                is_hangul(t.core) and korean_ends_sentence(t.core) for t in tokens[start : max(start, i - 1)]
            )
            if (i - start) > options.max_unpunctuated_words or inner_endings:
                spans.append((start, min(i + 1, n)))
            start = i + 1
    return spans


def _repair_boundaries(tokens: list[_Token], cased: bool) -> None:
    """Utterances cut out of a Whisper sentence at a speaker change start in lower case and end
    without a mark; give them a capital and a closing mark."""
    first = tokens[0]
    if cased and first.core[:1].islower():
        tokens[0] = replace(first, core=first.core[:1].upper() + first.core[1:])
    last = tokens[-1]
    if not any(ch in _SENTENCE_MARKS for ch in last.mark):
        closing = "?" if is_hangul(last.core) and korean_is_question(last.core) else "."
        tokens[-1] = replace(last, mark=last.mark.rstrip(",;:") + closing)
    for i in range(1, len(tokens)):
        if cased and any(ch in _SENTENCE_MARKS for ch in tokens[i - 1].mark) and tokens[i].core[:1].islower():
            tokens[i] = replace(tokens[i], core=tokens[i].core[:1].upper() + tokens[i].core[1:])


def _rebuild(utterance: Utterance, tokens: list[_Token]) -> Utterance:
    if utterance.words:
        words = tuple(
            replace(t.word, text=t.lead + t.core + t.mark) for t in tokens if t.word is not None
        )
        return replace(utterance, words=words, text=join_words(words))
    return replace(utterance, text=" ".join(t.core + t.mark for t in tokens))
