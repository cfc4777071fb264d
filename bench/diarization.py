"""Diarization against a peer, senko out of the box, in one run: DER with its miss / false alarm /
confusion parts and the speaker count against the reference, per clip, per clip type and over
all, at 16 kHz and in the telephone band (sox -r 8000), with each side's wall time per audio
second; then dual-channel calls with bleed.

Mono: every shared clip with a reference RTTM, plus the downmix of synthetic_stereo_call_bleed.
Dual-channel: synthetic_stereo_call_bleed and calls built from real speech (bench/calls.py); ours
runs with channel_layout="dual" (one party per channel), senko, which has no dual-channel mode,
on the downmix. DER: pyannote.metrics, collar 0.25 s, overlap scored, over the whole file.

Ours: build_diarizer(Settings()) on load_audio(path, AudioOptions(min_speech_ratio=0.0, ...)).
senko: senko.Diarizer(device="cpu", quiet=True).diarize(16 kHz mono PCM16 wav)["merged_segments"].
Both run with the same torch threads (--threads), both warmed by one untimed diarization; model
loading is not timed. The offline defaults were tuned on every shared clip here, so our figures on
them are optimistic; the constructed calls are new.

Usage: .venv/bin/python bench/diarization.py [--rates 16000 8000] [--files dev00 call_ami ...] [--no-write]
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate
except ImportError:  # the `der` extra (pyproject.toml says why it is not in `dev`)
    sys.exit("bench/diarization.py needs pyannote.metrics: .venv/bin/pip install -e '.[der]'")

from bench.calls import constructed_calls, write_call  # noqa: E402
from bench.report import clip_parser, interleaved, machine, median, offline_models, write_section  # noqa: E402
from bench.resources import load_average  # noqa: E402
from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.cpu import stage_threads  # noqa: E402
from callytics_ray.diarization import build_diarizer  # noqa: E402
from callytics_ray.types import channel_label  # noqa: E402
from callytics_ray.diarization.nemo_backend import read_rttm  # noqa: E402
from callytics_ray.settings import AudioOptions, Settings  # noqa: E402
from callytics_ray.types import SpeakerTurn  # noqa: E402

logger = logging.getLogger("bench.diarization")

TITLE = "Diarization vs senko (bench/diarization.py)"
MEETING, BROADCAST, PHONE = "meeting, far-field (AMI)", "broadcast, turn-taking", "phone call"
TYPES = (MEETING, BROADCAST, PHONE)
BLEED_CALL = "synthetic_stereo_call_bleed"
# clip -> (type, reference RTTM); the offline defaults were tuned on every one of them.
MONO = {
    "dev00": (MEETING, "dev.rttm"),
    "dev01": (MEETING, "dev.rttm"),
    "trn00": (MEETING, "trn00.rttm"),
    "trn01": (MEETING, "trn.rttm"),
    "trn02": (MEETING, "trn.rttm"),
    "trn03": (MEETING, "trn03.rttm"),
    "trn07": (MEETING, "trn07.rttm"),
    "paa_diar_4spk": (BROADCAST, "paa_diar_4spk.rttm"),
    "paa_diar_6spk": (BROADCAST, "paa_diar_6spk.rttm"),
    "falcon_3spk": (BROADCAST, "falcon_3spk.rttm"),
    BLEED_CALL: (PHONE, f"{BLEED_CALL}.rttm"),
}
CONSTRUCTED = ("call_ami", "call_paa", "call_read")
COLLAR_S = 0.25


@dataclass(frozen=True)
class Clip:
    """A recording to score. `parties` (dual-channel only): the speaker on channel 0 and 1."""

    name: str
    kind: str
    wav: Path
    reference: list[SpeakerTurn]
    tuned: bool
    parties: tuple[str, str] | None = None
    bleed: str = ""


@dataclass
class Score:
    """One side on one clip: seconds of each error against the reference speech."""

    miss: float
    false_alarm: float
    confusion: float
    speech: float
    speakers: int
    ref_speakers: int
    wall_s: float = 0.0
    audio_s: float = 0.0

    @property
    def der(self) -> float:
        return (self.miss + self.false_alarm + self.confusion) / self.speech if self.speech else 0.0

    def cell(self) -> str:
        """'DER (miss / FA / confusion)', all as shares of the reference speech."""
        parts = (self.miss, self.false_alarm, self.confusion)
        return f"{self.der:.1%} ({' / '.join(f'{100 * p / self.speech:.1f}' for p in parts)})"


def pooled(scores: Sequence[Score]) -> Score:
    """Errors and speech summed over clips (the pooled DER, as pyannote's abs(metric))."""
    return Score(*(sum(getattr(s, f) for s in scores) for f in ("miss", "false_alarm", "confusion", "speech")),
                 speakers=0, ref_speakers=0, wall_s=sum(s.wall_s for s in scores),
                 audio_s=sum(s.audio_s for s in scores))


def annotation(turns: Sequence[SpeakerTurn], uri: str) -> Annotation:
    ann = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        if turn.end > turn.start:
            ann[Segment(turn.start, turn.end), index] = turn.speaker
    return ann


def score(reference: Annotation, hypothesis: Annotation, duration_s: float) -> Score:
    metric = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)
    detail = metric(reference, hypothesis, detailed=True, uem=Timeline([Segment(0.0, duration_s)]))
    return Score(detail["missed detection"], detail["false alarm"], detail["confusion"], detail["total"],
                 len(hypothesis.labels()), len(reference.labels()))


