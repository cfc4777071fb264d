"""Korean sentence endings: where a Korean sentence ends when the text has no punctuation."""

from __future__ import annotations

import re

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_FINAL_BIEUP = 17  # jongseong index of ㅂ: 습니다, 합니다, 입니까
_FINAL_RIEUL = 8  # jongseong index of ㄹ: 할까, 갈까

# Declarative/interrogative/polite endings of the last eojeol. 다 alone is too loose (바다 "sea"),
# so only verbal 다 endings count.
_ENDING = re.compile(r"(요|죠|[었았였했겠였]다|[한는된]다|[있없같]다|이다|아니다|[가나]\?)$")
_QUESTION = re.compile(r"(까|까요|나요|가요|니|냐|죠|지요|래요)$")


def _final_consonant(syllable: str) -> int | None:
    code = ord(syllable)
    if not _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return None
    return (code - _HANGUL_FIRST) % 28


def is_hangul(text: str) -> bool:
    """Whether `text` holds Hangul syllables."""
    return any(_HANGUL_FIRST <= ord(ch) <= _HANGUL_LAST for ch in text)


def ends_sentence(word: str) -> bool:
    """Whether a bare Korean word (no punctuation) ends a sentence, e.g. 감사합니다, 있어요, 합니까."""
    word = word.strip()
    if len(word) < 2 or not is_hangul(word[-1]):
        return False
    if word.endswith(("니다", "니까")) and len(word) >= 3 and _final_consonant(word[-3]) == _FINAL_BIEUP:
        return True
    if word.endswith("까") and _final_consonant(word[-2]) == _FINAL_RIEUL:
        return True
    return bool(_ENDING.search(word))


def is_question(word: str) -> bool:
    """Whether a sentence-final Korean word asks something (합니까, 할까요, 있나요)."""
    word = word.strip()
    if word.endswith("니까"):
        return len(word) >= 3 and _final_consonant(word[-3]) == _FINAL_BIEUP
    return bool(_QUESTION.search(word)) and ends_sentence(word) or word.endswith("까")
