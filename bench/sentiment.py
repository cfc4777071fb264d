"""Sentiment accuracy and macro-F1 on the held-out evaluation set (bench/data/sentiment_eval.tsv),
VADER/lexicon alone, the MiniLM head alone and the combination, side by side, English and Korean
separately. The evaluation set is never used in training (checked below).

Run: .venv/bin/python -m bench.sentiment [--write]   (--write updates bench/RESULTS.md)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path


from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # noqa: E402

from callytics_ray.sentiment import LABELS, SentimentClassifier  # noqa: E402
from callytics_ray.sentiment.training import load_training_set  # noqa: E402
from callytics_ray.settings import SentimentSettings, Settings  # noqa: E402

from bench.report import offline_models, write_section  # noqa: E402

EVAL = Path(__file__).resolve().parent / "data" / "sentiment_eval.tsv"
METHODS = ("lexicon", "embedding", "combined")


def main() -> None:
    offline_models()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    evaluation = load_training_set(EVAL)
    training = {s.text for s in load_training_set()}
    overlap = training & {s.text for s in evaluation}
    if overlap:
        raise SystemExit(f"evaluation sentences found in the training set: {sorted(overlap)[:3]}")

    rows, confusions = [], []
    with tempfile.TemporaryDirectory() as cache:
        for method in METHODS:
            settings = Settings(cache_dir=Path(cache), sentiment=SentimentSettings(method=method), _env_file=None)
            started = time.perf_counter()
            classifier = SentimentClassifier.from_settings(settings)
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            predicted = [r.label for r in classifier.classify([s.text for s in evaluation])]
            per_text_ms = (time.perf_counter() - started) / len(evaluation) * 1000
            for lang in ("en", "ko"):
                idx = [i for i, s in enumerate(evaluation) if s.language == lang]
                truth = [evaluation[i].label for i in idx]
                guess = [predicted[i] for i in idx]
                rows.append(
                    f"| {method} | {lang} | {len(idx)} | {accuracy_score(truth, guess):.3f} | "
                    f"{f1_score(truth, guess, labels=list(LABELS), average='macro', zero_division=0):.3f} | "
                    f"{build_s:.1f} | {per_text_ms:.1f} |"
                )
                matrix = confusion_matrix(truth, guess, labels=list(LABELS))
                confusions.append(f"- {method}/{lang} (rows truth, cols predicted, order {', '.join(LABELS)}): "
                                  f"{matrix.tolist()}")
    body = "\n".join([
        f"Evaluation set: {len(evaluation)} call-centre utterances ({EVAL.name}), disjoint from the "
        f"{len(training)} training sentences the heads are fitted on. `lexicon` is VADER (English) and "
        "the shipped Korean word list; `embedding` is a logistic head over all-MiniLM-L6-v2; "
        "`combined` is the head over embeddings plus lexicon features (the default).",
        "",
        "| method | lang | n | accuracy | macro-F1 | build s (incl. training) | ms/text |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        *confusions,
    ])
    print(body)
    if args.write:
        write_section("Sentiment (bench/sentiment.py)", body)


if __name__ == "__main__":
    main()
