"""The spine (decode + clean + recognise + store) against faster-whisper alone, same audio and model.

Both sides use the same model files and the same decoding options (VAD, word timestamps, beam 5),
so the ratio is the spine's own overhead: decoding with PyAV, channel analysis, SNR, Silero VAD
for the speech ratio, loudness normalisation, loop guards and the SQLite write.

Usage: python bench/asr.py [--repeats 2] [--files dev00.wav multilingual.mp3 ...]
"""

from __future__ import annotations

import logging
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
from callytics_ray.pipeline import LocalStages, analyze_file  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.storage import CallStore  # noqa: E402

FILES = [*SPEECH_FILES, "stereo_diarization.wav", "multilingual.mp3"]


def main() -> None:
    args = clip_parser(__doc__, FILES).parse_args()
    logging.basicConfig(level=logging.WARNING)

    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", _env_file=None)
    stages = LocalStages(settings)
    transcriber = stages.transcriber  # load once, outside the timings
    store = CallStore.from_url(settings.database_url)
    whisper_alone = faster_whisper_alone(settings, transcriber.device.device, transcriber.device.compute_type)

    def spine(path: Path):
        return lambda: analyze_file(path, settings, stages=stages, store=store)

    rows = []
    total = {"spine": 0.0, "faster-whisper": 0.0}
    for name in args.files:
        path = args.data / name
        spine(path)()  # warm caches (first-call allocations) before timing
        times = interleaved({"spine": spine(path), "faster-whisper": whisper_alone(path)}, args.repeats)
        s, w = median(times["spine"]), median(times["faster-whisper"])
        total["spine"] += s
        total["faster-whisper"] += w
        rows.append(f"| {name} | {s:.2f} | {w:.2f} | {s / w:.2f} |")
        print(f"{name:<26} spine {s:6.2f} s   faster-whisper {w:6.2f} s   ratio {s / w:.2f}", flush=True)
    overall = total["spine"] / total["faster-whisper"]
    print(f"{'all files':<26} spine {total['spine']:6.2f} s   faster-whisper {total['faster-whisper']:6.2f} s   ratio {overall:.2f}")
    print(machine())
    body = (
        f"`python bench/asr.py --repeats {args.repeats}`: median wall time per file, the two sides interleaved in one run; "
        f"model {settings.asr.model} on {transcriber.device.device}/{transcriber.device.compute_type}.\n\n"
        "| file | spine s | faster-whisper alone s | ratio |\n| --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + f"\n| **all** | {total['spine']:.2f} | {total['faster-whisper']:.2f} | **{overall:.2f}** |\n"
        "\nOn a dual-channel file the spine transcribes each channel separately (that is the feature), so "
        "its ratio there includes a second recognition pass; faster-whisper alone hears the downmix."
    )
    write_section("ASR spine vs faster-whisper alone (bench/asr.py)", body)


if __name__ == "__main__":
    main()
