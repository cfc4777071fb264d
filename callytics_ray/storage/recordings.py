"""A call's recordings beyond the upload: its redacted copy, and the retention of the original."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.filters import as_utc
from callytics_ray.storage.models import AudioRedaction, RecordingInfo
from callytics_ray.storage.tables import Call, CallAudio, CallStatus, RedactedCallAudio, utcnow

# Calls no worker runs or will resume: only their original may go (queued or processing calls
# need it to run). A partial or failed call whose original is gone can no longer be retried.
_FINISHED = (CallStatus.COMPLETED, CallStatus.PARTIAL, CallStatus.FAILED)
_SUFFIXES = {"audio/flac": ".flac", "audio/wav": ".wav"}


class RecordingRepository(Repository):
    """Redacted copies of recordings and the deletion of originals past their retention."""

    @writes
    def save_audio_redaction(self, call_id: str, redaction: AudioRedaction, data: bytes | None = None) -> None:
        """Store (or replace) the redacted copy of a call's recording and how it was made.

        Args:
            redaction: the copy's description; `state` "identical" and "unavailable" store no bytes.
            data: the encoded copy, for `state` "redacted".
        """
        with Session(self.engine) as session:
            find_call(session, call_id, None)
            write_redaction(session, call_id, redaction, data)
            session.commit()

    def recording_info(self, call_id: str, *, tenant: str | None = None) -> RecordingInfo:
        """What is stored of the call's recording: the original, and the redacted copy if made."""
        with Session(self.engine) as session:
            call = find_call(session, call_id, tenant)
            has_original = session.exec(select(CallAudio.call_id).where(CallAudio.call_id == call_id)).first()
            info = session.exec(
                select(RedactedCallAudio.info_json).where(RedactedCallAudio.call_id == call_id)
            ).first()
        deleted_at = as_utc(call.original_audio_deleted_at) if call.original_audio_deleted_at else None
        return RecordingInfo(
            original="stored" if has_original else ("deleted" if deleted_at else "absent"),
            original_deleted_at=deleted_at,
            redacted=AudioRedaction.model_validate_json(info) if info else None,
        )

    def get_redacted_audio_media(
        self, call_id: str, *, tenant: str | None = None
    ) -> tuple[bytes, str | None, str | None] | None:
        """The redacted copy as (data, content type, filename); for a call without PII that is the
        original. None when there is no copy to serve (not made yet, or unavailable: see
        `recording_info`).

        Raises:
            NotFoundError: no such call for this tenant.
        """
        with Session(self.engine) as session:
            find_call(session, call_id, tenant)
            row = session.get(RedactedCallAudio, call_id)
            if row is None or row.state == "unavailable":
                return None
            if row.data is not None:
                return bytes(row.data), row.content_type, f"redacted{_SUFFIXES.get(row.content_type or '', '')}"
            original = session.get(CallAudio, call_id)
            if original is None:
                return None
            return bytes(original.data), original.content_type, original.filename

    @writes
    def delete_expired_originals(self, *, created_before: datetime, limit: int = 100) -> list[str]:
        """Delete the original recording of finished calls created before `created_before`.

        Calls queued or processing (a retry included) or leased by a worker keep theirs: it is
        checked in the same transaction as the delete, so a call requeued meanwhile is skipped.
        The redacted copy stays; a call without PII, whose copy is the original, gets the bytes
        moved into its copy. The call records when its original went.

        Returns:
            the ids of the calls whose original was deleted.
        """
        cutoff = as_utc(created_before)
        with Session(self.engine) as session:
            candidates = session.exec(
                select(Call.id)
                .join(CallAudio, CallAudio.call_id == Call.id)
                .where(Call.status.in_(_FINISHED), Call.claimed_by.is_(None), Call.created_at < cutoff)
                .order_by(Call.created_at)
                .limit(limit)
            ).all()
        return [call_id for call_id in candidates if self._delete_original(call_id)]

    def _delete_original(self, call_id: str) -> bool:
        with Session(self.engine) as session:
            marked = session.execute(
                update(Call)
                .where(Call.id == call_id, Call.status.in_(_FINISHED), Call.claimed_by.is_(None))
                .values(original_audio_deleted_at=utcnow())
            ).rowcount
            original = session.get(CallAudio, call_id)
            if marked != 1 or original is None:
                session.rollback()
                return False
            copy = session.get(RedactedCallAudio, call_id)
            if copy is not None and copy.state == "identical" and copy.data is None:
                copy.data, copy.content_type = original.data, original.content_type
                session.add(copy)
            session.execute(delete(CallAudio).where(CallAudio.call_id == call_id))
            session.commit()
            return True


def write_redaction(session: Session, call_id: str, redaction: AudioRedaction, data: bytes | None) -> None:
    """Store (or replace) the call's redacted copy in `session`'s transaction, without committing."""
    row = session.get(RedactedCallAudio, call_id) or RedactedCallAudio(call_id=call_id, state="", info_json="")
    row.state, row.created_at = redaction.state, redaction.created_at
    row.info_json = redaction.model_dump_json(exclude_none=True)
    row.content_type, row.data = redaction.content_type, data
    session.add(row)
