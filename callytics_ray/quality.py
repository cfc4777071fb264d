"""Communication quality of a call: who talked how much, how fast (over the call too) and how
loud, silence and non-talk time, overtalk, interruptions, response latency, and positive /
negative / profane / polite wording per speaker.

Usage:
    >>> quality = QualityAnalyzer().measure(utterances, roles, duration_s=62.0, loudness=info.loudness)
    >>> quality.talk_share_by_role["agent"], quality.non_talk_time_s, quality.speakers[0].loudness_lufs
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from callytics_ray.loudness import integrated_lufs
from callytics_ray.result import (
    InterruptionResult,
    LoudnessPoint,
    NonTalkInstance,
    QualityResult,
    ResponseLatencyResult,
    SpeakerQualityResult,
    TalkSpeedPoint,
)
from callytics_ray.settings import QualityOptions
from callytics_ray.text.wordlists import LIST_NAMES, WordList, load_wordlists
from callytics_ray.types import LoudnessEnvelope, SpeakerRole, SpeakerTurn, Utterance

Interval = tuple[float, float]

# Whisper's word timings leave short gaps between the words of fluent speech; gaps shorter than
# this are speech, not silence.
_WORD_GAP_S = 0.25


def merge_intervals(intervals: Sequence[Interval], *, gap_s: float = 0.0) -> list[Interval]:
    """Union of intervals, joining those separated by at most `gap_s`."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start - merged[-1][1] <= gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _length(intervals: Sequence[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def subtract_intervals(intervals: Sequence[Interval], removed: Sequence[Interval]) -> list[Interval]:
    """The parts of `intervals` outside every interval of `removed` (both sorted and disjoint)."""
    out: list[Interval] = []
    for start, end in intervals:
        for r_start, r_end in removed:
            if r_end <= start or r_start >= end:
                continue
            if r_start > start:
                out.append((start, r_start))
            start = max(start, r_end)
        if end > start:
            out.append((start, end))
    return out


def _clipped(intervals: Sequence[Interval], start: float, end: float) -> float:
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in intervals)


def speech_intervals(utterance: Utterance) -> list[Interval]:
    """Where the speaker is actually talking: word timings when known, else the utterance span."""
    if utterance.words:
        return merge_intervals([(w.start, w.end) for w in utterance.words], gap_s=_WORD_GAP_S)
    return [(utterance.start, utterance.end)]


def overlap_intervals(per_speaker: dict[str, list[Interval]], min_overlap_s: float) -> list[Interval]:
    """Stretches where two or more speakers talk at once (each at least `min_overlap_s`)."""
    events: list[tuple[float, int]] = []
    for intervals in per_speaker.values():
        for a, b in intervals:
            events += [(a, 1), (b, -1)]
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same instant
    out: list[Interval] = []
    active, since = 0, 0.0
    for time, delta in events:
        if active < 2 <= active + delta:
            since = time
        elif active >= 2 > active + delta and time - since >= min_overlap_s:
            out.append((since, time))
        active += delta
    return out


