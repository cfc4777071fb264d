"""Prompts for the LLM analyzer and chunking of long transcripts within a token budget."""

from __future__ import annotations

import json
from collections.abc import Sequence

from callytics_ray.llm.tokens import estimate_tokens
from callytics_ray.types import SpeakerRole, Utterance

SYSTEM_PROMPT = (
    "You are a quality-assurance analyst for a call centre. You read a transcript of one phone call "
    "between an agent and a customer and answer with one JSON object that follows the given schema. "
    "Base every field on the transcript only. Masks such as [CARD] or [PHONE] stand for personal data "
    "that was removed; never guess it. Write in English even when the call is in another language. "
    "Speaker labels come from automatic speaker separation and carry no role: decide which label is "
    "the agent from what is said (who greets or names the company and offers help, who states the "
    "problem) and say how sure you are."
)

MERGE_PROMPT = (
    "The call was too long for one request, so it was analysed in consecutive parts. Below are the "
    "analyses of the parts, in order. Combine them into one analysis of the whole call: one summary, "
    "the main topics, the reason and the agent from the start, the outcome and resolution from the "
    "end, and all action items and conflict evidence."
)


def transcript_lines(utterances: Sequence[Utterance], roles: Sequence[SpeakerRole] = ()) -> list[str]:
    """One line per utterance: "[01:02] SPEAKER_00 (agent): text" (the role only when given)."""
    role_of = {r.speaker: r.role for r in roles}
    lines = []
    for u in utterances:
        minutes, seconds = divmod(int(u.start), 60)
        role = f" ({role_of[u.speaker]})" if u.speaker in role_of else ""
        lines.append(f"[{minutes:02d}:{seconds:02d}] {u.speaker}{role}: {u.text.strip()}")
    return lines


def user_prompt(lines: Sequence[str], *, part: int | None = None, parts: int | None = None) -> str:
    head = "Transcript" if part is None else f"Transcript, part {part} of {parts}"
    return f"{head}:\n" + "\n".join(lines)


def merge_prompt(partials: Sequence[dict]) -> str:
    body = "\n".join(f"Part {i + 1}: {json.dumps(p, ensure_ascii=False)}" for i, p in enumerate(partials))
    return f"{MERGE_PROMPT}\n\n{body}"


def chunk_lines(lines: Sequence[str], budget_tokens: int) -> list[list[str]]:
    """Consecutive groups of lines, each within `budget_tokens` (a single longer line is cut)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        for piece in _cut(line, budget_tokens):
            cost = estimate_tokens(piece) + 1
            if current and used + cost > budget_tokens:
                chunks.append(current)
                current, used = [], 0
            current.append(piece)
            used += cost
    if current:
        chunks.append(current)
    return chunks


def _cut(line: str, budget_tokens: int) -> list[str]:
    if estimate_tokens(line) + 1 <= budget_tokens:
        return [line]
    pieces, current = [], ""
    for word in line.split(" "):
        candidate = f"{current} {word}".strip()
        if current and estimate_tokens(candidate) + 1 > budget_tokens:
            pieces.append(current)
            candidate = word
        current = candidate
    return pieces + ([current] if current else [])
