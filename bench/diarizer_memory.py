"""The diarizer's working memory and CPU per batch at two batch-size settings, side by side: the
CPU default (8 segmentation chunks and 16 embedding windows per forward pass) against the GPU
sizes (32 and 64) run on the CPU, which were the default everywhere before.

Each arm runs in a fresh child process (one arm's heap must not inflate the other's figure), the
arms interleaved `--repeats` times. A child loads the bundled diarizer on one CPU thread (what a
Ray replica with a fractional CPU gets), warms it on one call, then diarizes batches of four real
calls (dev00.wav, dev01.wav, twice: what @serve.batch hands a replica under load); before each
batch the freed heap goes back to the OS (as the replica's HeapReleaser does), and a sampler
thread records the peak private memory (USS) above that base every 10 ms.

Run: .venv/bin/python -m bench.diarizer_memory [--repeats 2] [--batches 3] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

ARMS = {"cpu default (8/16)": (8, 16), "gpu sizes (32/64)": (32, 64)}
FILES = ("dev00.wav", "dev01.wav")


def probe(segmentation_batch: int, embedding_batch: int, batches: int, cache_dir: Path) -> dict:
    """In this (fresh) process: peak USS growth and CPU seconds of each batch of four calls."""
    import tempfile

    import psutil

    from bench.report import DATA
    from bench.serve_app import bench_profile, profile_settings
    from callytics_ray.audio import load_audio
    from callytics_ray.diarization.base import DiarizationRequest
    from callytics_ray.diarization.factory import build_diarizer
    from callytics_ray.memory import HeapReleaser

    settings = profile_settings(bench_profile(Path(tempfile.mkdtemp()), cache_dir))
    options = settings.diarization.options.model_copy(
        update={"segmentation_batch_size": segmentation_batch, "embedding_batch_size": embedding_batch}
    )
    settings = settings.model_copy(
        update={"diarization": settings.diarization.model_copy(update={"options": options})}
    )
    diarizer = build_diarizer(settings)
    audios = [load_audio(DATA / name, settings.audio) for name in FILES]
    requests = [DiarizationRequest(audio, None, None) for audio in audios * 2]
    process = psutil.Process()
    heap = HeapReleaser(min_interval_s=0.0)

    def uss_mb() -> float:
        return process.memory_full_info().uss / 2**20

    diarizer.diarize(audios[0], None, None)  # warm-up: lazily built state is not working memory
    peaks, cpu_s = [], []
    for _ in range(batches):
        heap.after_work()
        base = uss_mb()
        peak, done = [base], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], uss_mb())
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        before = sum(process.cpu_times()[:2])
        diarizer.diarize_batch(requests)
        cpu_s.append(sum(process.cpu_times()[:2]) - before)
        done.set()
        sampler.join()
        peaks.append(peak[0] - base)
    return {"peak_growth_mb": peaks, "cpu_s": cpu_s, "audio_s": sum(a.duration_s for a in audios) * 2}


def run_probe(sizes: tuple[int, int], batches: int, cache_dir: Path) -> dict:
    """probe() in a child process, on one CPU thread."""
    from bench.report import run_child_probe

    return run_child_probe("bench.diarizer_memory", [str(sizes[0]), str(sizes[1]), str(batches), str(cache_dir)],
                           env={"OMP_NUM_THREADS": "1"})


def main() -> None:
    from bench.report import default_cache_dir, median, write_section

    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        seg, emb, batches, cache = sys.argv[2:6]
        print(json.dumps(probe(int(seg), int(emb), int(batches), Path(cache))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="fresh children per arm, interleaved")
    parser.add_argument("--batches", type=int, default=3, help="batches of four calls per child")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for _ in range(args.repeats):
        for arm, sizes in ARMS.items():
            results[arm].append(run_probe(sizes, args.batches, args.cache_dir))
    rows, figures = [], {}
    for arm, runs in results.items():
        peaks = [p for run in runs for p in run["peak_growth_mb"]]
        cpu = [c for run in runs for c in run["cpu_s"]]
        audio_s = runs[0]["audio_s"]
        figures[arm] = (max(peaks), median(peaks), median(cpu))
        rows.append(f"| {arm} | {len(peaks)} | {max(peaks):.0f} | {median(peaks):.0f} | {median(cpu):.1f} | "
                    f"{audio_s / median(cpu):.1f} |")
    new, old = figures["cpu default (8/16)"], figures["gpu sizes (32/64)"]
    body = "\n".join([
        f"`python -m bench.diarizer_memory --repeats {args.repeats} --batches {args.batches}`: the bundled "
        f"diarizer on 1 CPU thread, batches of four real calls ({', '.join(FILES)}, twice); each arm in fresh "
        "child processes, interleaved; peak private memory (USS) above the trimmed heap, sampled every 10 ms.",
        "",
        "| batch sizes (segmentation/embedding) | batches | peak growth max MB | peak growth median MB | "
        "CPU s per batch (median) | audio s per CPU s |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"CPU default / GPU sizes: peak working memory **{new[1] / old[1]:.2f}x** (median), "
        f"CPU per batch **{new[2] / old[2]:.2f}x**.",
    ])
    print(body)
    if args.write:
        write_section("Diarizer working memory by batch size (bench/diarizer_memory.py)", body)


if __name__ == "__main__":
    main()
