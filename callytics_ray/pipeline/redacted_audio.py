"""Where a call's PII is in its recording, and how its redacted copy is described when stored.

A PII span carries the seconds of its masked words. One without (no word of the text could be
matched to it) hides its whole segment, from the segment's stored start to end: more than the
PII, never less. A span that names no stored segment either cannot be placed, so no copy is made
(a StageError) rather than one that might let it through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from callytics_ray.audio.redact import AudioSpan, RedactedRecording
from callytics_ray.errors import StageError
from callytics_ray.result import CallAnalysis
from callytics_ray.storage.models import AppliedSpan, AudioRedaction, RedactedSpan
from callytics_ray.storage.tables import utcnow

if TYPE_CHECKING:
    from callytics_ray.pipeline.backend import StageBackend
    from callytics_ray.pipeline.request import CallRequest


STAGE = "audio_redaction"


def pii_spans(analysis: CallAnalysis) -> list[RedactedSpan]:
    """The call's PII spans in seconds (see the module docstring for spans without word times).

    Raises:
        StageError: a span has no seconds and names no stored segment (not retriable).
    """
    spans: list[RedactedSpan] = []
    for found in analysis.redactions or ():
        if found.start_s is not None and found.end_s is not None:
            spans.append(RedactedSpan(type=found.type, segment=found.segment, start_s=found.start_s, end_s=found.end_s))
        elif 0 <= found.segment < len(analysis.segments):
            segment = analysis.segments[found.segment]
            spans.append(RedactedSpan(type=found.type, segment=found.segment, start_s=segment.start,
                                      end_s=segment.end, timing="segment"))
        else:
            raise StageError(
                STAGE, f"a {found.type} span of segment {found.segment} has no seconds and the call has no such "
                "segment, so it cannot be placed in the recording", retriable=False,
            )
    return spans


def audio_spans(spans: Sequence[RedactedSpan]) -> list[AudioSpan]:
    return [AudioSpan(s.start_s, s.end_s) for s in spans]


def redacted(recording: RedactedRecording, spans: Sequence[RedactedSpan]) -> AudioRedaction:
    """The stored description of a redacted copy."""
    return AudioRedaction(
        state="redacted", created_at=utcnow(), mode=recording.mode, tone_hz=recording.tone_hz,
        pad_s=recording.pad_s, spans=list(spans),
        applied=[AppliedSpan(start_s=round(s.start_s, 3), end_s=round(s.end_s, 3)) for s in recording.applied],
        content_type=recording.content_type, size_bytes=len(recording.data),
        sample_rate_hz=recording.sample_rate_hz, channels=recording.channels,
        sample_format=recording.sample_format, lossless_source=recording.lossless_source,
    )


def identical() -> AudioRedaction:
    """No PII was found: the original is the redacted copy (stored once)."""
    return AudioRedaction(state="identical", created_at=utcnow(), reason="no PII was found in the transcript")


def unavailable(reason: str) -> AudioRedaction:
    return AudioRedaction(state="unavailable", created_at=utcnow(), reason=reason)


def spans_unknown(redaction_error: str) -> str:
    """Why there is no copy when the text's PII redaction failed."""
    return f"PII redaction failed, so where the recording holds PII is unknown ({redaction_error})"


def not_made(error: str) -> str:
    """Why there is no copy when making it failed."""
    return f"the redacted copy could not be made: {error}"


async def make_copy(
    analysis: CallAnalysis, request: CallRequest, backend: StageBackend
) -> tuple[AudioRedaction, bytes | None]:
    """The redacted copy of `request`'s recording for `analysis`'s PII spans, made by `backend`'s
    audio stage (`StageBackend.redact_audio`): (its description, its bytes). Without PII the
    original is the copy (no bytes).

    Raises:
        StageError: a span cannot be placed (`pii_spans`); whatever the audio stage raises.
    """
    spans = pii_spans(analysis)
    if not spans:
        return identical(), None
    recording = await backend.redact_audio(request, audio_spans(spans))
    return redacted(recording, spans), recording.data
