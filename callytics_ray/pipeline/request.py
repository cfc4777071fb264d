"""What a caller asks for when submitting one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from callytics_ray.settings import ChannelLayout


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call to analyse.

    Attributes:
        call_id: the id results are stored under.
        source: the recording (path or bytes).
        name: the file name for messages and listings.
        language: a language hint ("en", "ko"); None lets Whisper detect it.
        layout: channel layout override; None uses the audio settings.
        agent_channel: on a dual-channel call, which channel is the agent (0 or 1).
        roles: per-request speaker->role override, e.g. {"SPEAKER_01": "agent"}.
        min_speakers / max_speakers: hints for diarization.
        agent_id / customer_id: caller metadata stored with the call.
        variant: A/B variant that served the call, when the gateway picks one.
        vocabulary: terms recognition is prompted with and category rules can match (the
            request's, then the tenant's; `callytics_ray.vocabulary`).
        tenant_vocabulary_version: the version of the tenant's vocabulary merged into it.
    """

    call_id: str
    source: Path | bytes
    name: str | None = None
    tenant: str = "default"
    language: str | None = None
    layout: ChannelLayout | None = None
    agent_channel: int | None = None
    roles: dict[str, str] = field(default_factory=dict)
    min_speakers: int | None = None
    max_speakers: int | None = None
    agent_id: str | None = None
    customer_id: str | None = None
    variant: str | None = None
    vocabulary: tuple[str, ...] = ()
    tenant_vocabulary_version: int | None = None
