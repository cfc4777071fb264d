"""Everything the call page shows, read off one `CallView` (the API's answer): the parties and
their turns, the transcript with its redactions masked, the charts, the headline flags, the stage
states, the downloads, and whether the call can be retried or is still running."""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.api.console.call_charts import Chart, quality_charts, sentiment_chart
from callytics_ray.api.console.transcript_view import Speaker, Speakers, TranscriptLine, transcript_lines
from callytics_ray.api.runner import FINISHED
from callytics_ray.api.schemas import CallView
from callytics_ray.export import FORMATS, MEDIA_TYPES
from callytics_ray.headline import CallFlag
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import CallStatus
from callytics_ray.storage.keys import ApiKeyRecord

FLAG_NAMES: dict[CallFlag, str] = {
    CallFlag.CONFLICT: "Conflict",
    CallFlag.NEGATIVE_CUSTOMER: "Negative customer",
    CallFlag.UNRESOLVED: "Unresolved",
    CallFlag.LONG_SILENCE: "Long silence",
    CallFlag.INTERRUPTIONS: "Agent interrupts",
    CallFlag.PII: "Personal data redacted",
    CallFlag.STAGE_ERROR: "Stage error",
}
TRANSCRIPT_NAMES: dict[str, str] = {
    "json": "Result (JSON)",
    "txt": "Transcript (text)",
    "srt": "Subtitles (SRT)",
    "vtt": "Subtitles (WebVTT)",
    "rttm": "Speaker turns (RTTM)",
}
RETRIABLE = frozenset({CallStatus.FAILED, CallStatus.PARTIAL})


@dataclass(frozen=True)
class Flag:
    value: str
    name: str


@dataclass(frozen=True)
class Turn:
    """One utterance's extent, also as percentages of the call (where its lane draws it)."""

    start: float
    end: float
    left_pct: float
    width_pct: float


@dataclass(frozen=True)
class Lane:
    """One party's row under the waveform: its turns (its utterances' times)."""

    speaker: Speaker
    turns: list[Turn]


@dataclass(frozen=True)
class StageRow:
    stage: str
    status: str
    attempts: int
    seconds: float | None
    error: str | None
    share: float  # of the slowest stage's seconds, for the bar drawn next to it


@dataclass(frozen=True)
class Download:
    name: str
    href: str
    filename: str | None  # None: the server's Content-Disposition names the file
    media_type: str


@dataclass(frozen=True)
class CallPage:
    call: CallView
    duration_s: float
    speakers: list[Speaker]
    lanes: list[Lane]
    transcript: list[TranscriptLine]
    sentiment: Chart | None
    quality: list[Chart]
    flags: list[Flag]
    stages: list[StageRow]
    downloads: list[Download]
    can_retry: bool
    running: bool

    @property
    def stages_done(self) -> int:
        return sum(1 for s in self.stages if s.status == "done")

    @property
    def stages_seconds(self) -> float:
        return sum(s.seconds or 0.0 for s in self.stages if s.status == "done")


def call_page(call: CallView, caller: ApiKeyRecord) -> CallPage:
    result = call.result or CallAnalysis(call_id=call.id)
    speakers = Speakers(result)
    duration = _duration(call, result)
    return CallPage(
        call=call,
        duration_s=duration,
        speakers=list(speakers),
        lanes=_lanes(result, speakers, duration),
        transcript=transcript_lines(result, speakers),
        sentiment=sentiment_chart(result.sentiment, speakers, duration),
        quality=quality_charts(result.quality, speakers),
        flags=[_flag(value) for value in call.flags],
        stages=_stages(call),
        downloads=_downloads(call),
        can_retry=call.status in RETRIABLE and caller.allows("submit"),
        running=call.status not in FINISHED,
    )


def _duration(call: CallView, result: CallAnalysis) -> float:
    for known in (call.duration_s, result.audio and result.audio.duration_s, result.quality and result.quality.duration_s):
        if known:
            return float(known)
    return max((s.end for s in result.segments), default=0.0)


def _lanes(result: CallAnalysis, speakers: Speakers, duration_s: float) -> list[Lane]:
    turns: dict[str, list[Turn]] = {}
    scale = 100 / duration_s if duration_s > 0 else 0.0
    for segment in result.segments:
        start, end = min(segment.start, duration_s), min(max(segment.end, segment.start), duration_s)
        turn = Turn(segment.start, segment.end, round(start * scale, 3), round((end - start) * scale, 3))
        turns.setdefault(speakers.get(segment.speaker).key, []).append(turn)
    return [Lane(s, turns[s.key]) for s in speakers if s.key in turns]


def _flag(value: str) -> Flag:
    try:
        return Flag(value, FLAG_NAMES[CallFlag(value)])
    except (ValueError, KeyError):  # a flag newer than this page
        return Flag(value, value.replace("_", " "))


def _stages(call: CallView) -> list[StageRow]:
    slowest = max((s.seconds or 0.0 for s in call.stages), default=0.0)
    return [StageRow(s.stage, s.status, s.attempts, s.seconds, s.error,
                     (s.seconds or 0.0) / slowest if slowest > 0 else 0.0) for s in call.stages]


def _downloads(call: CallView) -> list[Download]:
    base = f"/v1/calls/{call.id}"
    out = []
    if call.result is not None:
        out += [Download(TRANSCRIPT_NAMES.get(fmt, fmt), f"{base}/transcript?format={fmt}", f"{call.id}.{fmt}",
                         MEDIA_TYPES[fmt]) for fmt in FORMATS]
    out.append(Download("Call, stages and result (JSON)", base, f"{call.id}.call.json", "application/json"))
    out.append(Download("Recording", f"{base}/audio", None, "audio/*"))
    return out
