"""The LLM analyzer: one structured chat-completions request per call (or per chunk, then a merge)
against any OpenAI-protocol endpoint (OpenAI, Azure OpenAI, vLLM, Ollama)."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from callytics_ray.errors import ConfigError, LLMError
from callytics_ray.llm.prompt import SYSTEM_PROMPT, chunk_lines, merge_prompt, transcript_lines, user_prompt
from callytics_ray.llm.schema import LLMAnalysis, analysis_json_schema, strict_json_schema
from callytics_ray.llm.tokens import estimate_message_tokens, estimate_tokens
from callytics_ray.text.redaction import redact_text
from callytics_ray.result import AnalysisResult, ConflictResult, RoleConfirmationResult, TokenUsageResult
from callytics_ray.settings import LLMOptions, RedactionOptions, Settings
from callytics_ray.types import RoleJudgement, SpeakerRole, Utterance

logger = logging.getLogger(__name__)

_TOOL_NAME = "record_call_analysis"
_FORMAT_NAME = "call_analysis"
_RETRIABLE_STATUS = frozenset({408, 409, 425, 429})


@dataclass(frozen=True, slots=True)
class AnswerFormat:
    """What one request must answer: a pydantic model, sent as a strict JSON schema under `name`
    (response_format) or as the forced tool `tool`."""

    model: type[BaseModel]
    name: str
    tool: str
    description: str


_ANALYSIS = AnswerFormat(LLMAnalysis, _FORMAT_NAME, _TOOL_NAME, "Record the analysis of the call.")


@dataclass
class _Usage:
    """Tokens spent by one analysis (local to one analyze call)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LLMAnswer:
    """One LLM analysis: the contract result and the LLM's judgement of which speaker is the
    agent (asked in the same request: the transcript is sent once)."""

    result: AnalysisResult
    agent: RoleJudgement


