"""Custom vocabulary: the product names, people, places and jargon a call is expected to contain.

A tenant keeps one list (versioned, `PUT /v1/vocabulary`); a request may add its own terms. When
a call is accepted the two are merged (the request's first, then the tenant's) and stored with the
call, so a retried or resumed call is recognised with the same terms. Recognition is prompted with
them (`asr/decoding.py`), and category rules can match them (`"vocabulary": true` in a phrase
condition). This module holds what every layer shares: the limits and how terms are read and merged.

Example:
    >>> merge_terms(parse_terms("Zentrafy, Callytics Pro"), ["zentrafy", "Whittemore"])
    ('Zentrafy', 'Callytics Pro', 'Whittemore')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TENANT_TERMS = 200
MAX_REQUEST_TERMS = 50
MAX_TERM_CHARS = 64

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w")


def clean_term(term: str) -> str:
    """One term with its spaces trimmed and collapsed.

    Raises:
        ValueError: the term has no letter or digit, control characters, or more than
            MAX_TERM_CHARS characters (pydantic reports it as a 422 with this message).
    """
    cleaned = _SPACES.sub(" ", term).strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in term.replace("\t", " ").replace("\n", " ")):
        raise ValueError("a vocabulary term may not contain control characters")
    if not _WORD.search(cleaned):
        raise ValueError(f"a vocabulary term needs a letter or digit (got {term!r})")
    if len(cleaned) > MAX_TERM_CHARS:
        raise ValueError(f"a vocabulary term has at most {MAX_TERM_CHARS} characters (got {len(cleaned)})")
    return cleaned


Term = Annotated[str, AfterValidator(clean_term)]
"""A vocabulary term as the API accepts it (cleaned, or refused with the reason)."""


def _deduplicated(terms: list[str]) -> list[str]:
    return list(merge_terms(terms))


TenantTerms = Annotated[list[Term], Field(max_length=MAX_TENANT_TERMS), AfterValidator(_deduplicated)]
RequestTerms = Annotated[list[Term], Field(max_length=MAX_REQUEST_TERMS), AfterValidator(_deduplicated)]


def parse_terms(value: object) -> object:
    """Terms as a form field sends them: a JSON list (`["Zentrafy", "Callytics Pro"]`) or
    comma-separated text (`Zentrafy, Callytics Pro`); anything else is returned for validation."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"vocabulary looks like a JSON list but is not one ({err.msg})") from err
    return [t for t in text.split(",") if t.strip()]


def merge_terms(*lists: Iterable[str]) -> tuple[str, ...]:
    """The terms of `lists` in order, each once: a term that differs from an earlier one only in
    case or spacing is the same term (the first spelling is kept)."""
    seen: set[str] = set()
    merged: list[str] = []
    for terms in lists:
        for term in terms:
            cleaned = _SPACES.sub(" ", term).strip()
            key = cleaned.casefold()
            if cleaned and key not in seen:
                seen.add(key)
                merged.append(cleaned)
    return tuple(merged)
