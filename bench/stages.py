"""Where a call's time goes: each stage's share of the full pipeline's wall time, and the full
pipeline against faster-whisper alone on the same audio and model, side by side in one run.

The pipeline is `analyze_file` over `LocalStages` with the default Settings (every stage the
orchestrator runs, the SQLite write included); stage seconds come from the orchestrator's own
timings (`CallAnalysis.timings`). Stages that run side by side (diarization with recognition)
overlap, so the shares of a call can add up to more than 100%. faster-whisper alone is the same
weights with the same decoding options on the file and the library's default threading, nothing else.

Usage: python bench/stages.py [--repeats 2] [--files dev00.wav ...]
"""

from __future__ import annotations

import atexit
import logging
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import (  # noqa: E402
    SPEECH_FILES,
    clip_parser,
    faster_whisper_alone,
    interleaved,
    machine,
    median,
    write_section,
)
from bench.resources import load_average  # noqa: E402
from callytics_ray.cpu import stage_threads  # noqa: E402
from callytics_ray.pipeline import LocalStages, analyze_file  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.storage import CallStore  # noqa: E402

# Single-channel recordings: on a dual-channel call the pipeline transcribes each channel (the
# feature), faster-whisper alone only the downmix, which is not the same work.
GOAL = 1.3


def main() -> None:
    args = clip_parser(__doc__, SPEECH_FILES).parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = load_average()

    tmp = Path(tempfile.mkdtemp(prefix="stages-"))

    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # databases of the run
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", _env_file=None)
    stages = LocalStages(settings)
    store = CallStore.from_url(settings.database_url)
    # faster-whisper alone: the same weights, device and compute type, with the library's own
    # threading; the pipeline's recognizer runs on its share of the cores.
    whisper_alone = faster_whisper_alone(settings, stages.transcriber.device.device, stages.transcriber.device.compute_type)
    timings: dict[str, list[float]] = {}

    def pipeline(path: Path):
        def run():
            analysis = analyze_file(path, settings, stages=stages, store=store)
            if analysis.errors:
                raise SystemExit(f"{path.name}: pipeline stages failed: {analysis.errors}")
            for stage, seconds in analysis.timings.items():
                timings.setdefault(stage, []).append(seconds)
        return run

    rows, totals = [], {"pipeline": 0.0, "whisper": 0.0}
    asr_inside: list[tuple[float, float]] = []  # (asr stage s in the pipeline, faster-whisper alone s)
    for name in args.files:
        path = args.data / name
        pipeline(path)()  # warm-up, untimed (and its stage timings dropped below)
        timings.clear()
        times = interleaved({"pipeline": pipeline(path), "whisper": whisper_alone(path)}, args.repeats)
        p, w = median(times["pipeline"]), median(times["whisper"])
        totals["pipeline"] += p
        totals["whisper"] += w
        shares = {s: statistics.median(v) / p for s, v in timings.items()}
        rows.append((name, p, w, shares))
        asr_inside.append((statistics.median(timings["asr"]), w))
        print(f"{name:<26} pipeline {p:6.2f} s  faster-whisper {w:6.2f} s  ratio {p / w:.2f}  "
              + "  ".join(f"{s} {v:.0%}" for s, v in shares.items()), flush=True)
    ratio = totals["pipeline"] / totals["whisper"]
    stage_names = sorted({s for *_, shares in rows for s in shares})
    print(f"all files: pipeline {totals['pipeline']:.2f} s, faster-whisper {totals['whisper']:.2f} s, ratio {ratio:.2f}")
    print(machine())
    table = (
        "| file | pipeline s | faster-whisper alone s | ratio | " + " | ".join(f"{s} share" for s in stage_names) + " |\n"
        + "| --- " * (4 + len(stage_names)) + "|\n"
        + "\n".join(
            f"| {name} | {p:.2f} | {w:.2f} | {p / w:.2f} | "
            + " | ".join(f"{shares.get(s, 0):.0%}" for s in stage_names) + " |"
            for name, p, w, shares in rows
        )
        + f"\n| **all** | {totals['pipeline']:.2f} | {totals['whisper']:.2f} | **{ratio:.2f}** |"
        + " |" * len(stage_names)
    )
    body = (
        f"`python bench/stages.py --repeats {args.repeats}`: median wall time per file, the two sides "
        f"interleaved; model {settings.asr.model} on {stages.transcriber.device.device}/"
        f"{stages.transcriber.device.compute_type}; stage share = median stage seconds / median pipeline seconds. "
        f"Threads: the pipeline's recognizer {stage_threads(settings.asr.cpu_threads)} and diarizer "
        f"{stage_threads(settings.diarization.cpu_threads)} (side by side); faster-whisper alone its default "
        "(cpu_threads=0).\n\n"
        f"{table}\n\n"
        f"The recognition stage alone took {sum(a for a, _ in asr_inside):.2f} s inside the pipeline against "
        f"{sum(w for _, w in asr_inside):.2f} s for faster-whisper alone on the same files "
        f"({sum(a for a, _ in asr_inside) / sum(w for _, w in asr_inside):.2f}x): the orchestrator runs diarization "
        "beside recognition, each on its share of the same cores.\n\n"
        f"Goal: pipeline <= {GOAL}x faster-whisper alone: **{'met' if ratio <= GOAL else 'not met'}** ({ratio:.2f}x). "
        f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}."
    )
    write_section("Stage shares and pipeline vs faster-whisper alone (bench/stages.py)", body)


if __name__ == "__main__":
    main()