def bleed_speech(reference: Annotation, hypothesis: Annotation, party: str, other: str) -> tuple[float, float]:
    """(seconds of `party`'s hypothesis speech where only `other` talks, seconds where only
    `other` talks); COLLAR_S around the reference boundaries is not scored, as in the DER."""
    alone = reference.label_timeline(other).support().extrude(reference.label_timeline(party).support())
    alone = Timeline([Segment(s.start + COLLAR_S, s.end - COLLAR_S) for s in alone if s.duration > 2 * COLLAR_S])
    heard = hypothesis.label_timeline(party).support().crop(alone, mode="intersection")
    return heard.duration(), alone.duration()


def sox(source: Path, target: Path, *args: str) -> Path:
    # -R: repeatable dither, so a run is reproducible to the sample.
    subprocess.run(["sox", "-R", str(source), *args, str(target)], check=True, capture_output=True)
    return target


def inputs(wav: Path, rate: int, tmp: Path) -> tuple[Path, Path]:
    """(our file, senko's file) at `rate`. Ours decodes any format and resamples itself, so it gets
    the file (at 8 kHz the band-limited one); senko reads only 16 kHz mono PCM16, so it gets the
    downmix of the same audio as that, the narrowband file back up at 16 kHz."""
    ours = wav if rate == 16_000 else sox(wav, tmp / f"{wav.stem}-{rate}.wav", "-r", str(rate))
    senko = sox(ours, tmp / f"{wav.stem}-{rate}-senko.wav", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer")
    return ours, senko


def cpu_has_avx512() -> bool:
    try:
        return " avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def torch_fbank(wav: str | np.ndarray, subsegments: list[tuple[float, float]], *, sample_offset: int = 0):
    """senko's CPU features computed in torch, returned as its extractor returns them.

    senko's wheel ships the CPU extractor (libfbank_extractor.so) built for AVX-512; on a CPU
    without it the process dies of SIGILL. Its C++ source computes Kaldi fbank (80 bins, 25/10 ms,
    povey window, pre-emphasis 0.97, no dither, snip edges) of each subsegment, zero-padded to
    400 samples, mean-normalised per bin: what our KaldiFbank computes, cut the same way (checked
    against kaldi-native-fbank, the library that C++ builds on: within 6e-5 on dev00).
    """
    import soundfile as sf
    import torch

    from callytics_ray.diarization.fbank import KaldiFbank

    fbank = KaldiFbank()
    samples = wav if isinstance(wav, np.ndarray) else sf.read(wav, dtype="float32")[0]
    # The C++ code multiplies float32 seconds by the rate in float32: cut at the same samples.
    bounds = np.asarray(subsegments, dtype=np.float32).reshape(-1, 2)
    starts = (bounds[:, 0] * np.float32(16_000)).astype(np.int64) - sample_offset
    lengths = np.maximum(((bounds[:, 1] - bounds[:, 0]) * np.float32(16_000)).astype(np.int64), 1)
    features, frames, offsets, offset = [], [], [], 0
    with torch.inference_mode():
        for start, length in zip(starts, lengths, strict=True):
            piece = samples[start : start + length]
            piece = np.pad(piece, (0, max(0, 400 - len(piece)))).astype(np.float32)
            feats = fbank(torch.from_numpy(piece)[None])[0].numpy().reshape(-1)
            features.append(feats)
            frames.append(len(feats) // 80)
            offsets.append(offset)
            offset += len(feats)
    return np.concatenate(features), np.array(frames), np.array(offsets), 80


class Senko:
    """senko out of the box on a 16 kHz mono PCM16 file; its own feature extractor where the CPU
    runs it (see torch_fbank)."""

    def __init__(self, threads: int) -> None:
        import senko
        import torch

        # warmup=False: senko's warm-up runs 4 batches through CAM++ and UMAP+HDBSCAN on random
        # embeddings (about 200 s on 2 cores, mostly numba compiling the clustering senko uses only
        # for recordings over 20 min); it changes no output, and the untimed warm-up diarization
        # of the bench warms the path these clips take.
        self._diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)
        self._diarizer.logical_cores = threads  # senko resets torch to this many threads after VAD
        torch.set_num_threads(threads)
        self.features = "its own C++ extractor" if cpu_has_avx512() else (
            "a torch port of its C++ extractor, whose build in the wheel needs AVX-512, which this CPU lacks")
        if not cpu_has_avx512():
            self._diarizer._extract_fbank_features = torch_fbank

    def diarize(self, wav: Path) -> list[SpeakerTurn]:
        result = self._diarizer.diarize(str(wav))
        if result is None:  # senko's VAD heard no speech
            return []
        return [SpeakerTurn(s["start"], s["end"], s["speaker"]) for s in result["merged_segments"]]


def mono_clips(data: Path, names: set[str]) -> list[Clip]:
    return [
        Clip(name, kind, data / f"{name}.wav", read_rttm(data / rttm, name), tuned=True)
        for name, (kind, rttm) in MONO.items()
        if name in names
    ]


def dual_clips(data: Path, names: set[str], tmp: Path) -> list[Clip]:
    clips = []
    if BLEED_CALL in names:
        meta = json.loads((data / f"{BLEED_CALL}.json").read_text())
        parties = (meta["channels"]["0 (left)"], meta["channels"]["1 (right)"])
        bleed = meta["bleed"]
        clips.append(Clip(
            BLEED_CALL, PHONE, data / f"{BLEED_CALL}.wav", read_rttm(data / f"{BLEED_CALL}.rttm"), True, parties,
            f"{20 * np.log10(bleed['agent_into_right']):.0f} / {20 * np.log10(bleed['customer_into_left']):.0f} dB, "
            f"{1000 * bleed['delay_s']:.0f} ms",
        ))
    for call in constructed_calls(data):
        if call.name in names:
            wav, _ = write_call(call, tmp / "calls")
            clips.append(Clip(
                call.name, PHONE, wav, call.turns, False, call.parties,
                f"{call.bleed_db[0]:.0f} / {call.bleed_db[1]:.0f} dB, {call.delay_ms[0]:.0f} / {call.delay_ms[1]:.0f} ms",
            ))
    return clips


def run_sides(sides: dict[str, Callable[[], list[SpeakerTurn]]], repeats: int) -> dict[str, tuple[list[SpeakerTurn], float]]:
    """Each side's turns and median wall time, the sides interleaved so load drift hits all alike."""
    turns: dict[str, list[SpeakerTurn]] = {}

    def keep(name: str, fn: Callable[[], list[SpeakerTurn]]) -> Callable[[], None]:
        return lambda: turns.__setitem__(name, fn())

    times = interleaved({name: keep(name, fn) for name, fn in sides.items()}, repeats)
    return {name: (turns[name], median(times[name])) for name in sides}


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table padded to its columns, readable as text too."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


def verdict(ours: Score, senko: Score) -> str:
    if abs(ours.der - senko.der) < 0.0005:
        return "tie"
    return "**ours**" if ours.der < senko.der else "senko"


def count_error(scores: Sequence[Score]) -> float:
    """Mean |speakers found - reference speakers|."""
    return sum(abs(s.speakers - s.ref_speakers) for s in scores) / len(scores)


def spk(s: Score) -> str:
    return f"{s.speakers}" if s.speakers == s.ref_speakers else f"{s.speakers} ({s.speakers - s.ref_speakers:+d})"


def mono_section(clips: list[Clip], results: dict[tuple[str, int, str], Score], rates: Sequence[int]) -> str:
    parts = []
    for rate in rates:
        rows = []
        for clip in clips:
            o, s = results[clip.name, rate, "ours"], results[clip.name, rate, "senko"]
            rows.append([clip.name, clip.kind, "yes" if clip.tuned else "no", o.ref_speakers,
                         o.cell(), spk(o), s.cell(), spk(s), verdict(o, s)])
        parts.append(f"**{rate} Hz**, per clip (DER, then miss / false alarm / confusion in % of the reference "
                     "speech; speakers found, off by):\n\n" + table(
                         ["clip", "type", "tuned on", "ref spk", "ours DER (miss / FA / conf)", "ours spk",
                          "senko DER (miss / FA / conf)", "senko spk", "better"], rows))
    summary, behind = [], {rate: [] for rate in rates}
    for rate in rates:
        for kind in (*TYPES, "all"):
            chosen = [c for c in clips if kind in ("all", c.kind)]
            if not chosen:
                continue
            o = [results[c.name, rate, "ours"] for c in chosen]
            s = [results[c.name, rate, "senko"] for c in chosen]
            po, ps = pooled(o), pooled(s)
            if kind != "all" and not po.der < ps.der:
                behind[rate].append(kind)
            wins = sum(verdict(a, b) == "**ours**" for a, b in zip(o, s, strict=True))
            summary.append([rate, kind, len(chosen), f"{po.audio_s:.0f}", po.cell(), ps.cell(),
                            f"{count_error(o):.2f}", f"{count_error(s):.2f}", f"{wins}/{len(chosen)}",
                            "**yes**" if po.der < ps.der else "no",
                            f"{po.wall_s / po.audio_s:.3f}", f"{ps.wall_s / ps.audio_s:.3f}"])
    parts.append("Per type and overall (pooled: errors summed over the clips / reference speech summed):\n\n" + table(
        ["rate", "type", "clips", "audio s", "ours DER (miss / FA / conf)", "senko DER (miss / FA / conf)",
         "ours mean abs spk err", "senko mean abs spk err", "clips ours better", "ours beats senko",
         "ours s per audio s", "senko s per audio s"], summary))
    parts.append("Goal, better than senko out of the box on every clip type: " + "; ".join(
        f"{rate} Hz **{'not met' if behind[rate] else 'met'}**" + (f" (behind on {', '.join(behind[rate])})"
                                                                   if behind[rate] else "")
        for rate in rates) + ".")
    return "\n\n".join(parts)


def dual_section(clips: list[Clip], results: dict[tuple[str, int, str], Score],
                 extra: dict[tuple[str, int], dict[str, object]], rates: Sequence[int]) -> str:
    parts = []
    for rate in rates:
        rows = []
        for clip in clips:
            d, m, s = (results[clip.name, rate, side] for side in ("dual", "ours", "senko"))
            e = extra[clip.name, rate]
            rows.append([clip.name, "yes" if clip.tuned else "no", f"{d.audio_s:.1f}", clip.bleed, d.cell(),
                         e["per_party"], e["bleed"], m.cell(), spk(m), s.cell(), spk(s), verdict(d, s)])
        d, m, s = (pooled([results[c.name, rate, side] for c in clips]) for side in ("dual", "ours", "senko"))
        rows.append(["**all calls**", "", f"{d.audio_s:.1f}", "", d.cell(), "", "", m.cell(), "", s.cell(), "",
                     verdict(d, s)])
        speed = (f"Seconds per audio second: ours dual {d.wall_s / d.audio_s:.3f}, ours on the downmix "
                 f"{m.wall_s / m.audio_s:.3f}, senko {s.wall_s / s.audio_s:.3f}.")
        parts.append(f"**{rate} Hz** (DER, then miss / false alarm / confusion in % of the reference speech). "
                     f"{speed}\n\n" + table(
            ["call", "tuned on", "s", "bleed into ch1 / ch0, delay", "ours dual DER (miss / FA / conf)",
             "ours per channel: party DER (miss / FA)", "ours bleed speech s (% of other-only)",
             "ours on downmix DER", "ours downmix spk", "senko on downmix DER", "senko spk", "better (dual vs senko)"],
            rows))
    return "\n\n".join(parts)


def main() -> None:
    offline_models()
    names = [*MONO, *CONSTRUCTED]
    parser = clip_parser(__doc__, names)
    parser.set_defaults(repeats=1)
    parser.add_argument("--rates", type=int, nargs="+", default=[16_000, 8_000])
    # Both sides get the same threads, by default what ours takes out of the box (half the
    # cores). senko's own default, every core, runs several times slower on a busy machine:
    # OpenMP threads wait on each other whenever one of them is descheduled.
    parser.add_argument("--threads", type=int, default=stage_threads(0),
                        help="torch threads of both sides (default: half the cores, our out-of-the-box share)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    unknown = {Path(f).stem for f in args.files} - set(names)
    if unknown:
        parser.error(f"unknown clips {sorted(unknown)}; choose from {names}")
    chosen = {Path(f).stem for f in args.files}
    started, load_before = time.perf_counter(), load_average()
    tmp = Path(tempfile.mkdtemp(prefix="bench-diarization-"))
    try:
        mono = mono_clips(args.data, chosen)
        dual = dual_clips(args.data, chosen, tmp)
        # Settings() with the thread count made explicit, so it is the same as senko's; threads
        # change the speed, not the turns.
        settings = Settings(_env_file=None, diarization={"cpu_threads": args.threads})
        start = time.perf_counter()
        ours = build_diarizer(settings)
        peer = Senko(args.threads)
        logger.info("models loaded in %.1f s (not timed); senko features: %s", time.perf_counter() - start, peer.features)

        def ours_on(path: Path, layout: str) -> Callable[[], list[SpeakerTurn]]:
            audio = load_audio(path, AudioOptions(min_speech_ratio=0.0, channel_layout=layout))  # decoding untimed
            return lambda: ours.diarize(audio)

        results: dict[tuple[str, int, str], Score] = {}
        extra: dict[tuple[str, int], dict[str, object]] = {}
        warm = mono[0] if mono else dual[0]
        ours_file, senko_file = inputs(warm.wav, 16_000, tmp)
        ours_on(ours_file, "mono")()
        peer.diarize(senko_file)  # untimed warm-up of both sides
        for rate in args.rates:
            for clip in [*mono, *dual]:
                ours_file, senko_file = inputs(clip.wav, rate, tmp)
                sides: dict[str, Callable[[], list[SpeakerTurn]]] = {}
                if (clip.name, rate, "ours") not in results:  # the bleed call's downmix is in both sections
                    sides["ours"] = ours_on(ours_file, "mono")
                    sides["senko"] = lambda f=senko_file: peer.diarize(f)
                if clip.parties:
                    sides["dual"] = ours_on(ours_file, "dual")
                ref = annotation(clip.reference, clip.name)
                duration = sf.info(senko_file).duration
                for side, (turns, wall) in run_sides(sides, args.repeats).items():
                    if side == "dual":  # the channels are the parties: name them so
                        party = {channel_label(i): name for i, name in enumerate(clip.parties)}
                        turns = [SpeakerTurn(t.start, t.end, party[t.speaker]) for t in turns]
                    hyp = annotation(turns, clip.name)
                    results[clip.name, rate, side] = result = score(ref, hyp, duration)
                    result.wall_s, result.audio_s = wall, duration
                    if side == "dual":
                        extra[clip.name, rate] = dual_extras(ref, hyp, clip.parties, duration)
                    logger.info("%5d Hz %-28s %-5s DER %6.1f%%  speakers %d (reference %d)  %.2f s",
                                rate, clip.name, side, 100 * result.der, result.speakers, result.ref_speakers, wall)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    body = report(args, mono, dual, results, extra, peer.features, load_before, time.perf_counter() - started)
    print(body)
    if not args.no_write:
        write_section(TITLE, body)


def dual_extras(ref: Annotation, hyp: Annotation, parties: tuple[str, str], duration: float) -> dict[str, object]:
    """Per channel: the party's DER on its own channel, and the bleed speech figure."""
    cells, heard, alone = [], 0.0, 0.0
    for party, other in (parties, parties[::-1]):
        own = score(ref.subset([party]), hyp.subset([party]), duration)
        cells.append(f"{party}: {own.der:.1%} ({100 * own.miss / own.speech:.1f} / {100 * own.false_alarm / own.speech:.1f})")
        h, a = bleed_speech(ref, hyp, party, other)
        heard, alone = heard + h, alone + a
    return {"per_party": "; ".join(cells), "bleed": f"{heard:.2f} ({heard / alone:.1%})" if alone else "-"}


def report(args, mono: list[Clip], dual: list[Clip], results, extra, features: str, load_before: str,
           runtime_s: float) -> str:
    command = "python bench/diarization.py" + "".join(f" {a}" for a in sys.argv[1:])
    parts = [
        f"`{command}` ({runtime_s / 60:.1f} min in all). Ours: the offline default (`build_diarizer(Settings())`). "
        f"senko {senko_version()} out of the box (`senko.Diarizer(device=\"cpu\")`: Silero VAD, CAM++, spectral "
        f"clustering; features: {features}). Torch threads: {args.threads} on each side (ours takes half the "
        "cores out of the box). Both warmed by one untimed run, model loading not timed; wall time is "
        f"the median of {args.repeats} interleaved run(s) per clip. DER: pyannote.metrics, collar {COLLAR_S} s, "
        "overlap scored, whole file. At 8000 Hz both hear the same `sox -r 8000` file (senko's copy back at "
        "16 kHz, the only format it reads). synthetic_stereo_call_bleed is 8 kHz to begin with, so its two "
        "rates differ only by resampling.",
        "**Tuned on**: the offline defaults were tuned on every shared clip below, so our figures on them are "
        "optimistic, senko's are not; the constructed calls (call_*) are new today.",
    ]
    if mono:
        parts += ["### Mono", mono_section(mono, results, args.rates)]
    if dual:
        parts += [
            "### Dual-channel, with bleed",
            "Ours with `channel_layout=\"dual\"`: one party per channel, CHANNEL_0/CHANNEL_1 named as the parties "
            "of channels 0/1, so confusion means a party heard on the wrong channel. Per channel: the channel's "
            "turns against its own party's reference. Bleed speech: seconds of a channel's hypothesis speech where "
            "only the other party talks (collar excluded). senko has no dual-channel mode: it, and ours in mono "
            "for comparison, run on the downmix. call_* are built by bench/calls.py (seed 0) from single-speaker "
            "stretches of real recordings, alternating with 0.3-1.0 s pauses and some 0.15-0.4 s overlaps, "
            "each party bleeding into the other channel; reference exact by construction.",
            dual_section(dual, results, extra, args.rates),
        ]
    parts.append(f"Load average (1/5/15 min) before: {load_before}; after: {load_average()} "
                 f"(other work on the machine slows both sides alike).")
    return "\n\n".join(parts)


def senko_version() -> str:
    from importlib.metadata import version

    return version("senko")


if __name__ == "__main__":
    main()
