"""Names for call drivers: the LLM names every driver in one request when an endpoint is set;
otherwise (or when it fails) each driver's most distinctive keyphrases name it (class-based
TF-IDF over the calls' reasons: phrases common in this driver and rare in the others)."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from callytics_ray.errors import LLMError
from callytics_ray.llm.client import AnswerFormat, LLMAnalyzer
from callytics_ray.llm.keyphrases import Vocabulary, distinct_phrases, phrase_candidates
from callytics_ray.settings import LLMOptions, RedactionOptions
from callytics_ray.text.redaction import redact_text

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You name the reasons customers call a contact centre. Each group below holds the reasons of "
    "calls that are alike. Give every group a short label, 2 to 5 words, that says why those "
    "customers called (for example \"Double charge on card\"), never a person's name. Answer with "
    "the JSON object only."
)
_EXAMPLES = 5  # reasons per group shown to the LLM
_EXAMPLE_CHARS = 300


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupName(_Strict):
    group: int = Field(description="the group's number as given")
    label: str = Field(description="2 to 5 words: why these customers called")


class GroupNames(_Strict):
    groups: list[GroupName]


NAMES_FORMAT = AnswerFormat(GroupNames, "call_driver_names", "record_call_driver_names", "Record a label per group.")


@dataclass(frozen=True, slots=True)
class DriverLabel:
    label: str
    keyphrases: list[str]


@dataclass(frozen=True, slots=True)
class DriverLabels:
    """One label per driver, and who gave them ("llm" or "keyphrases")."""

    labels: list[DriverLabel]
    labeller: str
    model: str | None = None
    llm_error: str | None = None


class DriverLabeller:
    """Labels clusters of call reasons.

    Example:
        >>> labeller = DriverLabeller(llm=LLMAnalyzer.from_settings(settings))
        >>> labeller.label([["I lost my card", "my card was stolen"], ["I moved house"]], keyphrases=3).labels
    """

    def __init__(
        self, *, llm: LLMAnalyzer | None = None, options: LLMOptions | None = None,
        redaction: RedactionOptions | None = None,
    ) -> None:
        self._llm = llm
        self._options = options or LLMOptions()
        self._redaction = redaction or RedactionOptions()

    def label(self, clusters: Sequence[Sequence[str]], *, keyphrases: int = 3) -> DriverLabels:
        """A label per cluster (each a list of reasons, the most typical first)."""
        phrases = cluster_keyphrases(clusters, limit=keyphrases)
        offline = [DriverLabel(" / ".join(p[:2]) if p else "unlabelled", p) for p in phrases]
        if self._llm is None or not clusters:
            return DriverLabels(offline, "keyphrases")
        try:
            names = self._ask(clusters)
        except LLMError as err:
            logger.warning("the LLM did not name the call drivers, keyphrases do: %s", err)
            return DriverLabels(offline, "keyphrases", llm_error=str(err))
        labels = [DriverLabel(names.get(i + 1) or o.label, o.keyphrases) for i, o in enumerate(offline)]
        return DriverLabels(labels, "llm", model=self._llm.model)

    def _ask(self, clusters: Sequence[Sequence[str]]) -> dict[int, str]:
        blocks = []
        for number, texts in enumerate(clusters, start=1):
            shown = [self._sendable(t) for t in texts[:_EXAMPLES]]
            blocks.append(f"Group {number} ({len(texts)} calls):\n" + "\n".join(f"- {t}" for t in shown))
        answer, _ = self._llm.ask(SYSTEM_PROMPT, "\n\n".join(blocks), NAMES_FORMAT, options=self._options)
        return {g.group: " ".join(g.label.split())[:80] for g in answer.groups if g.label.strip()}

    def _sendable(self, text: str) -> str:
        text = " ".join(text.split())[:_EXAMPLE_CHARS]
        return redact_text(text, self._redaction).text if self._options.redact_before_send else text


def cluster_keyphrases(clusters: Sequence[Sequence[str]], *, limit: int = 3) -> list[list[str]]:
    """Each cluster's most distinctive phrases: the share of its calls that say a phrase, times
    how rare the phrase is across all calls (class-based TF-IDF), favouring two- and three-word
    phrases; names said in the calls never count."""
    vocabulary = Vocabulary.of(t for texts in clusters for t in texts)
    said = [[set(phrase_candidates(t, vocabulary)) for t in texts] for texts in clusters]
    calls_saying = Counter(p for cluster in said for phrases in cluster for p in phrases)
    total = sum(len(c) for c in said)
    out = []
    for cluster in said:
        counts = Counter(p for phrases in cluster for p in phrases)
        scored = [
            (n / len(cluster) * math.log(1 + total / calls_saying[p]) * (1 + 0.25 * (len(p.split()) - 1)), p)
            for p, n in counts.items() if n >= min(2, len(cluster))
        ]
        out.append(distinct_phrases([p for _, p in sorted(scored, key=lambda x: (-x[0], x[1]))], limit))
    return out
