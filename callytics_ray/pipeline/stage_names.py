"""The stages of a call, by name: what the store tracks per call and what metrics label. Kept
apart from the orchestrator so a replica that only needs the names does not import every stage."""

from __future__ import annotations

STAGES: tuple[str, ...] = (
    "audio", "asr", "diarization", "speakers", "punctuation", "redaction", "sentiment", "quality", "llm",
    "audio_redaction",
)
# Without these a call has no transcript: their failure fails the call, any other makes it partial.
REQUIRED_STAGES = frozenset({"audio", "asr"})
