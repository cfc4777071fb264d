"""Offline topics as keyphrases: KeyBERT over the shared sentence encoder for English (candidates
are runs of content words, so no phrase bridges a dropped word), YAKE for Korean and wherever no
encoder is loaded (Korean: by frequency, see _frequent). Speakers' names, masked PII, numbers and call-centre filler never become topics."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from callytics_ray.text.encoder import TextEncoder
from callytics_ray.text.korean import is_hangul
from callytics_ray.text.names import spoken_names

# Function words, call-centre filler and politeness that say nothing about why someone called.
# Ours rather than scikit-learn's list, which holds "bill", "amount", "interest" and "system".
FILLER = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    let let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
    out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves yes yeah yep nope okay ok oh um uh uhm hmm mm ah hi hello hey bye
    goodbye please thank thanks welcome sorry sure right well just really also like get got gets getting
    one two three four five six seven eight nine ten zero today day nice great good fine help helping
    anything else hear see read name calling call called calls would will able need needs want wants
    wanted know knew think thought going go goes gone make made said say says tell told look looking way
    thing things time lot bit much many appreciate upset happy glad issue problem question colleague
    moment minute minutes second seconds hold bear perfect absolutely definitely course actually basically
    kind sort mean guess maybe something anything everything nothing someone anyone somebody anybody stuff
    around still even ever already now then again quick quickly certainly exactly speaking talk talking
    ask asking asked check checking let's gonna wanna gotta etc sir madam ma'am mr mrs ms dr
    customer customers caller agent representative""".split()
)
KO_FILLER = frozenset(
    """네 예 아 어 음 그 저 이 제 좀 그럼 그리고 그래서 근데 그런데 혹시 잠시만 잠시만요 감사합니다 고맙습니다
    안녕하세요 고객님 상담원 상담사 여보세요 죄송합니다 알겠습니다 네네 맞아요 맞습니다 정말 진짜 너무 지금 오늘 그냥
    이제 다시 한번 전화 문의 확인 고객센터 무엇 어떻게 어제 안에 전에 후에 때문에 부탁드립니다 있습니다 없습니다 합니다 했어요 해요 있어요 없어요 되나요 될까요""".split()
)
_KO_PARTICLES = ("에서", "으로", "에게", "께서", "은", "는", "이", "가", "을", "를", "에", "로", "도", "만", "의", "와", "과", "요")
# Korean verbs and adjectives (polite and connective endings): topics are nouns.
_KO_PREDICATE = re.compile(
    r"(니다|니까|세요|어요|아요|해요|에요|예요|네요|는데|려고|하고|해서|했어|했고|하는|해|죠|까|겠|드릴|드려|드리|됩|됐|된다|한다|할게|합|어|아)$"
)
_TOKEN = re.compile(r"\[[A-Z_]+\]|[A-Za-z][A-Za-z'’-]*|[\uac00-\ud7a3]+|\d[\d,.]*|[^\sA-Za-z\d\uac00-\ud7a3]")
_BRIDGE = frozenset({"of"})  # inside a phrase only: "proof of address", "change of plan"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What may appear in a keyphrase: not filler, not a name said in the call."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        return cls(spoken_names(texts))

    def content(self, token: str) -> bool:
        """Whether `token` (as written) can be part of a topic."""
        if token in self.names or token.startswith("["):
            return False
        if is_hangul(token):
            stem = _ko_stem(token)
            return (
                len(stem) > 1 and stem not in KO_FILLER and token not in KO_FILLER and not _KO_PREDICATE.search(stem)
                and not any(token.startswith(n) for n in self.names)
            )
        word = token.lower().replace("’", "'")
        return word[0].isalpha() and len(word) > 2 and word not in FILLER and not word.endswith("n't")