class QualityAnalyzer:
    """Computes QualityResult from speaker-attributed utterances.

    Example:
        >>> QualityAnalyzer().measure(utterances, roles, duration_s=60.0).silence_ratio
    """

    def __init__(self, wordlists: dict[str, WordList] | None = None) -> None:
        self._lists = wordlists or load_wordlists()

    def measure(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        *,
        duration_s: float,
        options: QualityOptions | None = None,
        turns: Sequence[SpeakerTurn] | None = None,
        loudness: LoudnessEnvelope | None = None,
    ) -> QualityResult:
        """Metrics of one call.

        Args:
            utterances: speaker-attributed word runs.
            roles: who is agent/customer; speakers without a role are reported under their label.
            duration_s: length of the recording.
            options: thresholds (overlap, interruptions, backchannels, response gaps).
            turns: the diarization's speaker turns; when given, overtalk is measured on them (a mono
                transcript is one stream of words and never overlaps itself; the turns keep the
                overlapped speech the segmentation model heard); non-talk time is measured on them
                too (on the words without them).
            loudness: the audio stage's envelope of the original levels; without it the speakers'
                loudness is None.
        """
        options = options or QualityOptions()
        ordered = sorted(utterances, key=lambda u: (u.start, u.end))
        role_of = {r.speaker: r.role for r in roles}
        speakers = list(dict.fromkeys(u.speaker for u in ordered))
        mine = {s: [u for u in ordered if u.speaker == s] for s in speakers}
        per_speaker = {s: merge_intervals([i for u in mine[s] for i in speech_intervals(u)]) for s in speakers}
        talk = {s: _length(iv) for s, iv in per_speaker.items()}
        total_talk = sum(talk.values())
        speech = merge_intervals([i for iv in per_speaker.values() for i in iv], gap_s=_WORD_GAP_S)
        silence_ratio, longest = _silence(speech, duration_s)
        talking = per_speaker
        if turns:
            talking = {
                s: merge_intervals([(t.start, t.end) for t in turns if t.speaker == s])
                for s in dict.fromkeys(t.speaker for t in turns)
            }
        overlaps = overlap_intervals(talking, options.min_overlap_s)
        overtalk = _length(overlaps)
        # Who talks when is the diarization's decision (voice activity, in time to a frame); Whisper's
        # word timings stray a few hundred ms into the pauses around them.
        anyone = merge_intervals([i for iv in talking.values() for i in iv])
        non_talk = _non_talk(anyone, duration_s, options.non_talk_min_s)
        non_talk_s = sum(n.duration_s for n in non_talk)
        interruptions = _interruptions(ordered, options)
        share_by_role: dict[str, float] = defaultdict(float)
        for s in speakers:
            share_by_role[role_of.get(s, s)] += talk[s] / total_talk if total_talk else 0.0
        return QualityResult(
            duration_s=round(duration_s, 3),
            talk_share_by_role={k: round(v, 4) for k, v in share_by_role.items()},
            silence_ratio=round(silence_ratio, 4),
            longest_silence_s=round(longest, 3),
            overtalk_s=round(overtalk, 3),
            overtalk_ratio=round(overtalk / duration_s, 4) if duration_s > 0 else 0.0,
            interruptions=interruptions,
            response_latency=_latencies(ordered, options),
            speakers=[
                self._speaker(
                    s, role_of.get(s), mine[s], talk[s], total_talk, sum(1 for i in interruptions if i.interrupter == s),
                    talk_speed=_talk_speed(mine[s], per_speaker[s], duration_s, options.talk_speed_window_s),
                    **_loudness(loudness, mine[s], overlaps),
                )
                for s in speakers
            ],
            non_talk_time_s=round(non_talk_s, 3),
            non_talk_ratio=round(non_talk_s / duration_s, 4) if duration_s > 0 else 0.0,
            non_talk=non_talk,
        )

    def _speaker(
        self, speaker: str, role: str | None, mine: list[Utterance], talk_s: float, total_talk: float, interrupted: int,
        **measured: Any,
    ) -> SpeakerQualityResult:
        text = " ".join(u.text for u in mine)
        words = sum(len(u.words) or len(u.text.split()) for u in mine)
        counts = {name: dict(self._lists[name].count(text)) for name in LIST_NAMES}
        return SpeakerQualityResult(
            speaker=speaker,
            role=role,
            talk_time_s=round(talk_s, 3),
            talk_share=round(talk_s / total_talk, 4) if total_talk else 0.0,
            words=words,
            speaking_rate_wpm=round(words / (talk_s / 60.0), 1) if talk_s > 0 else 0.0,
            interruptions_made=interrupted,
            positive_words=counts["positive"],
            negative_words=counts["negative"],
            profane_words=counts["profane"],
            politeness_markers=counts["politeness"],
            **measured,
        )


def _silence(speech: list[Interval], duration_s: float) -> tuple[float, float]:
    """Share of the recording with nobody talking, and the longest such gap between speech.

    Leading and trailing silence (ringing, hold music cut-off) count towards the ratio but not
    towards the longest silence, which measures dead air inside the conversation."""
    if duration_s <= 0:
        return 0.0, 0.0
    if not speech:
        return 1.0, 0.0
    ratio = max(0.0, 1.0 - _length(speech) / duration_s)
    gaps = [b[0] - a[1] for a, b in zip(speech, speech[1:])]
    return ratio, max(gaps, default=0.0)


