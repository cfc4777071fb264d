"""ASR and embedding throughput with @serve.batch against without, side by side in one run.

ASR: the real speech-recognizer-base deployment of the CPU profile, N processed recordings sent
at once through its handle, three ways switched live by user_config and interleaved: batches of 4
decoded together (batch_across_calls), batches of 4 decoded one call after another, and
max_batch_size 1 (every request alone: what the deployment does without @serve.batch).

Embeddings: the sentence encoder + head (`SentimentClassifier.classify`, what the
sentiment-analyzer deployment runs) in process, on one sentence per model call, one call's
sentences per model call, and all calls' sentences at once (what the deployment's @serve.batch
hands the model when calls arrive together).

Usage: python bench/batching.py [--clips 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import atexit
import copy
import csv
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import DATA, SPEECH_FILES, default_cache_dir, interleaved, machine, median, write_section  # noqa: E402
from bench.resources import load_average  # noqa: E402
from bench.serve_app import APP, bench_profile, deployment_section, profile_settings, running_app  # noqa: E402
from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.cpu import stage_threads  # noqa: E402
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
        app.cluster.connect_driver(logging_level=logging.WARNING)
        try:
            handle = serve.get_deployment_handle(RECOGNIZER, app_name=APP)
            refs = [ray.put(c) for c in clips]  # in the object store once, as the gateway does

            def send_all():
                responses = [handle.transcribe.remote(r) for r in refs]
                results = [r.result(timeout_s=1800) for r in responses]
                failures = [r for r in results if not hasattr(r, "segments")]
                if failures:
                    raise SystemExit(f"transcriptions failed: {failures}")

            def with_batch(size: int, shared: bool):
                def switch():
                    updated = copy.deepcopy(app.config)
                    user_config = deployment_section(updated, RECOGNIZER).setdefault("user_config", {})
                    user_config["max_batch_size"] = size
                    user_config.setdefault("options", {})["batch_across_calls"] = shared
                    app.redeploy(updated, work)
                    time.sleep(3)  # user_config settles in about 2 s without a restart
                return switch

            arms = {"shared decode": (4, True), "queued": (4, False), "alone": (1, False)}
            runs = {}
            for arm, (size, shared) in arms.items():
                switch = with_batch(size, shared)

                def run(switch=switch):
                    switch()
                    started = time.perf_counter()
                    send_all()
                    return time.perf_counter() - started
                runs[arm] = run
            send_all()  # warm-up, untimed
            walls: dict[str, list[float]] = {arm: [] for arm in arms}
            for _ in range(args.repeats):
                for arm, run in runs.items():
                    walls[arm].append(run())
        finally:
            ray.shutdown()
    rate = {arm: audio_s / median(w) for arm, w in walls.items()}
    print("ASR (audio s/s): " + ", ".join(f"{arm} {r:.2f}" for arm, r in rate.items()))
    load = f"{args.clips} calls, {audio_s:.0f} audio s at once"
    return [
        f"| ASR (speech-recognizer-base, whisper base): batches of 4, their speech chunks decoded together "
        f"(batch_across_calls) vs one call per batch | {load} | {rate['shared decode']:.2f} audio s/s | "
        f"{rate['alone']:.2f} audio s/s | **{rate['shared decode'] / rate['alone']:.2f}x** |",
        f"| ASR: batches of 4 decoded one call after another vs one call per batch | {load} | "
        f"{rate['queued']:.2f} audio s/s | {rate['alone']:.2f} audio s/s | **{rate['queued'] / rate['alone']:.2f}x** |",
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
    cache = default_cache_dir()
    work = Path(tempfile.mkdtemp(prefix="batching-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # databases of the run

    rows = embedding_rows(args, cache) + asr_rows(args, work, cache)
    body = (
        f"`python bench/batching.py --clips {args.clips} --repeats {args.repeats}`: medians, both sides "
        "interleaved in one run. ASR \"one call per batch\" is the same deployment with user_config "
        "max_batch_size 1 (what it does without @serve.batch); the batched arms are max_batch_size 4, "
        "batch_wait_timeout_s 0.05, switched by user_config without a restart.\n\n"
        "| what | load | with batching | without | speed-up |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\n"
        + ("The sentiment-analyzer batches concurrent calls with @serve.batch: every waiting call's utterances "
           "go through the encoder in one pass. The embedding rows measure, in process, what one pass per call "
           "gains over one per sentence, and what one pass for all calls adds on top.\n\n")
        + "About the ASR rows: with `batch_across_calls` the recognizer lays a batch's calls end to end and "
        "decodes all their speech chunks in shared forward passes (faster-whisper's BatchedInferencePipeline "
        "with per-call clip timestamps); without it, a batch's calls are decoded one after another. On a "
        f"CPU the recognizer runs on {stage_threads(0)} thread(s) (half the cores), where a bigger batch "
        "buys little; on a GPU a batch fills the device.\n\n"
        f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}."
    )
    print(machine())
    write_section("Batching: @serve.batch vs one request at a time (bench/batching.py)", body)


if __name__ == "__main__":
    main()