def phrase_candidates(text: str, vocabulary: Vocabulary, *, max_words: int = 3) -> list[str]:
    """Every 1- to `max_words`-word run of content words in `text`, lower-cased; runs end at
    punctuation, masks, numbers, names and filler ("of" may join two content words)."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(text):
        if vocabulary.content(token):
            runs[-1].append(_normalise(token))
        elif token.lower() in _BRIDGE and runs[-1]:
            runs[-1].append(token.lower())
        else:
            runs.append([])
    out: list[str] = []
    for run in runs:
        for size in range(1, max_words + 1):
            for i in range(len(run) - size + 1):
                gram = run[i:i + size]
                if gram[0] not in _BRIDGE and gram[-1] not in _BRIDGE:
                    out.append(" ".join(gram))
    return out


def _normalise(token: str) -> str:
    word = token.lower().replace("’", "'")
    word = word[:-2] if word.endswith("'s") else word
    return _ko_stem(word) if is_hangul(word) else word


def _ko_stem(word: str) -> str:
    for particle in _KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


class KeyphraseExtractor:
    """A call's topics as phrases a person would pick.

    Example:
        >>> extractor = KeyphraseExtractor(load_sentence_encoder(minilm_dir))
        >>> extractor.topics(["I was charged twice for my phone bill", "I will refund the duplicate charge"])
        ['duplicate charge', 'phone bill', 'refund']
    """

    def __init__(self, encoder: TextEncoder | None = None, *, diversity: float = 0.5) -> None:
        self._encoder = encoder
        self._diversity = diversity
        self._keybert = None
        if encoder is not None:
            from callytics_ray.llm.keybert_backend import keybert_over

            self._keybert = keybert_over(encoder)

    @property
    def method(self) -> str:
        return "keybert" if self._keybert is not None else "yake"

    def topics(self, texts: Sequence[str], *, limit: int = 5) -> list[str]:
        """The call's topics from its utterances' (redacted) texts, best first."""
        vocabulary = Vocabulary.of(texts)
        return self.keyphrases(["\n".join(texts)], vocabulary, limit=limit)[0]

    def keyphrases(self, docs: Sequence[str], vocabulary: Vocabulary, *, limit: int = 5) -> list[list[str]]:
        """Keyphrases of each document (a call, or a cluster of call reasons), best first. English
        takes KeyBERT when an encoder is loaded (MiniLM is English-only) and YAKE otherwise."""
        korean = sum(is_hangul(d) for d in docs) > len(docs) / 2
        if self._keybert is None or korean:
            return [distinct_phrases(self._yake(doc, vocabulary, korean=korean), limit) for doc in docs]
        return [distinct_phrases(ranked, limit) for ranked in self._keybert_ranked(docs, vocabulary, limit * 4)]

    def _keybert_ranked(self, docs: Sequence[str], vocabulary: Vocabulary, top_n: int) -> list[list[str]]:
        from sklearn.feature_extraction.text import CountVectorizer

        counts = [Counter(phrase_candidates(d, vocabulary)) for d in docs]
        if not any(counts):
            return [[] for _ in docs]
        vectorizer = CountVectorizer(analyzer=lambda d: phrase_candidates(d, vocabulary), lowercase=False)
        found = self._keybert.extract_keywords(
            list(docs), vectorizer=vectorizer, use_mmr=True, diversity=self._diversity, top_n=top_n,
        )
        found = [found] if docs and found and isinstance(found[0], tuple) else found
        ranked = []
        for doc_counts, keywords in zip(counts, found, strict=True):
            # Relevance to the whole text, nudged towards phrases said more than once and towards
            # two- and three-word phrases over the single words inside them.
            scored = [
                (score * (1 + 0.15 * math.log(doc_counts[p])) * (1 + 0.12 * (len(p.split()) - 1)), p)
                for p, score in keywords if doc_counts[p]
            ]
            ranked.append([p for _, p in sorted(scored, key=lambda x: -x[0])])
        return ranked

    @staticmethod
    def _yake(doc: str, vocabulary: Vocabulary, *, korean: bool) -> list[str]:
        if korean:
            return _frequent(doc, vocabulary)
        import yake

        # The content runs, one per line. YAKE joins lower-case lines, so some of its phrases
        # span two runs: only those that are candidates here (never across a name, a mask or
        # filler) are kept.
        text = "\n".join(_runs(doc, vocabulary))
        if not text:
            return []
        extractor = yake.KeywordExtractor(lan="en", n=3, top=40, stopwords=set(FILLER))
        allowed = set(phrase_candidates(doc, vocabulary))
        return [k.lower() for k, _ in extractor.extract_keywords(text) if k.lower() in allowed]


def _frequent(doc: str, vocabulary: Vocabulary) -> list[str]:
    """Korean phrases by how often they are said, longer first among equals. YAKE 0.7.3 treats
    every token shorter than three characters as a stop word (yake/data/core.py), which drops
    most Korean nouns (카드, 분실, 신고), so it cannot rank Korean."""
    counts = Counter(phrase_candidates(doc, vocabulary))
    return [p for p, _ in sorted(counts.items(), key=lambda x: (-x[1] * (1 + 0.5 * (len(x[0].split()) - 1)), x[0]))]


def _runs(text: str, vocabulary: Vocabulary) -> list[str]:
    """The content runs of `text` (see phrase_candidates), one string each."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(text):
        if vocabulary.content(token) or (token.lower() in _BRIDGE and runs[-1]):
            runs[-1].append(_normalise(token))
        else:
            runs.append([])
    return [" ".join(r) for r in runs if r]


def distinct_phrases(ranked: Iterable[str], limit: int) -> list[str]:
    """The first `limit` phrases, skipping one whose words are all in a phrase already taken (or
    that holds all of one's words: "charge" after "double charge", and the reverse), or that
    shares two words with one ("seems extremely distant" after "horizon seems extremely")."""
    chosen: list[str] = []
    for phrase in ranked:
        words = set(phrase.split()) - _BRIDGE
        taken = [set(c.split()) - _BRIDGE for c in chosen]
        if any(words <= c or c <= words or len(words & c) >= 2 for c in taken):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
    return chosen

