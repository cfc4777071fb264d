"""The analysis stage: the LLM when an endpoint is configured, the offline analyzer otherwise (and,
when allowed, after the LLM failed); the result says which one produced it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from callytics_ray.errors import LLMError
from callytics_ray.llm.client import LLMAnalyzer
from callytics_ray.llm.offline import OfflineAnalyzer
from callytics_ray.result import AnalysisResult, QualityResult
from callytics_ray.settings import LLMOptions, Settings
from callytics_ray.text.encoder import TextEncoder, shared_encoder
from callytics_ray.types import RoleJudgement, Sentiment, SpeakerRole, Utterance

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """The analysis and, when the LLM failed and the offline analyzer stood in, why it failed.

    Attributes:
        role_judgement: the LLM's judgement of which speaker is the agent (None from the offline
            analyzer); the pipeline joins it with the offline roles (roles.revise_roles).
    """

    result: AnalysisResult
    llm_error: str | None = None
    role_judgement: RoleJudgement | None = None

    def with_roles(self, roles: Sequence[SpeakerRole]) -> AnalysisOutcome:
        """This outcome with every role confirmation's `agrees` checked against `roles` (when
        the roles changed after the analysis ran)."""
        role_of = {r.speaker: r.role for r in roles}
        confirmations = [c.model_copy(update={"agrees": role_of.get(c.speaker) == c.role}) for c in self.result.roles]
        return replace(self, result=self.result.model_copy(update={"roles": confirmations}))


class CallAnalyzer:
    """Picks the analyzer and applies the fallback policy.

    Example:
        >>> analyzer = CallAnalyzer.from_settings(settings)
        >>> outcome = analyzer.analyze(redacted_utterances, roles, sentiments, quality)
        >>> outcome.result.analyzer, outcome.llm_error
        ('llm', None)
    """

    def __init__(self, *, offline: OfflineAnalyzer, llm: LLMAnalyzer | None = None) -> None:
        self._offline = offline
        self._llm = llm

    @classmethod
    def from_settings(cls, settings: Settings, encoder: TextEncoder | None = None) -> CallAnalyzer:
        """The analyzer `settings.llm` describes; the offline analyzer embeds with `encoder` when
        given (on Serve: the sentiment-analyzer's model), else with this process's shared copy."""
        llm = LLMAnalyzer.from_settings(settings) if settings.llm.base_url else None
        return cls(offline=OfflineAnalyzer(encoder or shared_encoder(settings)), llm=llm)

    @property
    def uses_llm(self) -> bool:
        return self._llm is not None

    def analyze(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None = None,
        quality: QualityResult | None = None,
        *,
        options: LLMOptions | None = None,
    ) -> AnalysisOutcome:
        """Analyse one call.

        Raises:
            LLMError: the LLM failed and `options.fallback_offline` is off.
        """
        options = options or LLMOptions()
        if self._llm is None:
            return AnalysisOutcome(self._offline.analyze(utterances, roles, sentiments, quality))
        try:
            answer = self._llm.analyze(utterances, roles, options=options)
            return AnalysisOutcome(answer.result, role_judgement=answer.agent)
        except LLMError as err:
            if not options.fallback_offline:
                raise
            logger.warning("LLM analysis failed, offline analyzer stands in: %s", err)
            return AnalysisOutcome(self._offline.analyze(utterances, roles, sentiments, quality), llm_error=str(err))
