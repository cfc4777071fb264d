"""The pipeline on a GPU: real-time factor of a large Whisper model, and several deployments packed
on one GPU with fractional num_gpus serving calls at once, with the GPU's busy share from nvidia-smi.

Needs a CUDA GPU (CTranslate2 must see it) and the large model in the local cache (offline: a
faster-whisper name such as large-v3 resolves from the Hugging Face cache in --cache-dir, or pass
a CTranslate2 directory). On a machine without a GPU it says so and exits with status 2, measuring
nothing.

Usage: python bench/gpu.py [--model large-v3] [--calls 8] [--files dev00.wav ...]
"""

from __future__ import annotations

import argparse
import atexit
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import DATA, SPEECH_FILES, default_cache_dir, machine, write_section  # noqa: E402
from bench.resources import load_average  # noqa: E402
from bench.serve_app import app_section, bench_profile, deployment_section, running_app  # noqa: E402

NO_GPU = 2


def gpu_count() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


class GpuSampler:
    """nvidia-smi every `interval_s`: utilisation (%), memory used (MiB) and compute processes."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.utilisation: list[float] = []
        self.memory_mib: list[float] = []
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", "--id=0"],
                capture_output=True, text=True, timeout=10,
            ).stdout.strip()
            if out:
                util, mem = (float(x) for x in out.split(","))
                self.utilisation.append(util)
                self.memory_mib.append(mem)
            apps = subprocess.run(
                ["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader", "--id=0"],
                capture_output=True, text=True, timeout=10,
            ).stdout.split()
            self.processes = max(self.processes, len(apps))

    @property
    def busy(self) -> float:
        return statistics.mean(self.utilisation) / 100 if self.utilisation else 0.0


def rtf_rows(model: str, paths: list[Path], cache: Path) -> list[str]:
    """Real-time factor of `model` on the GPU, one file at a time in process (model loaded once)."""
    from callytics_ray.asr import Transcriber
    from callytics_ray.audio import load_audio
    from callytics_ray.settings import Settings

    settings = Settings(cache_dir=cache, _env_file=None, asr={"model": model, "device": "cuda"})
    transcriber = Transcriber.from_settings(settings)
    rows = []
    transcriber.transcribe(load_audio(paths[0], settings.audio))  # warm-up: CUDA kernels, allocator
    for path in dict.fromkeys(paths):
        audio = load_audio(path, settings.audio)
        started = time.perf_counter()
        transcriber.transcribe(audio)
        wall = time.perf_counter() - started
        rows.append(f"| {path.name} | {audio.duration_s:.1f} | {wall:.2f} | {wall / audio.duration_s:.3f} |")
        print(f"{model} on {path.name}: RTF {wall / audio.duration_s:.3f}", flush=True)
    return rows


def packing_rows(model: str, paths: list[Path], cache: Path, fraction: float) -> tuple[list[str], GpuSampler]:
    """The CPU profile moved to the GPU: each speech-recognizer variant gets `fraction` of it."""
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # databases of the run
    config = bench_profile(work, cache)
    args = app_section(config)["args"]
    args["settings"]["asr"] = {"model": model, "device": "cuda"}
    for stage in ("speech-recognizer",):
        args.setdefault("resources", {}).setdefault(stage, {})["num_gpus"] = fraction
    for variant in args["settings"].get("api", {}).get("variants", []):
        args.setdefault("variant_resources", {}).setdefault(variant["name"], {})["num_gpus"] = fraction
    deployment_section(config, "speech-recognizer-base")["num_replicas"] = 2
    with running_app(config, work, num_gpus=1) as app:
        app.submit_all(paths[:1])  # warm-up
        with GpuSampler() as sampler:
            started = time.perf_counter()
            results = app.submit_all(paths)
            wall = time.perf_counter() - started
        bad = [r["status"] for r in results if r["status"] != "completed"]
        if bad:
            raise SystemExit(f"calls did not complete: {bad}")
        audio_s = sum(r["result"]["audio"]["duration_s"] for r in results)
        details = app.cluster.serve_details()["applications"]["callytics"]["deployments"]
    on_gpu = {name: len(d.get("replicas", [])) for name, d in details.items() if name.startswith("speech-recognizer")}
    row = (f"| {len(paths)} calls at once, {audio_s:.0f} audio s | {wall:.1f} | {audio_s / wall:.2f} | "
           f"{sampler.busy:.0%} | {max(sampler.memory_mib, default=0) / 1024:.1f} | {sampler.processes} | "
           + ", ".join(f"{n} x{c} @ {fraction} GPU" for n, c in on_gpu.items()) + " |")
    return [row], sampler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="large-v3")
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--fraction", type=float, default=0.25, help="num_gpus of each recognizer replica")
    parser.add_argument("--files", nargs="*", default=SPEECH_FILES)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if shutil.which("nvidia-smi") is None or gpu_count() == 0:
        print("bench/gpu.py: no CUDA GPU visible (nvidia-smi missing or CTranslate2 sees 0 devices); "
              "run it on a GPU machine. Nothing was measured.", file=sys.stderr)
        return NO_GPU
    load_before = load_average()
    paths = [args.data / f for f in islice(cycle(args.files), args.calls)]
    rtf = rtf_rows(args.model, paths, args.cache_dir)
    packing, _ = packing_rows(args.model, paths, args.cache_dir, args.fraction)
    body = (
        f"`python bench/gpu.py --model {args.model} --calls {args.calls} --fraction {args.fraction}`.\n\n"
        f"Real-time factor of {args.model} (float16), in process, one file at a time:\n\n"
        "| file | audio s | wall s | RTF |\n| --- | --- | --- | --- |\n" + "\n".join(rtf) + "\n\n"
        "Fractional packing: the CPU profile with the recognizers on the GPU (num_gpus per replica as "
        "shown), every call submitted at once over HTTP; GPU busy = mean nvidia-smi utilization.gpu over "
        "the run, sampled every 0.5 s.\n\n"
        "| load | wall s | audio s per wall s | GPU busy | peak GPU memory GiB | processes on the GPU | replicas |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(packing) + "\n\n"
        f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}."
    )
    print(machine())
    write_section("GPU: real-time factor and fractional packing (bench/gpu.py)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
