"""The call page's charts: sentiment over the call per party, and the quality panel's small
charts (bars, and loudness and talk speed over the call per party), each with a one-line text
alternative (for screen readers, and for whoever wants the number)."""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.api.console.chart_specs import Axis, BarChart, BarSeries, LineChart, LineSeries
from callytics_ray.api.console.transcript_view import Speakers
from callytics_ray.result import CallSentimentResult, QualityResult, TrajectoryPoint

# The sentiment chart's y axis has this fixed width, drawn left of the chart area, so the chart
# area starts and ends where the waveform and the speaker lanes above it do (console.css
# .timeline-chart moves the canvas left by the same amount).
TIMELINE_AXIS_PX = 44
SILENCE_COLOUR = "--neu"
OVERTALK_COLOUR = "--neg"
# Mean, median and max of the response latencies: shades of one colour, not the speakers'.
LATENCY_COLOURS = ("--lat-mean", "--lat-median", "--lat-max")


@dataclass(frozen=True)
class Chart:
    """One chart of the page: `id` names its canvas and its embedded JSON."""

    id: str
    title: str
    alt: str
    spec: LineChart | BarChart
    legend: bool = True

    @property
    def kind(self) -> str:
        return "line" if isinstance(self.spec, LineChart) else "bars"


def _points(trajectory: list[TrajectoryPoint]) -> list[tuple[float, float]]:
    # A point stands for its window: drawn at the window's middle.
    return [(round((p.start + p.end) / 2, 3), p.score) for p in trajectory]


def sentiment_chart(sentiment: CallSentimentResult | None, speakers: Speakers, duration_s: float) -> Chart | None:
    """One line per party (its trajectory); the call's own trajectory only when no party has one
    (it is the customer's, or the whole call's when no customer is known: a line the parties' repeat)."""
    if sentiment is None:
        return None
    series = [
        LineSeries(label=speakers.get(p.speaker).label, points=_points(p.trajectory),
                   color=f"--spk{speakers.get(p.speaker).colour}")
        for p in sentiment.speakers if p.trajectory
    ]
    if not series and sentiment.trajectory:
        series = [LineSeries(label="Call", points=_points(sentiment.trajectory), color="--accent")]
    if not series:
        return None
    parts = [f"{s.label} {_trend(s.points)}" for s in series]
    return Chart(
        id="sentiment-chart", title="Sentiment over the call",
        alt=f"Sentiment from -1 (negative) to 1 (positive) over the call's {duration_s:.0f} s: " + "; ".join(parts) + ".",
        spec=LineChart(
            series=series,
            x=Axis(min=0, max=round(duration_s, 2), label="seconds", tick_align="inner"),
            y=Axis(min=-1, max=1, width=TIMELINE_AXIS_PX),
        ),
    )


def _trend(points: list[tuple[float, float]]) -> str:
    first, last = points[0][1], points[-1][1]
    return f"{first:+.2f} at {points[0][0]:.0f} s" + (f" to {last:+.2f} at {points[-1][0]:.0f} s" if len(points) > 1 else "")


def quality_charts(quality: QualityResult | None, speakers: Speakers) -> list[Chart]:
    if quality is None:
        return []
    charts = [_talk_share(quality, speakers), _silence(quality)]
    if quality.speakers:
        charts += [_interruptions(quality, speakers), _speaking_rate(quality, speakers)]
    if quality.response_latency:
        charts.append(_latency(quality, speakers))
    # Calls analysed before loudness and talk speed over time were measured have neither.
    if any(s.talk_speed for s in quality.speakers):
        charts.append(_talk_speed(quality, speakers))
    if any(s.loudness for s in quality.speakers):
        charts.append(_loudness(quality, speakers))
    return charts


def _pct(share: float) -> float:
    return round(100 * share, 1)


def _talk_share(quality: QualityResult, speakers: Speakers) -> Chart:
    if quality.speakers:
        parties = [(speakers.get(s.speaker), s.talk_share) for s in quality.speakers]
        names = [(p.label, p.short_label) for p, _ in parties]
        colours = [f"--spk{p.colour}" for p, _ in parties]
        shares = [share for _, share in parties]
    else:  # no speakers known, only roles
        names = [(role.capitalize(), role.capitalize()) for role in quality.talk_share_by_role]
        colours = [f"--spk{i}" for i in range(len(names))]
        shares = list(quality.talk_share_by_role.values())
    values = [_pct(share) for share in shares] + [_pct(quality.silence_ratio)]
    names.append(("Silence", "Silence"))
    return Chart(
        id="quality-talk-share", title="Talk share",
        alt=", ".join(f"{name} {value:g}%" for (name, _), value in zip(names, values, strict=True)) + " of the call.",
        spec=BarChart(labels=[short for _, short in names], horizontal=True, y=Axis(min=0, max=100, label="% of the call"),
                      series=[BarSeries(label="% of the call", values=values,
                                        colors=colours + [SILENCE_COLOUR])]),
        legend=False,
    )


