"""What a call was submitted with, stored as the call's `request_json`, so that any worker can
rebuild the `CallRequest` (a retry, a resume after a crash) from the database alone."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callytics_ray.errors import ConfigError
from callytics_ray.pipeline import CallRequest
from callytics_ray.result import Role
from callytics_ray.settings import ChannelLayout
from callytics_ray.storage import CallStore
from callytics_ray.vocabulary import MAX_REQUEST_TERMS, MAX_TERM_CHARS, RequestTerms, parse_terms


class SubmittedOptions(BaseModel):
    """The per-call options an uploader can set (the form fields other than the file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$", description='language hint, e.g. "en", "ko"')
    channel_layout: ChannelLayout | None = Field(None, description="override the channel layout")
    agent_channel: int | None = Field(None, ge=0, le=1, description="dual-channel calls: the agent's channel")
    roles: dict[str, Role] = Field({}, description='speaker -> role override, e.g. {"SPEAKER_01": "agent"}')
    min_speakers: int | None = Field(None, ge=1, le=32)
    max_speakers: int | None = Field(None, ge=1, le=32)
    agent_id: str | None = Field(None, max_length=128)
    customer_id: str | None = Field(None, max_length=128)
    reference_transcript: str | None = Field(
        None, max_length=200_000, description="what was really said: the A/B report computes WER against it"
    )

    @field_validator("agent_id", "customer_id")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # Ids are shown, filtered on and stored in indexed columns; PostgreSQL refuses NUL outright.
        if value is not None and not value.isprintable():
            raise ValueError("only printable characters are allowed")
        return value

    @field_validator("reference_transcript")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value
    vocabulary: RequestTerms = Field(
        [],
        description=f"terms this call may contain (product names, people, places, jargon), added before the "
                    f"tenant's vocabulary: a JSON list or comma-separated; at most {MAX_REQUEST_TERMS} terms of at "
                    f"most {MAX_TERM_CHARS} characters",
    )

    @field_validator("vocabulary", mode="before")
    @classmethod
    def _terms(cls, value: object) -> object:
        return parse_terms(value)

    @model_validator(mode="after")
    def _speaker_bounds(self) -> SubmittedOptions:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError(f"min_speakers {self.min_speakers} is above max_speakers {self.max_speakers}")
        return self


class StoredRequest(SubmittedOptions):
    """`SubmittedOptions` plus what the gateway decided and measured at submission.

    Attributes:
        variant: the A/B variant picked for the call.
        call_vocabulary: the terms the call is recognised with: the request's `vocabulary`, then
            the tenant's vocabulary version `tenant_vocabulary_version` (merged on acceptance, so a
            retry or resume uses the same terms whatever the tenant stores later).
        fingerprint: SHA-256 over the audio and the options; an idempotency key reused with a
            different fingerprint is a conflict.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = 1
    variant: str | None = None
    call_vocabulary: list[str] = []
    tenant_vocabulary_version: int | None = None
    content_type: str | None = None
    fingerprint: str | None = None


def fingerprint(audio: bytes, options: SubmittedOptions) -> str:
    digest = hashlib.sha256(audio)
    digest.update(json.dumps(options.model_dump(mode="json"), sort_keys=True).encode())
    return digest.hexdigest()


def parse_stored_request(request_json: str | None) -> StoredRequest:
    """The stored request of a call (defaults for calls stored without one, e.g. by the CLI)."""
    if not request_json:
        return StoredRequest()
    try:
        return StoredRequest.model_validate_json(request_json)
    except ValueError as err:
        raise ConfigError(f"the stored request of this call is unreadable ({err.__class__.__name__})") from err


def load_call_request(store: CallStore, call_id: str) -> CallRequest:
    """Rebuild a call's `CallRequest` from the database: its record, stored request and audio.

    Raises:
        NotFoundError: no such call, or it has no stored audio.
        ConfigError: its stored request cannot be read.
    """
    record = store.get_call(call_id)
    stored = parse_stored_request(store.get_request_json(call_id))
    audio, filename = store.get_audio(call_id)
    return CallRequest(
        call_id=record.id,
        source=audio,
        name=filename or record.source_name,
        tenant=record.tenant,
        language=stored.language,
        layout=stored.channel_layout,
        agent_channel=stored.agent_channel,
        roles=dict(stored.roles),
        min_speakers=stored.min_speakers,
        max_speakers=stored.max_speakers,
        agent_id=stored.agent_id or record.agent_id,
        customer_id=stored.customer_id or record.customer_id,
        variant=stored.variant or record.variant,
        vocabulary=tuple(stored.call_vocabulary),
        tenant_vocabulary_version=stored.tenant_vocabulary_version,
    )
