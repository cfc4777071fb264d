"""Which recording of a call the audio route serves: the redacted copy by default, the original
only to admins (and 410 once retention deleted it), and why when there is none to serve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callytics_ray.api.errors import ConflictError, ForbiddenError, GoneError
from callytics_ray.api.runner import FINISHED
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

AUDIO_HEADER = "X-Callytics-Audio"
"""Response header saying which recording the body is: "redacted" or "original"."""


@dataclass(frozen=True, slots=True)
class AudioMedia:
    data: bytes
    content_type: str | None
    filename: str | None
    kind: Literal["redacted", "original"]


def call_audio(store: CallStore, call_id: str, caller: ApiKeyRecord, *, original: bool) -> AudioMedia:
    """The recording `caller` asked for.

    Raises:
        ForbiddenError: the original, without the admin scope.
        GoneError: the original, deleted by the retention setting.
        ConflictError: no redacted copy to serve (not made yet, or it could not be made: the reason).
        NotFoundError: no such call for this tenant, or nothing stored.
    """
    if original:
        if not caller.allows("admin"):
            raise ForbiddenError(
                "the original recording holds the PII its redacted copy hides: it needs the 'admin' scope "
                f"(this key has: {', '.join(caller.scopes)}); without original=true the redacted copy is served"
            )
        info = store.recording_info(call_id, tenant=caller.tenant)
        if info.original == "deleted":
            deleted = info.original_deleted_at.isoformat(timespec="seconds") if info.original_deleted_at else "?"
            raise GoneError(
                f"the original recording of call {call_id} was deleted at {deleted} by the retention setting "
                "(storage.original_audio_retention_days); its redacted copy is served without original=true",
                code="original_deleted",
            )
        data, content_type, filename = store.get_audio_media(call_id, tenant=caller.tenant)
        return AudioMedia(data, content_type, filename, "original")
    media = store.get_redacted_audio_media(call_id, tenant=caller.tenant)
    if media is None:
        raise _no_redacted_copy(store, call_id, caller)
    return AudioMedia(*media, "redacted")


def _no_redacted_copy(store: CallStore, call_id: str, caller: ApiKeyRecord) -> Exception:
    record = store.get_call(call_id, tenant=caller.tenant)
    redacted = store.recording_info(call_id, tenant=caller.tenant).redacted
    if record.status not in FINISHED:
        return ConflictError(
            f"call {call_id} is {record.status}; its redacted recording is made once its PII is found",
            code="not_ready",
        )
    if redacted is not None and redacted.state == "unavailable":
        return ConflictError(f"call {call_id} has no redacted recording: {redacted.reason}",
                             code="redacted_audio_unavailable")
    if redacted is None:
        why = f": {record.error}" if record.error else ""
        return ConflictError(f"call {call_id} has no redacted recording: it was not made{why}",
                             code="redacted_audio_unavailable")
    return NotFoundError(f"call {call_id} has no stored audio")
