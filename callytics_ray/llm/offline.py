"""The offline analyzer: what runs when no LLM endpoint is configured (or it failed).

Extractive summary by embedding centrality (all-MiniLM-L6-v2), keyphrase topics, reason and outcome
from the customer's first complaint and the agent's last commitments, satisfaction and conflict
from sentiment and interruptions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
import numpy as np

from callytics_ray.llm.keyphrases import KeyphraseExtractor
from callytics_ray.result import (
    AnalysisResult,
    ConflictResult,
    QualityResult,
    RoleConfirmationResult,
)
from callytics_ray.text.encoder import TextEncoder
from callytics_ray.text.sentences import split_sentences
from callytics_ray.text.wordlists import WordList
from callytics_ray.types import Sentiment, SpeakerRole, Utterance

# An agent commits to something: "I will", "I have issued", "we'll send", "it will arrive".
_COMMITMENT = re.compile(
    r"\b(i|we)\s*('ll|will|am going to|are going to|have (issued|sent|created|opened|raised|scheduled|escalated))\b"
    r"|\bwill (arrive|be (sent|credited|refunded|delivered|fixed|processed))\b"
    r"|드리겠습니다|해 드릴게요|처리하겠습니다",
    re.IGNORECASE,
)
_RESOLUTION = re.compile(
    r"\b(refund|refunded|resolved|fixed|issued|credited|reversed|cancelled|replaced|sorted)\b|해결|환불|처리",
    re.IGNORECASE,
)
_GREETING = re.compile(r"thank you for calling|how (can|may) i help|speaking|고객센터|도와드릴까요", re.IGNORECASE)


class OfflineAnalyzer:
    """Call analysis without an LLM.

    Example:
        >>> analyzer = OfflineAnalyzer(shared_encoder(settings))
        >>> analyzer.analyze(utterances, roles, sentiments, quality).summary
    """

    name = "offline"

    def __init__(self, encoder: TextEncoder | None = None, *, summary_sentences: int = 3) -> None:
        # The process's one copy of the encoder (shared with the sentiment head where both run in
        # one process: CLI, local gateway), or on Serve the sentiment-analyzer replica's.
        self._encoder = encoder
        self._keyphrases = KeyphraseExtractor(encoder)
        self._summary_sentences = summary_sentences
        self._profane = WordList.load("profane")
        self.model = "offline:centrality" if encoder is not None else "offline:position"

    def analyze(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None = None,
        quality: QualityResult | None = None,
    ) -> AnalysisResult:
        """Analyse one call from its (redacted) utterances, their sentiment and quality metrics."""
        role_of = {r.speaker: r.role for r in roles}
        sentiments = list(sentiments) if sentiments is not None else [Sentiment("neutral", 0.0, (0, 1, 0))] * len(utterances)
        if len(sentiments) != len(utterances):
            raise ValueError(f"{len(utterances)} utterances but {len(sentiments)} sentiments")
        pairs = list(zip(utterances, sentiments, strict=True))
        customer = [p for p in pairs if role_of.get(p[0].speaker) == "customer"]
        agent = [p for p in pairs if role_of.get(p[0].speaker) == "agent"]
        sentences = [(s, role_of.get(u.speaker, u.speaker)) for u in utterances for s in split_sentences(u)]
        action_items = [s.text for u, _ in agent for s in split_sentences(u) if _COMMITMENT.search(s.text)]
        resolved = self._resolved(agent, customer)
        reason = self._reason(customer or pairs)
        outcome = self._outcome(agent, resolved)
        return AnalysisResult(
            summary=self._summary(sentences, [_first_sentence_with_problem(reason), outcome]),
            topics=self._keyphrases.topics([u.text for u in utterances]),
            reason=reason,
            outcome=outcome,
            resolved=resolved,
            satisfaction=self._satisfaction(customer),
            conflict=self._conflict(pairs, quality),
            action_items=action_items,
            roles=self._roles(utterances, role_of),
            analyzer="offline",
            model=self.model,
        )

    def _summary(self, sentences: list[tuple[Utterance, str]], anchors: Sequence[str | None]) -> str:
        """The customer's complaint and the outcome (`anchors`) plus the most central other
        sentences (highest mean similarity to the rest, without near-duplicates), in call order."""
        labelled = [(s, r) for s, r in sentences if len(s.text.split()) >= 3]
        if not labelled:
            return " ".join(f"{r.capitalize()}: {s.text.strip()}" for s, r in sentences)
        texts = [s.text.strip() for s, _ in labelled]
        anchored = [i for i, t in enumerate(texts) if any(a and t in a for a in anchors)]
        chosen = list(dict.fromkeys(anchored))[:2]
        k = min(self._summary_sentences + len(chosen), len(labelled))
        if self._encoder is not None and len(labelled) > k:
            emb = self._encoder.encode(texts)
            similarity = emb @ emb.T  # shape: (num_sentences, num_sentences)
            centrality = similarity.mean(axis=1)
            for i in np.argsort(-centrality).tolist():
                if len(chosen) >= k:
                    break
                if i not in chosen and all(similarity[i, j] < 0.8 for j in chosen):
                    chosen.append(i)
        else:
            chosen += [i for i in range(len(labelled)) if i not in chosen][: k - len(chosen)]
        return " ".join(f"{labelled[i][1].capitalize()}: {texts[i]}" for i in sorted(chosen))

    @staticmethod
    def _reason(pairs: list[tuple[Utterance, Sentiment]]) -> str | None:
        """The customer's first complaint, else their first substantial utterance."""
        for u, s in pairs:
            if s.label == "negative":
                return u.text.strip()
        substantial = [u for u, _ in pairs if len(u.text.split()) >= 4]
        return substantial[0].text.strip() if substantial else None

    @staticmethod
    def _resolved(agent: list[tuple[Utterance, Sentiment]], customer: list[tuple[Utterance, Sentiment]]) -> bool | None:
        if not agent and not customer:
            return None
        fixed = any(_RESOLUTION.search(u.text) for u, _ in agent)
        ends_well = bool(customer) and customer[-1][1].label != "negative"
        return fixed and ends_well

    @staticmethod
    def _outcome(agent: list[tuple[Utterance, Sentiment]], resolved: bool | None) -> str | None:
        lines = [s.text.strip() for u, _ in agent for s in split_sentences(u) if _RESOLUTION.search(s.text)]
        if lines:
            return lines[-1]
        return None if resolved is None else ("Resolved." if resolved else "Not resolved in the call.")

    @staticmethod
    def _satisfaction(customer: list[tuple[Utterance, Sentiment]]) -> int | None:
        """1..5 from how the customer sounded at the end (last third weighted double)."""
        if not customer:
            return None
        tail = customer[-max(1, len(customer) // 3):]
        score = (np.mean([s.score for _, s in customer]) + 2 * np.mean([s.score for _, s in tail])) / 3
        return int(np.clip(round(3 + 2 * score), 1, 5))

    def _conflict(self, pairs: list[tuple[Utterance, Sentiment]], quality: QualityResult | None) -> ConflictResult:
        """Conflict: profanity, strongly negative turns meeting interruptions, or several strongly
        negative turns in a row."""
        evidence: list[str] = []
        profane = [u.text.strip() for u, _ in pairs if self._profane.count(u.text)]
        strong = [u for u, s in pairs if s.score <= -0.6]
        interruptions = quality.interruptions if quality is not None else []
        evidence += profane
        run = longest = 0
        for _, s in pairs:
            run = run + 1 if s.score <= -0.6 else 0
            longest = max(longest, run)
        flag = bool(profane) or (len(strong) >= 2 and len(interruptions) >= 2) or longest >= 3
        if flag:
            evidence += [u.text.strip() for u in strong if u.text.strip() not in evidence][:3]
            evidence += [f"{i.interrupter} interrupted {i.interrupted} at {i.time:.1f} s" for i in interruptions[:3]]
        return ConflictResult(flag=flag, evidence=evidence)

    @staticmethod
    def _roles(utterances: Sequence[Utterance], role_of: dict[str, str]) -> list[RoleConfirmationResult]:
        """The speaker who greets and offers help is the agent; compare with the given roles."""
        greets = {u.speaker: 0 for u in utterances}
        for u in utterances:
            greets[u.speaker] += len(_GREETING.findall(u.text))
        if not greets or max(greets.values()) == 0:
            return []
        agent = max(greets, key=lambda s: greets[s])
        out = []
        for speaker in greets:
            role = "agent" if speaker == agent else "customer"
            out.append(RoleConfirmationResult(speaker=speaker, role=role, agrees=role_of.get(speaker) == role))
        return out


def _first_sentence_with_problem(text: str | None) -> str | None:
    """The sentence of a complaint that names the problem: the longest one (greetings are short)."""
    if not text:
        return None
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if p.strip()]
    return max(parts, key=len) if parts else None
