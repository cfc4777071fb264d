"""Guards against Whisper's loops: a phrase repeated over and over is cut back to `max_repeats`."""

from __future__ import annotations

import re

from callytics_ray.types import Word

_NORMALIZE = re.compile(r"[^\w']+", re.UNICODE)


def _norm(text: str) -> str:
    return _NORMALIZE.sub("", text.lower())


def collapse_repeated_ngrams(words: tuple[Word, ...], max_repeats: int, max_n: int = 8) -> tuple[Word, ...]:
    """Drop consecutive repeats of any 1..max_n word n-gram beyond `max_repeats` occurrences.

    Real speech repeats a word or two ("no, no, no"); Whisper's failure mode repeats the same
    phrase a dozen times, so anything past `max_repeats` in a row is removed.
    """
    keys = [_norm(w.text) for w in words]
    keep = [True] * len(words)
    for n in range(1, max_n + 1):
        i = 0
        while i + n <= len(words):
            gram = keys[i : i + n]
            if not all(gram):
                i += 1
                continue
            count = 1
            j = i + n
            while j + n <= len(words) and keys[j : j + n] == gram:
                count += 1
                j += n
            if count > max_repeats:
                for k in range(i + n * max_repeats, j):
                    keep[k] = False
                i = j
            else:
                i += 1
    return tuple(w for w, k in zip(words, keep) if k)


def is_repeated_segment(text: str, previous: list[str], max_repeats: int) -> bool:
    """True when the last `max_repeats` segments already said exactly `text`."""
    key = _norm(text)
    if not key or len(previous) < max_repeats:
        return False
    return all(_norm(p) == key for p in previous[-max_repeats:])