class LLMAnalyzer:
    """Summary, topics, reason, outcome, satisfaction, conflict, action items and roles from an LLM.

    Example:
        >>> analyzer = LLMAnalyzer(base_url="http://localhost:11434/v1", api_key="x", model="qwen2.5:7b")
        >>> answer = analyzer.analyze(utterances, roles, options=LLMOptions())
        >>> answer.result.summary, answer.agent.agent

    Raises (from analyze):
        LLMError: the endpoint kept failing or kept answering outside the schema; the message
            says why (timeouts, HTTP status, validation errors).
    """

    def __init__(
        self, *, base_url: str, api_key: str, model: str, redaction: RedactionOptions | None = None
    ) -> None:
        from openai import OpenAI

        if not base_url:
            raise ConfigError("llm.base_url is empty: set CALLYTICS_LLM__BASE_URL or use the offline analyzer")
        # Retries are ours (below): they also cover invalid output, which the client's do not.
        self._client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
        self.model = model
        self._redaction = redaction or RedactionOptions()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMAnalyzer:
        llm = settings.llm
        if llm.base_url is None:
            raise ConfigError("llm.base_url is not set: the offline analyzer runs instead")
        return cls(
            base_url=llm.base_url, api_key=llm.api_key.get_secret_value(), model=llm.model,
            redaction=settings.redaction,
        )

    def analyze(
        self, utterances: Sequence[Utterance], roles: Sequence[SpeakerRole], *, options: LLMOptions
    ) -> LLMAnswer:
        """Analyse one call; long calls are analysed in chunks and the chunk analyses merged."""
        # Roles are not shown to the model: it names them itself and we compare (role confirmation).
        lines = transcript_lines(utterances)
        if options.redact_before_send:
            lines = [redact_text(line, self._redaction).text for line in lines]
        budget = self._transcript_budget(options)
        chunks = chunk_lines(lines, budget)
        if not chunks:
            raise LLMError("the call has no transcript to analyse", retriable=False)
        usage = _Usage()
        if len(chunks) == 1:
            analysis = self._request(user_prompt(chunks[0]), options, usage)
        else:
            partials = [
                self._request(user_prompt(c, part=i + 1, parts=len(chunks)), options, usage).model_dump()
                for i, c in enumerate(chunks)
            ]
            analysis = self._merge(partials, options, usage, budget)
        agent = RoleJudgement(analysis.agent.speaker, analysis.agent.confidence, analysis.agent.reason)
        return LLMAnswer(self._result(analysis, roles, len(chunks), usage), agent)

    def _transcript_budget(self, options: LLMOptions) -> int:
        framing = estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(json.dumps(analysis_json_schema())) + 64
        budget = options.token_budget - framing
        if budget < 200:
            raise ConfigError(f"llm.options.token_budget {options.token_budget} leaves no room for the transcript")
        return budget

    def _merge(self, partials: list[dict], options: LLMOptions, usage: _Usage, budget: int) -> LLMAnalysis:
        """Merge chunk analyses, in rounds when they do not fit one request. Each analysis is
        compacted to a third of the budget so every merge request takes at least two."""
        partials = [_compact(p, budget // 3) for p in partials]
        while True:
            groups: list[list[dict]] = [[]]
            for p in partials:
                if groups[-1] and estimate_tokens(merge_prompt(groups[-1] + [p])) > budget:
                    groups.append([])
                groups[-1].append(p)
            merged = [self._request(merge_prompt(g), options, usage) for g in groups]
            if len(merged) == 1:
                return merged[0]
            if len(merged) >= len(partials):
                raise LLMError("chunk analyses are too long to merge within llm.options.token_budget", retriable=False)
            partials = [_compact(m.model_dump(), budget // 3) for m in merged]

    def ask(self, system: str, prompt: str, answer: AnswerFormat, *, options: LLMOptions) -> tuple[BaseModel, TokenUsageResult]:
        """One structured request of another kind than a call analysis (e.g. naming call-driver
        clusters), with the same retries, repair turn and schema enforcement. `prompt` is sent
        as given: mask PII in it first.

        Raises:
            LLMError: the endpoint kept failing or kept answering outside `answer`'s schema.
        """
        usage = _Usage()
        result = self._request(prompt, options, usage, system=system, answer=answer)
        return result, TokenUsageResult(
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, requests=usage.requests
        )

    def _request(
        self, prompt: str, options: LLMOptions, usage: _Usage, *, system: str = SYSTEM_PROMPT,
        answer: AnswerFormat = _ANALYSIS,
    ) -> BaseModel:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": prompt},
        ]
        reason = "no attempt made"
        for attempt in range(options.max_retries + 1):
            if attempt:
                delay = min(options.backoff_max_s, options.backoff_initial_s * 2 ** (attempt - 1))
                time.sleep(delay * random.uniform(0.5, 1.0))
            content, reason, retriable = self._attempt(messages, options, usage, answer)
            if content is None:
                usage.failures.append(reason)
                if not retriable:
                    break
                continue
            try:
                return answer.model.model_validate_json(content)
            except ValidationError as err:
                reason = f"output does not match the schema: {_first_errors(err)}"
                usage.failures.append(reason)
                logger.warning("LLM attempt %d: %s", attempt + 1, reason)
                # Show the model its mistake; most models repair their JSON on the next try.
                messages = messages[:2] + [
                    {"role": "assistant", "content": content[:2000]},
                    {"role": "user", "content": f"That is not valid: {reason}. Answer again with only the JSON object."},
                ]
        raise LLMError(f"{self.model} at {self._client.base_url} failed after {len(usage.failures)} attempt(s): {reason}")

    def _attempt(
        self, messages: list[dict[str, str]], options: LLMOptions, usage: _Usage, answer: AnswerFormat
    ) -> tuple[str | None, str, bool]:
        """One request: (content, "", True) or (None, why it failed, whether retrying may help)."""
        import openai

        kwargs = self._format_kwargs(options, answer)
        usage.requests += 1
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=options.temperature,
                max_tokens=options.max_output_tokens, timeout=options.timeout_s, **kwargs,
            )
        except openai.APITimeoutError:
            return None, f"timed out after {options.timeout_s:g} s", True
        except openai.APIConnectionError as err:
            return None, f"cannot connect: {err}", True
        except openai.APIStatusError as err:
            retriable = err.status_code >= 500 or err.status_code in _RETRIABLE_STATUS
            return None, f"HTTP {err.status_code}: {_short(err.message)}", retriable
        if response.usage is not None:
            usage.prompt_tokens += response.usage.prompt_tokens or 0
            usage.completion_tokens += response.usage.completion_tokens or 0
        else:  # some local servers omit usage; keep an estimate so cost tracking is not blind
            usage.prompt_tokens += estimate_message_tokens(messages)
        if not response.choices:
            return None, "the response has no choices", True
        message = response.choices[0].message
        if options.structured_output == "tool" and message.tool_calls:
            content = message.tool_calls[0].function.arguments
        else:
            content = message.content
        if not content:
            return None, f"empty answer (finish_reason={response.choices[0].finish_reason})", True
        if response.usage is None:
            usage.completion_tokens += estimate_tokens(content)
        return content, "", True

    @staticmethod
    def _format_kwargs(options: LLMOptions, answer: AnswerFormat) -> dict:
        schema = strict_json_schema(answer.model)
        if options.structured_output == "tool":
            return {
                "tools": [{
                    "type": "function",
                    "function": {"name": answer.tool, "description": answer.description,
                                 "parameters": schema, "strict": True},
                }],
                "tool_choice": {"type": "function", "function": {"name": answer.tool}},
            }
        return {"response_format": {"type": "json_schema", "json_schema": {"name": answer.name, "schema": schema, "strict": True}}}

    def _result(
        self, analysis: LLMAnalysis, roles: Sequence[SpeakerRole], chunks: int, usage: _Usage
    ) -> AnalysisResult:
        known = {r.speaker: r.role for r in roles}
        return AnalysisResult(
            summary=analysis.summary,
            topics=analysis.topics,
            reason=analysis.reason,
            outcome=analysis.outcome,
            resolved=analysis.resolved,
            satisfaction=analysis.satisfaction,
            conflict=ConflictResult(flag=analysis.conflict.flag, evidence=analysis.conflict.evidence),
            action_items=analysis.action_items,
            roles=[
                RoleConfirmationResult(speaker=r.speaker, role=r.role, agrees=known.get(r.speaker) == r.role)
                for r in analysis.roles
            ],
            analyzer="llm",
            model=self.model,
            chunks=chunks,
            usage=TokenUsageResult(
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, requests=usage.requests
            ),
        )


def _compact(partial: dict, max_tokens: int) -> dict:
    """Shorten a chunk analysis (long texts first, then long lists) until it fits `max_tokens`."""
    partial = json.loads(json.dumps(partial))
    limit = 2000
    while estimate_tokens(json.dumps(partial, ensure_ascii=False)) > max_tokens and limit > 40:
        limit //= 2
        for key in ("summary", "reason", "outcome"):
            if isinstance(partial.get(key), str) and len(partial[key]) > limit:
                partial[key] = partial[key][:limit].rsplit(" ", 1)[0] + " ..."
        for key in ("topics", "action_items"):
            partial[key] = [t[:limit] for t in partial.get(key, [])[: max(2, limit // 100)]]
        partial["conflict"]["evidence"] = [e[:limit] for e in partial["conflict"]["evidence"][: max(1, limit // 200)]]
    return partial


def _first_errors(err: ValidationError, limit: int = 3) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}" for e in err.errors()[:limit]]
    return "; ".join(parts)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."
