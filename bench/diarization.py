"""Diarization quality and speed on the shared dev clips: DER (pyannote.metrics, collar 0.25 s,
overlap scored) per file and overall, speaker-count error, wall time per audio second; at 16 kHz
and in the telephone band (sox -r 8000).

Usage: .venv/bin/python bench/diarization.py [--rates 16000 8000]
Note: the offline defaults were tuned on these same four clips, so the figures are optimistic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.diarization import build_diarizer  # noqa: E402
from callytics_ray.settings import AudioOptions, Settings  # noqa: E402

DATA = Path(os.environ.get("CALLYTICS_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FILES = ("dev00", "dev01", "trn01", "trn02")


def reference(uri: str) -> Annotation:
    ann = Annotation(uri=uri)
    for name in ("dev.rttm", "trn.rttm"):
        for line in (DATA / name).read_text().splitlines():
            parts = line.split()
            if parts[1] == uri:
                ann[Segment(float(parts[3]), float(parts[3]) + float(parts[4]))] = parts[7]
    return ann


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=[16000, 8000])
    args = parser.parse_args()
    diarizer = build_diarizer(Settings())
    out = sys.stdout
    for rate in args.rates:
        metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
        audio_s = wall_s = 0.0
        count_errors = []
        for uri in FILES:
            source = DATA / f"{uri}.wav"
            with tempfile.TemporaryDirectory() as tmp:
                if rate != 16000:
                    narrow = Path(tmp) / f"{uri}.wav"
                    subprocess.run(["sox", str(source), "-r", str(rate), str(narrow)], check=True)
                    source = narrow
                audio = load_audio(source, AudioOptions(min_speech_ratio=0.0, channel_layout="mono"))
            start = time.perf_counter()
            turns = diarizer.diarize(audio)
            wall_s += time.perf_counter() - start
            audio_s += audio.duration_s
            hyp = Annotation(uri=uri)
            for turn in turns:
                hyp[Segment(turn.start, turn.end), turn.speaker] = turn.speaker
            ref = reference(uri)
            der = metric(ref, hyp)
            count_errors.append(len(hyp.labels()) - len(ref.labels()))
            out.write(f"{rate:>5} Hz {uri}: DER {der:6.1%}  speakers {len(hyp.labels())} (reference {len(ref.labels())})\n")
        mean_abs = sum(abs(e) for e in count_errors) / len(count_errors)
        out.write(
            f"{rate:>5} Hz overall: DER {abs(metric):6.1%}  mean |speaker-count error| {mean_abs:.2f}  "
            f"wall time per audio second {wall_s / audio_s:.3f}\n"
        )


if __name__ == "__main__":
    main()
