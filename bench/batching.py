"""ASR and embedding throughput with @serve.batch against without, side by side in one run.

ASR: the real speech-recognizer-base deployment of the CPU profile, N processed recordings sent
at once through its handle, with user_config max_batch_size 4 (batched) and 1 (every request
alone: what the deployment does without @serve.batch), switched live and interleaved.

Embeddings: the sentence encoder + head (`SentimentClassifier.classify`, what the
sentiment-analyzer deployment runs) in process, on one sentence per model call, one call's
sentences per model call (the deployment today) and all calls' sentences at once (what
@serve.batch across concurrent calls would hand the model).

Usage: python bench/batching.py [--clips 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import atexit
import copy
import csv
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import DATA, SPEECH_FILES, interleaved, machine, median, write_section  # noqa: E402
from bench.resources import load_average  # noqa: E402
from bench.serve_app import APP, bench_profile, deployment_section, profile_settings, running_app  # noqa: E402
from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.sentiment.classifier import SentimentClassifier  # noqa: E402

SENTENCES = Path(__file__).resolve().parent / "data" / "sentiment_eval.tsv"
RECOGNIZER = "speech-recognizer-base"
CALL_SENTENCES = 20  # utterances of a short support call


def asr_rows(args, work: Path, cache: Path) -> list[str]:
    import ray
    from ray import serve

    config = bench_profile(work, cache)
    settings = profile_settings(config)
    clips = [load_audio(args.data / SPEECH_FILES[i % len(SPEECH_FILES)], settings.audio) for i in range(args.clips)]
    audio_s = sum(c.duration_s for c in clips)
    with running_app(config, work) as app:
        os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": app.cluster.auth_token})
        ray.init(address=app.cluster.gcs_address, logging_level=logging.WARNING)
        try:
            handle = serve.get_deployment_handle(RECOGNIZER, app_name=APP)
            refs = [ray.put(c) for c in clips]  # in the object store once, as the gateway does

            def send_all():
                responses = [handle.transcribe.remote(r, {}) for r in refs]
                results = [r.result(timeout_s=1800) for r in responses]
                failures = [r for r in results if not hasattr(r, "segments")]
                if failures:
                    raise SystemExit(f"transcriptions failed: {failures}")

            def with_batch(size: int):
                def switch():
                    updated = copy.deepcopy(app.config)
                    deployment_section(updated, RECOGNIZER).setdefault("user_config", {})["max_batch_size"] = size
                    app.redeploy(updated, work)
                    time.sleep(3)  # user_config settles in about 2 s without a restart
                return switch

            runs = {}
            for size in (4, 1):
                switch = with_batch(size)

                def run(switch=switch):
                    switch()
                    started = time.perf_counter()
                    send_all()
                    return time.perf_counter() - started
                runs[size] = run
            send_all()  # warm-up, untimed
            walls: dict[int, list[float]] = {4: [], 1: []}
            for _ in range(args.repeats):
                for size, run in runs.items():
                    walls[size].append(run())
        finally:
            ray.shutdown()
    batched, alone = median(walls[4]), median(walls[1])
    print(f"ASR: batched {audio_s / batched:.2f} audio s/s, alone {audio_s / alone:.2f} audio s/s, ratio {alone / batched:.2f}")
    return [
        f"| ASR (speech-recognizer-base, whisper base) | {args.clips} calls, {audio_s:.0f} audio s at once | "
        f"{audio_s / batched:.2f} audio s/s | {audio_s / alone:.2f} audio s/s | **{alone / batched:.2f}x** |"
    ]


def embedding_rows(args, cache: Path) -> list[str]:
    """The sentence encoder + head on the same sentences three ways: one per model call; one call's
    worth (CALL_SENTENCES) per model call, which is what the sentiment-analyzer does for each call;
    everything at once, which is what @serve.batch across concurrent calls would hand the model."""
    from callytics_ray.settings import Settings

    settings = Settings(cache_dir=cache, _env_file=None)
    classifier = SentimentClassifier.from_settings(settings)
    with SENTENCES.open() as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    calls = [texts[i:i + CALL_SENTENCES] for i in range(0, len(texts), CALL_SENTENCES)]
    classifier.classify(texts[:8])  # warm-up

    times = interleaved({
        "all at once": lambda: classifier.classify(texts),
        "per call": lambda: [classifier.classify(c) for c in calls],
        "one each": lambda: [classifier.classify([t]) for t in texts],
    }, args.repeats)
    rate = {k: len(texts) / median(v) for k, v in times.items()}
    print("embeddings (sentences/s): " + ", ".join(f"{k} {v:.0f}" for k, v in rate.items()))
    load = f"{len(texts)} sentences ({len(calls)} calls of {CALL_SENTENCES})"
    name = f"Sentence embedding + head ({classifier.method}), in process"
    return [
        f"| {name}: one call's sentences per model call vs one sentence each | {load} | "
        f"{rate['per call']:.0f} sentences/s | {rate['one each']:.0f} sentences/s | **{rate['per call'] / rate['one each']:.2f}x** |",
        f"| {name}: all calls' sentences at once (cross-call @serve.batch) vs one call's per model call | {load} | "
        f"{rate['all at once']:.0f} sentences/s | {rate['per call']:.0f} sentences/s | **{rate['all at once'] / rate['per call']:.2f}x** |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = load_average()
    cache = Path(os.environ.get("CALLYTICS_CACHE_DIR", Path.home() / ".cache" / "callytics"))
    work = Path(tempfile.mkdtemp(prefix="batching-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # databases of the run

    rows = embedding_rows(args, cache) + asr_rows(args, work, cache)
    body = (
        f"`python bench/batching.py --clips {args.clips} --repeats {args.repeats}`: medians, both sides "
        "interleaved in one run. ASR \"alone\" is the same deployment with user_config max_batch_size 1 "
        "(each request its own batch: what it does without @serve.batch); \"batched\" is max_batch_size 4, "
        "batch_wait_timeout_s 0.05.\n\n"
        "| what | load | with batching | without | speed-up |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\n"
        + ("The sentiment-analyzer classifies each call's utterances in one model call and has no "
           "@serve.batch across calls; the embedding rows measure, in process, what that per-call batching "
           "gains and what batching across concurrent calls would add on top.\n\n")
        + "About the ASR row: `Transcriber.transcribe_batch` runs the calls of a batch one after another "
        "(faster-whisper decodes one audio at a time; its BatchedInferencePipeline batches the chunks of one "
        "long recording instead), so batching calls only changes queueing, not the model work.\n\n"
        f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}."
    )
    print(machine())
    write_section("Batching: @serve.batch vs one request at a time (bench/batching.py)", body)


if __name__ == "__main__":
    main()
