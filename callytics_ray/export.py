"""Render a CallAnalysis as JSON, plain text, SRT, VTT or RTTM."""

from __future__ import annotations

from collections.abc import Callable

from callytics_ray.errors import ConfigError
from callytics_ray.result import CallAnalysis, SegmentResult

FORMATS = ("json", "txt", "srt", "vtt", "rttm")
MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
}


def _clock(seconds: float, *, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _who(segment: SegmentResult) -> str | None:
    if segment.speaker and segment.role:
        return f"{segment.speaker} ({segment.role})"
    if segment.speaker:
        return segment.speaker
    if segment.channel is not None:
        return f"CHANNEL_{segment.channel}"
    return None


def to_txt(analysis: CallAnalysis) -> str:
    lines = []
    for s in analysis.segments:
        who = _who(s)
        prefix = f"[{_clock(s.start, sep='.')} - {_clock(s.end, sep='.')}]"
        lines.append(f"{prefix} {who}: {s.text}" if who else f"{prefix} {s.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(analysis: CallAnalysis) -> str:
    blocks = []
    for i, s in enumerate(analysis.segments, start=1):
        who = _who(s)
        text = f"{who}: {s.text}" if who else s.text
        blocks.append(f"{i}\n{_clock(s.start, sep=',')} --> {_clock(s.end, sep=',')}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(analysis: CallAnalysis) -> str:
    blocks = ["WEBVTT\n"]
    for s in analysis.segments:
        who = _who(s)
        # WebVTT voice spans carry the speaker so players can style or filter by it.
        text = f"<v {who}>{s.text}" if who else s.text
        blocks.append(f"{_clock(s.start, sep='.')} --> {_clock(s.end, sep='.')}\n{text}\n")
    return "\n".join(blocks)


def to_rttm(analysis: CallAnalysis) -> str:
    """NIST RTTM speaker turns: SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>."""
    file_id = analysis.call_id
    lines = []
    for s in analysis.segments:
        speaker = s.speaker or (f"CHANNEL_{s.channel}" if s.channel is not None else "SPEAKER_00")
        lines.append(
            f"SPEAKER {file_id} 1 {s.start:.3f} {max(0.0, s.end - s.start):.3f} <NA> <NA> {speaker} <NA> <NA>"
        )
    return "\n".join(lines) + ("\n" if lines else "")


_RENDERERS: dict[str, Callable[[CallAnalysis], str]] = {
    "json": lambda a: a.to_json(),
    "txt": to_txt,
    "srt": to_srt,
    "vtt": to_vtt,
    "rttm": to_rttm,
}


def render(analysis: CallAnalysis, fmt: str) -> str:
    """Render `analysis` in `fmt` (one of FORMATS).

    Raises:
        ConfigError: unknown format.
    """
    renderer = _RENDERERS.get(fmt.lower())
    if renderer is None:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderer(analysis)
