"""Keyword topics for the offline analyzer: frequent content words and two-word phrases."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

# Function words, call-centre filler and politeness that say nothing about the topic.
_STOP = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves yes yeah okay ok oh um uh hi hello hey please thank thanks welcome
    sorry sure right well just really also like get got one two three four five six seven eight nine zero
    today day nice great good help anything else hear see read name calling call john would will able
    need want know think going go make said say tell look way thing things time lot bit much many
    appreciate upset happy glad issue""".split()
)
_KO_PARTICLES = ("에서", "으로", "에게", "께서", "은", "는", "이", "가", "을", "를", "에", "로", "도", "만", "의", "와", "과", "요")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|[\uac00-\ud7a3]+")
_MASK = re.compile(r"\[[A-Z_]+\]")


def _stem(word: str) -> str:
    """A crude stem so "charged", "charges" and "charge" count together."""
    if re.fullmatch(r"[\uac00-\ud7a3]+", word):
        for particle in _KO_PARTICLES:
            if word.endswith(particle) and len(word) > len(particle) + 1:
                return word[: -len(particle)]
        return word
    for suffix, repl in (("ies", "y"), ("ed", "e"), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            stem = word[: -len(suffix)] + repl
            return stem[:-1] if stem.endswith("ee") else stem
    return word


def keyword_topics(texts: Sequence[str], *, limit: int = 5) -> list[str]:
    """The most frequent content phrases of a call, two-word phrases preferred when they recur."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        tokens = [_stem(t.lower()) for t in _WORD.findall(_MASK.sub(" ", text))]
        content = [t if t not in _STOP and len(t) > 2 or re.match(r"[\uac00-\ud7a3]", t) else None for t in tokens]
        unigrams.update(t for t in content if t)
        bigrams.update((a, b) for a, b in zip(content, content[1:]) if a and b and a != b)
    scored: list[tuple[float, str]] = [(float(n), w) for w, n in unigrams.items()]
    scored += [(1.5 * n + 0.5, f"{a} {b}") for (a, b), n in bigrams.items() if unigrams[a] > 1 or unigrams[b] > 1]
    scored.sort(key=lambda x: (-x[0], x[1]))
    topics: list[str] = []
    for _, phrase in scored:
        if any(phrase in t.split(" ") or phrase in t or t in phrase.split(" ") for t in topics):
            continue
        topics.append(phrase)
        if len(topics) == limit:
            break
    return topics