def _silence(quality: QualityResult) -> Chart:
    labels, values = ["Longest silence", "Overtalk"], [quality.longest_silence_s, quality.overtalk_s]
    colours = [SILENCE_COLOUR, OVERTALK_COLOUR]
    alt = (f"Silence {_pct(quality.silence_ratio):g}% of the call, the longest {quality.longest_silence_s:.1f} s; "
           f"overtalk {quality.overtalk_s:.1f} s ({_pct(quality.overtalk_ratio):g}% of the call)")
    if quality.non_talk_time_s is not None:
        labels.append("Non-talk")
        values.append(quality.non_talk_time_s)
        colours.append(SILENCE_COLOUR)
        n = len(quality.non_talk)
        alt += (f"; non-talk time {quality.non_talk_time_s:.1f} s ({_pct(quality.non_talk_ratio or 0.0):g}% of the call) "
                f"in {n} stretch{'es' if n != 1 else ''}")
    return Chart(
        id="quality-silence", title="Silence and overtalk", alt=alt + ".",
        spec=BarChart(labels=labels, y=Axis(min=0, label="seconds"),
                      series=[BarSeries(label="seconds", values=values, colors=colours)]),
        legend=False,
    )


def _per_speaker(quality: QualityResult, speakers: Speakers, chart_id: str, title: str, unit: str,
                 values: list[float], alt: str, step: float | None = None) -> Chart:
    labels = [speakers.get(s.speaker).short_label for s in quality.speakers]
    return Chart(
        id=chart_id, title=title, alt=alt,
        spec=BarChart(labels=labels, y=Axis(min=0, label=unit, step=step),
                      series=[BarSeries(label=unit, values=values,
                                        colors=[f"--spk{speakers.get(s.speaker).colour}" for s in quality.speakers])]),
        legend=False,
    )


def _interruptions(quality: QualityResult, speakers: Speakers) -> Chart:
    made = [s.interruptions_made for s in quality.speakers]
    alt = "; ".join(f"{speakers.get(s.speaker).label} interrupted {n} time{'s' if n != 1 else ''}"
                    for s, n in zip(quality.speakers, made, strict=True)) + "."
    return _per_speaker(quality, speakers, "quality-interruptions", "Interruptions made", "interruptions",
                        [float(n) for n in made], alt, step=1)


def _speaking_rate(quality: QualityResult, speakers: Speakers) -> Chart:
    rates = [s.speaking_rate_wpm for s in quality.speakers]
    alt = "; ".join(f"{speakers.get(s.speaker).label} {rate:.0f} words per minute"
                    for s, rate in zip(quality.speakers, rates, strict=True)) + "."
    return _per_speaker(quality, speakers, "quality-rate", "Speaking rate", "words per minute", rates, alt)


def _latency(quality: QualityResult, speakers: Speakers) -> Chart:
    rows = quality.response_latency
    labels = [f"{speakers.get(r.from_speaker).short_label} → {speakers.get(r.to_speaker).short_label}" for r in rows]
    names = [f"{speakers.get(r.from_speaker).label} to {speakers.get(r.to_speaker).label}" for r in rows]
    series = [
        BarSeries(label=name, values=[getattr(r, field) for r in rows], color=colour)
        for (name, field), colour in zip((("mean", "mean_s"), ("median", "median_s"), ("max", "max_s")),
                                         LATENCY_COLOURS, strict=True)
    ]
    alt = "; ".join(
        f"{label}: mean {r.mean_s:.2f} s, median {r.median_s:.2f} s, max {r.max_s:.2f} s over {r.count} "
        f"repl{'ies' if r.count != 1 else 'y'}" for label, r in zip(names, rows, strict=True)) + "."
    return Chart(id="quality-latency", title="Response latency", alt=alt,
                 spec=BarChart(labels=labels, series=series, y=Axis(min=0, label="seconds")))


def _over_the_call(quality: QualityResult, speakers: Speakers, chart_id: str, title: str, unit: str,
                   points: dict[str, list[tuple[float, float]]], alt: str) -> Chart:
    """One line per party over the call's time axis (a point stands for its window or utterance)."""
    series = [
        LineSeries(label=speakers.get(s.speaker).label, points=points[s.speaker], color=f"--spk{speakers.get(s.speaker).colour}")
        for s in quality.speakers if points[s.speaker]
    ]
    return Chart(id=chart_id, title=title, alt=alt,
                 spec=LineChart(series=series, x=Axis(min=0, max=round(quality.duration_s, 2), label="seconds"),
                                y=Axis(label=unit)))


def _talk_speed(quality: QualityResult, speakers: Speakers) -> Chart:
    points = {s.speaker: [(round((p.start + p.end) / 2, 3), p.wpm) for p in s.talk_speed if p.talk_time_s > 0]
              for s in quality.speakers}
    alt = "; ".join(
        f"{speakers.get(s.speaker).label} from {min(w for _, w in points[s.speaker]):.0f} to "
        f"{max(w for _, w in points[s.speaker]):.0f} words per minute"
        for s in quality.speakers if points[s.speaker]) + "."
    return _over_the_call(quality, speakers, "quality-talk-speed", "Talk speed over the call", "words per minute",
                          points, alt)


def _loudness(quality: QualityResult, speakers: Speakers) -> Chart:
    points = {s.speaker: [(round((p.start + p.end) / 2, 3), p.lufs) for p in s.loudness] for s in quality.speakers}
    alt = "; ".join(
        f"{speakers.get(s.speaker).label} {s.loudness_lufs:.1f} LUFS"
        + (f", utterances from {min(v for _, v in points[s.speaker]):.1f} to {max(v for _, v in points[s.speaker]):.1f}"
           if points[s.speaker] else "")
        for s in quality.speakers if s.loudness_lufs is not None) + "."
    return _over_the_call(quality, speakers, "quality-loudness", "Loudness", "LUFS", points, alt)
