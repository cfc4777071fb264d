"""What the LLM must return: one JSON object, validated with pydantic; its JSON schema is sent as
the structured-output format (response_format json_schema, or a forced tool call)."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMConflict(_Strict):
    flag: bool = Field(description="true when the parties argued, insulted or escalated")
    evidence: list[str] = Field(description="short quotes from the transcript that show the conflict")


class LLMRole(_Strict):
    speaker: str = Field(description="speaker label exactly as in the transcript")
    role: Literal["agent", "customer", "other"]


class LLMAgent(_Strict):
    """Which speaker label is the agent: the LLM's own judgement, joined with the offline role
    evidence (callytics_ray.roles.revise_roles), never copied over it."""

    speaker: str = Field(description="the speaker label of the agent, exactly as in the transcript")
    reason: str = Field(description="one short sentence: who greets or names the company, who states the problem")
    confidence: float = Field(ge=0.0, le=1.0, description="probability, 0.5 to 1, that this speaker is the agent")


class LLMAnalysis(_Strict):
    """One call (or one chunk of a long call) as the LLM sees it."""

    summary: str = Field(description="3 to 5 sentences: what the customer wanted and what happened")
    topics: list[str] = Field(description="2 to 6 short topic phrases")
    reason: str = Field(description="why the customer called, one sentence")
    outcome: str = Field(description="how the call ended, one sentence")
    resolved: bool = Field(description="whether the customer's issue was resolved in the call")
    satisfaction: int = Field(ge=1, le=5, description="estimated customer satisfaction, 1 (very unhappy) to 5")
    conflict: LLMConflict
    action_items: list[str] = Field(description="follow-ups someone committed to, empty if none")
    roles: list[LLMRole] = Field(description="the role of every speaker label in the transcript")
    agent: LLMAgent


def _strictify(node: Any) -> Any:
    """OpenAI strict structured outputs want every property required and no extra keywords they
    do not support; pydantic emits `title` and `default`."""
    if isinstance(node, dict):
        node = {k: _strictify(v) for k, v in node.items() if k not in ("title", "default")}
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strictify(v) for v in node]
    return node


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of `model` in the form strict structured outputs accept."""
    return _strictify(copy.deepcopy(model.model_json_schema()))


def analysis_json_schema() -> dict[str, Any]:
    """The JSON schema of LLMAnalysis in the form strict structured outputs accept."""
    return strict_json_schema(LLMAnalysis)