def _non_talk(talk: list[Interval], duration_s: float, min_s: float) -> list[NonTalkInstance]:
    """Stretches of at least `min_s` with nobody talking, from call start to call end."""
    edges = [0.0] + [x for a, b in talk for x in (a, b)] + [max(duration_s, talk[-1][1] if talk else 0.0)]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    return [
        NonTalkInstance(start=round(a, 3), end=round(b, 3), duration_s=round(b - a, 3))
        for a, b in gaps
        if b - a >= min_s and b > a
    ]


def _word_starts(utterance: Utterance) -> list[float]:
    if utterance.words:
        return [w.start for w in utterance.words]
    return [utterance.start] * len(utterance.text.split())


def _talk_speed(mine: list[Utterance], talking: list[Interval], duration_s: float, window_s: float) -> list[TalkSpeedPoint]:
    """Words per minute of talk time per window, in the windows where the speaker talked."""
    end_s = max([duration_s, *(b for _, b in talking)])
    count = max(1, int(-(-end_s // window_s)))  # ceil
    words = [0] * count
    for u in mine:
        for start in _word_starts(u):
            words[min(max(int(start // window_s), 0), count - 1)] += 1
    points = []
    for k in range(count):
        start, end = k * window_s, min((k + 1) * window_s, end_s)
        talk_s = _clipped(talking, start, end)
        if words[k] or talk_s > 0:
            points.append(TalkSpeedPoint(
                start=round(start, 3), end=round(end, 3), words=words[k], talk_time_s=round(talk_s, 3),
                wpm=round(words[k] / (talk_s / 60.0), 1) if talk_s > 0 else 0.0,
            ))
    return points


def _loudness(envelope: LoudnessEnvelope | None, mine: list[Utterance], overlaps: list[Interval]) -> dict[str, Any]:
    """A speaker's loudness, overall and per utterance, from the original levels.

    On a dual-channel call the speaker's own channel carries their voice even in overtalk; on a
    mono call overlapped stretches hold both voices, so they are left out (unless that leaves nothing).
    """
    if envelope is None or not mine:
        return {}
    frames = envelope.channel(mine[0].channel)
    mono = len(envelope.frames_lufs) == 1

    def level(intervals: list[Interval]) -> float | None:
        own = subtract_intervals(intervals, overlaps) if mono else intervals
        value = integrated_lufs(frames, envelope.frame_s, own or intervals)
        return round(value, 2) if value is not None else None

    points = []
    for u in mine:
        value = level(speech_intervals(u))
        if value is not None:
            points.append(LoudnessPoint(start=u.start, end=u.end, lufs=value))
    return {
        "loudness_lufs": level(merge_intervals([i for u in mine for i in speech_intervals(u)])),
        "loudness": points,
    }


def _interruptions(ordered: list[Utterance], options: QualityOptions) -> list[InterruptionResult]:
    """Someone starting to talk while another speaker still has at least
    `interruption_min_overlap_s` to go, with more than a backchannel ("okay", "mm-hm")."""
    out: list[InterruptionResult] = []
    for i, later in enumerate(ordered):
        words = len(later.words) or len(later.text.split())
        if words <= options.backchannel_max_words:
            continue
        for earlier in ordered[:i]:
            if earlier.speaker != later.speaker and earlier.start < later.start < earlier.end - options.interruption_min_overlap_s:
                out.append(
                    InterruptionResult(
                        time=round(later.start, 3),
                        interrupter=later.speaker,
                        interrupted=earlier.speaker,
                        overlap_s=round(min(earlier.end, later.end) - later.start, 3),
                    )
                )
                break
    return out


def _latencies(ordered: list[Utterance], options: QualityOptions) -> list[ResponseLatencyResult]:
    """Gaps from one party's last word to the other party's first word, per direction."""
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for prev, nxt in zip(ordered, ordered[1:]):
        if prev.speaker == nxt.speaker:
            continue
        gap = nxt.start - prev.end
        if 0.0 <= gap <= options.max_response_latency_s:
            gaps[(prev.speaker, nxt.speaker)].append(gap)
    return [
        ResponseLatencyResult(
            from_speaker=a, to_speaker=b, count=len(v), mean_s=round(statistics.fmean(v), 3),
            median_s=round(statistics.median(v), 3), max_s=round(max(v), 3),
        )
        for (a, b), v in gaps.items()
    ]
