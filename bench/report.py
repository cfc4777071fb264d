"""Shared by the benchmarks: machine description, interleaved timing, measurements in fresh child
processes, and bench/RESULTS.md sections."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# trn01/trn02 are left out: Silero hears no speech in them, so the audio stage refuses them as silent.
SPEECH_FILES = ["dev00.wav", "dev01.wav"]


def default_cache_dir() -> Path:
    """The model cache the app itself would use (CALLYTICS_CACHE_DIR, else the settings' default)."""
    from callytics_ray.settings import Settings

    return Settings(_env_file=None).cache_dir


def offline_models() -> None:
    """Make a missed model download fail fast instead of reaching for the hub. Call it first in
    a bench's main(): huggingface_hub and transformers read these once, at their first import."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def clip_parser(doc: str, files: list[str]) -> argparse.ArgumentParser:
    """The arguments every per-file benchmark takes: --repeats, --files, --data."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--files", nargs="*", default=files)
    parser.add_argument("--data", type=Path, default=DATA)
    return parser


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = "none visible"
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            gpu = f"{ctranslate2.get_cuda_device_count()} CUDA device(s)"
    except Exception:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, GPU: {gpu}, Python {platform.python_version()}"


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Time each function `repeats` times, alternating A, B, A, B so drift hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def run_child_probe(module: str, args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 1800) -> dict:
    """`python -m <module> probe <args>` in a fresh process (this checkout first on its path, so
    one measurement's heap never inflates another's), and the JSON its last output line prints.

    Raises:
        RuntimeError: the child failed (with the end of its stderr).
    """
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-m", module, "probe", *args], cwd=root, capture_output=True, text=True, check=False,
        timeout=timeout_s, env={**os.environ, "PYTHONPATH": root, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} probe {' '.join(args)} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_section(title: str, body: str) -> None:
    """Replace (or add) the `## title` section of bench/RESULTS.md."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {title}\n\n_Measured {stamp} on {machine()}._\n\n{body.strip()}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in bench/.\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)


def faster_whisper_alone(settings, device: str, compute_type: str) -> Callable[[Path], Callable[[], object]]:
    """The baseline the pipeline is compared with: faster-whisper by itself on a file, with the
    same weights, device, compute type and decoding options as `settings.asr`, and the library's own
    threading (cpu_threads=0). Returns path -> a run that decodes the whole file."""
    from faster_whisper import WhisperModel

    from callytics_ray.model_store import resolve_model

    path = resolve_model(settings.asr.model, kind="whisper", cache_dir=settings.cache_dir, offline=True)
    model = WhisperModel(str(path), device=device, compute_type=compute_type)
    opts = settings.asr.options

    def on(audio: Path) -> Callable[[], object]:
        def run() -> object:
            segments, _ = model.transcribe(
                str(audio), beam_size=opts.beam_size, vad_filter=opts.vad_filter, word_timestamps=opts.word_timestamps,
                condition_on_previous_text=opts.condition_on_previous_text,
                vad_parameters={"min_silence_duration_ms": opts.vad_min_silence_ms},
            )
            return list(segments)
        return run

    return on
