"""True-casing with the `truecase` statistics as Python dicts (the library's own loader) against the
SQLite store (callytics_ray/punctuation/truecase_store.py), side by side in one process run each:
load time, private memory (USS) the statistics add, words per second on real transcripts, and
whether the two case every word alike.

Each backend is measured in a fresh child process, so one's heap does not inflate the other's
figure. The words are those of real transcripts: the support-call dialogues of
bench/data/role_dev_calls.json, the stored pipeline output of bench/data/stereo_diarization.analysis.json
and the prompts read in /work/shared/data/synthetic_stereo_call_bleed.txt, lower-cased with
punctuation stripped, one sentence at a time, as the punctuation stage hands them over.

Run: .venv/bin/python -m bench.truecasing [--write] [--cache-dir DIR]
     .venv/bin/python -m bench.truecasing probe {dict,sqlite} CACHE_DIR   (one child's JSON; tests use it)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

BENCH_DATA = Path(__file__).resolve().parent / "data"
SHARED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthetic_stereo_call_bleed.txt"
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_WORD = re.compile(r"[a-z0-9']+")
_ROUNDS = 3
# A few sentences written to exercise ambiguous casings (names, places, "i", words that are
# sometimes names), added to the transcripts.
CRAFTED = [
    "hello i am john from new york",
    "my name is mark and i will mark this as resolved",
    "we shipped it to paris texas not paris france on monday",
    "april said the bill for april was wrong",
    "can you call the apple store or apple support for me",
    "i spoke with bill gates about the gates at the airport",
]


def transcript_sentences() -> list[list[str]]:
    """Lower-cased, unpunctuated English sentences of the real transcripts (see the module doc),
    then CRAFTED."""
    texts: list[str] = []
    calls = json.loads((BENCH_DATA / "role_dev_calls.json").read_text())["calls"]
    texts += [text for call in calls if call["language"] == "en" for turn in call["turns"] for text in turn[1:2]]
    analysis = json.loads((BENCH_DATA / "stereo_diarization.analysis.json").read_text())
    texts += [segment["text"] for segment in analysis["segments"]]
    if SHARED_TEXT.exists():
        texts += SHARED_TEXT.read_text().splitlines()
    sentences = [_WORD.findall(s.lower()) for text in texts for s in _SENTENCE_END.split(text)]
    return [words for words in sentences if words] + [crafted.split() for crafted in CRAFTED]


def _uss_mb() -> float:
    import psutil

    return psutil.Process().memory_full_info().uss / 2**20


def probe(backend: str, cache_dir: Path) -> dict:
    """In this (fresh) process: load one backend, case every transcript sentence, report figures."""
    import gc

    from callytics_ray.punctuation.truecase_store import ensure_store, statistics_from_store

    sentences = transcript_sentences()
    path = ensure_store(cache_dir) if backend == "sqlite" else None  # built before the baseline
    gc.collect()
    before = _uss_mb()
    start = time.perf_counter()
    if backend == "sqlite":
        statistics = statistics_from_store(path)
    else:  # the library as it comes: its module imports NLTK, its constructor unpickles the dicts
        from truecase.TrueCaser import TrueCaser as DictStatistics

        statistics = DictStatistics()
    load_s = time.perf_counter() - start
    words = sum(len(s) for s in sentences)
    start = time.perf_counter()
    cased = [statistics.get_true_case_from_tokens(s, out_of_vocabulary_token_option="as-is") for s in sentences]
    first_pass_s = time.perf_counter() - start
    gc.collect()
    grown = _uss_mb() - before
    start = time.perf_counter()
    for _ in range(_ROUNDS):
        for sentence in sentences:
            statistics.get_true_case_from_tokens(sentence, out_of_vocabulary_token_option="as-is")
    warm_s = (time.perf_counter() - start) / _ROUNDS
    return {"backend": backend, "load_s": load_s, "uss_growth_mb": grown, "nltk_imported": "nltk" in sys.modules,
            "words": words, "sentences": len(sentences),
            "first_words_per_s": words / first_pass_s, "warm_words_per_s": words / warm_s, "cased": cased}


def run_probe(backend: str, cache_dir: Path) -> dict:
    """probe() in a child process."""
    from bench.report import run_child_probe

    # One hash seed for every child: the library breaks score ties by set iteration order.
    return run_child_probe("bench.truecasing", [backend, str(cache_dir)], env={"PYTHONHASHSEED": "0"}, timeout_s=900)


def main() -> None:
    from bench.report import default_cache_dir, write_section

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    from callytics_ray.punctuation.truecase_store import ensure_store

    start = time.perf_counter()
    store = ensure_store(args.cache_dir)
    ensure_s = time.perf_counter() - start
    results = {backend: run_probe(backend, args.cache_dir) for backend in ("dict", "sqlite")}
    flat = {b: [w for s in r["cased"] for w in s] for b, r in results.items()}
    differing = sum(a != b for a, b in zip(flat["dict"], flat["sqlite"], strict=True))
    words, sentences = results["dict"]["words"], results["dict"]["sentences"]
    rows = "\n".join(
        f"| {b} | {r['load_s']:.2f} | {r['uss_growth_mb']:.0f} | {r['first_words_per_s']:,.0f} | "
        f"{r['warm_words_per_s']:,.0f} | {1000 * 300 / r['first_words_per_s']:.0f} |"
        for b, r in results.items()
    )
    body = (
        f"`python -m bench.truecasing --write`: {words} words in {sentences - len(CRAFTED)} sentences of real "
        f"transcripts and {len(CRAFTED)} crafted ones, each backend in a fresh process. Load = open the statistics "
        "(dicts: import the library, which imports NLTK, and unpickle english.dist; SQLite: run the "
        "library's module without NLTK, connect lazily at the first lookup); USS = private memory that "
        "loading plus casing every sentence once adds; first pass = words/s "
        f"casing the sentences once (cold lookup cache), warm = mean of {_ROUNDS} further passes; "
        "ms per 300-word call = what true-casing adds to a call's punctuation stage at first-pass speed.\n\n"
        "| backend | load s | USS growth MB | words/s first pass | words/s warm | ms per 300-word call |\n"
        "|---|---|---|---|---|---|\n"
        f"{rows}\n\n"
        f"Words cased differently: {differing} of {len(flat['dict'])}. Store: {store.stat().st_size / 2**20:.0f} MB "
        f"on disk ({store}), built or checked in {ensure_s:.1f} s (built once per cache; "
        "`callytics models prefetch` builds it).\n"
    )
    print(body)
    if args.write:
        write_section("True-casing statistics: dicts vs SQLite store", body)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "probe":
        print(json.dumps(probe(sys.argv[2], Path(sys.argv[3]))))
    else:
        main()
