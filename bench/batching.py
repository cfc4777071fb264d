"""ASR and embedding throughput with @serve.batch against without, side by side in one run.

ASR: the real speech-recognizer-base deployment of the CPU profile, N processed recordings sent
at once through its handle, with user_config max_batch_size 4 (batched) and 1 (every request
alone: what the deployment does without @serve.batch), switched live and interleaved.

Embeddings: the sentiment-analyzer deployment when the profile has one (its `classify` batched
across concurrent calls); whether or not, the model-level bound on what batching can give:
the sentence encoder + head (`SentimentClassifier.classify`) on one sentence per call against
all sentences in one call, in process.

Usage: python bench/batching.py [--clips 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import copy
import csv
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import interleaved, machine, median, write_section  # noqa: E402
from bench.resources import load_average  # noqa: E402
from bench.serve_app import APP, bench_profile, deployment_section, profile_settings, running_app  # noqa: E402
from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.sentiment.classifier import SentimentClassifier  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = ["dev00.wav", "dev01.wav", "trn01.wav", "trn02.wav"]
SENTENCES = Path(__file__).resolve().parent / "data" / "sentiment_eval.tsv"
RECOGNIZER = "speech-recognizer-base"


def asr_rows(args, work: Path, cache: Path) -> list[str]:
    import ray
    from ray import serve

    config = bench_profile(work, cache)
    settings = profile_settings(config)
    clips = [load_audio(args.data / FILES[i % len(FILES)], settings.audio) for i in range(args.clips)]
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
    from callytics_ray.settings import Settings

    settings = Settings(cache_dir=cache, _env_file=None)
    classifier = SentimentClassifier.from_settings(settings)
    with SENTENCES.open() as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    classifier.classify(texts[:8])  # warm-up

    times = interleaved({
        "batched": lambda: classifier.classify(texts),
        "alone": lambda: [classifier.classify([t]) for t in texts],
    }, args.repeats)
    batched, alone = median(times["batched"]), median(times["alone"])
    print(f"embeddings: batched {len(texts) / batched:.0f} sentences/s, alone {len(texts) / alone:.0f} sentences/s")
    return [
        f"| Sentence embedding + head ({classifier.method}), in process | {len(texts)} sentences | "
        f"{len(texts) / batched:.0f} sentences/s | {len(texts) / alone:.0f} sentences/s | **{alone / batched:.2f}x** |"
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

    rows = embedding_rows(args, cache) + asr_rows(args, work, cache)
    has_sentiment = any(d["name"] == "sentiment-analyzer" for d in bench_profile(work, cache)["applications"][0]["deployments"])
    body = (
        f"`python bench/batching.py --clips {args.clips} --repeats {args.repeats}`: medians, both sides "
        "interleaved in one run. ASR \"alone\" is the same deployment with user_config max_batch_size 1 "
        "(each request its own batch: what it does without @serve.batch); \"batched\" is max_batch_size 4, "
        "batch_wait_timeout_s 0.05.\n\n"
        "| what | load | with batching | without | speed-up |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\n"
        + ("" if has_sentiment else
           "The CPU profile deploys no sentiment-analyzer yet, so the embedding row is the model-level bound "
           "(what @serve.batch can gain by handing the encoder many sentences at once), measured in process.\n\n")
        + "About the ASR row: `Transcriber.transcribe_batch` runs the calls of a batch one after another "
        "(faster-whisper decodes one audio at a time; its BatchedInferencePipeline batches the chunks of one "
        "long recording instead), so batching calls only changes queueing, not the model work.\n\n"
        f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}."
    )
    print(machine())
    write_section("Batching: @serve.batch vs one request at a time (bench/batching.py)", body)


if __name__ == "__main__":
    main()
