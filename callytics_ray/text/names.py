"""People's names said in a call: self-introductions ("my name is X", "this is X", 저는 X입니다),
addressed names ("thank you, Tom", X 고객님) and capitalised words that are names in the transcript
(mid-sentence, never written lower-case). Topics and driver labels leave them out."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME = r"[A-Z][a-z'’-]+"
_INTRO = re.compile(
    rf"(?i:\bmy name is|\bmy name's|\bthis is|\bi am|\bi'm|\bit's|\bspeaking (?:with|to)|\bcall me|\bname's)"
    rf"\s+((?:{_NAME})(?:\s+{_NAME}){{0,2}})"
)
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Sir|Madam)\.?\s+({_NAME}(?:\s+{_NAME})?)")
_GREETED = re.compile(
    rf"(?i:\b(?:hi|hello|hey|thanks|thank you|bye|goodbye|dear|sorry|morning|afternoon|evening)),?\s+({_NAME})\b(?!\s+[a-z])"
)
# A single capitalised word set off by a comma before it and punctuation after: "again, Phil."
_VOCATIVE = re.compile(rf",\s+({_NAME})\s*(?=[,.!?]|$)")
_KO_INTRO = re.compile(r"(?:저는|제 이름은|상담원|상담사)\s*([\uac00-\ud7a3]{2,4}?)(?:입니다|이에요|예요|이고요|라고 합니다)")
_KO_ADDRESSED = re.compile(r"([\uac00-\ud7a3]{2,4})\s?(?:고객님|님|씨)(?=[\s,.!?]|$|[이은을께])")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|[.!?]")
# Capitalised mid-sentence for reasons other than being a person.
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december i".split()
)


def spoken_names(texts: Iterable[str]) -> frozenset[str]:
    """The names said in `texts` (one utterance each), as they are written (capitalised)."""
    texts = list(texts)
    names: set[str] = set()
    for text in texts:
        for pattern in (_INTRO, _TITLED, _GREETED, _VOCATIVE):
            for match in pattern.finditer(text):
                names.update(match.group(1).split())
        names.update(m.group(1) for m in _KO_INTRO.finditer(text))
        names.update(m.group(1) for m in _KO_ADDRESSED.finditer(text))
    names |= _proper_nouns(texts)
    return frozenset(n for n in names if n.lower() not in _CALENDAR)


def _proper_nouns(texts: list[str]) -> set[str]:
    """Capitalised words seen only capitalised and at least once mid-sentence (not after . ! ?)."""
    lower: set[str] = set()
    mid_sentence: set[str] = set()
    for text in texts:
        start = True
        for token in _TOKEN.findall(text):
            if token in ".!?":
                start = True
                continue
            if token[0].islower():
                lower.add(token.lower())
            elif not start and token[1:].islower() and not token.lower().startswith(("i'", "i’")):
                mid_sentence.add(token)
            start = False
    return {t for t in mid_sentence if t.lower() not in lower}
