"""True-casing from the SQLite store: same casing as the `truecase` dicts, a fraction of the memory,
and a broken store file is rebuilt."""

from __future__ import annotations

import pickle
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.truecasing import run_probe, transcript_sentences
from callytics_ray.punctuation import Punctuator, TrueCaser
from callytics_ray.punctuation.truecase_store import ensure_store, is_complete, statistics_from_store, store_path
from callytics_ray.settings import Settings


@pytest.fixture(scope="module")
def store(model_cache: Path) -> Path:
    return ensure_store(model_cache)


def test_sqlite_casing_equals_dict_casing_at_a_fraction_of_the_memory(store, model_cache):
    # Each backend in a fresh child process (same hash seed: the library breaks ties by set order).
    by_dicts = run_probe("dict", model_cache)
    by_store = run_probe("sqlite", model_cache)
    assert by_store["words"] == by_dicts["words"] > 5000  # the real transcripts plus crafted sentences
    for dict_words, store_words in zip(by_dicts["cased"], by_store["cased"], strict=True):
        assert store_words == dict_words
    recased = sum(w != w.lower() for sentence in by_store["cased"] for w in sentence)
    assert recased > 500  # "I", names, places: the casing did something
    assert by_store["uss_growth_mb"] < 30, by_store
    assert not by_store["nltk_imported"]  # NLTK pulls in scipy, pandas and scikit-learn: ~100 MB
    assert by_dicts["uss_growth_mb"] > 10 * max(by_store["uss_growth_mb"], 1.0), (by_dicts, by_store)


def test_truecaser_reads_the_store_in_the_cache(store, model_cache):
    caser = TrueCaser(model_cache)
    assert caser.case("hello i am john from new york".split()) == ["Hello", "I", "am", "John", "from", "New", "York"]
    assert caser.case([]) == []
    punctuator = Punctuator.from_settings(Settings(cache_dir=model_cache, _env_file=None))
    assert punctuator._truecaser._cache_dir == model_cache


def test_lookups_from_many_threads_agree(store):
    statistics = statistics_from_store(store)
    sentences = transcript_sentences()[:200]
    alone = [statistics.get_true_case_from_tokens(s, out_of_vocabulary_token_option="as-is") for s in sentences]
    fresh = statistics_from_store(store)  # a cold cache, so threads really query SQLite at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda s: fresh.get_true_case_from_tokens(s, out_of_vocabulary_token_option="as-is"),
                                 sentences))
    assert together == alone


def test_tables_read_like_the_library_dicts(store):
    statistics = statistics_from_store(store)
    assert statistics.uni_dist["The"] == 25979  # the count english.dist holds
    assert statistics.uni_dist["Zzqxv-not-a-word"] == 0 and "Zzqxv-not-a-word" not in statistics.uni_dist
    assert "The" in statistics.uni_dist and "The_jury" in statistics.backward_bi_dist
    assert {"the", "The", "THE"} <= statistics.word_casing_lookup["the"]
    with pytest.raises(KeyError):
        statistics.word_casing_lookup["zzqxv"]


def _small_source(path: Path) -> Path:
    """A pickle laid out like english.dist, small enough to build in a moment."""
    tables = {
        "uni_dist": Counter({"I": 50, "i": 1, "John": 20, "john": 2, "New": 30, "new": 40, "York": 9, "hello": 5}),
        "backward_bi_dist": Counter({"from_New": 6, "from_new": 1}),
        "forward_bi_dist": Counter({"New_york": 8, "new_york": 1}),
        "trigram_dist": Counter({"from_New_york": 5}),
        "word_casing_lookup": {"i": {"I", "i"}, "john": {"John", "john"}, "new": {"New", "new"},
                               "york": {"York"}, "hello": {"hello"}},
    }
    path.write_bytes(pickle.dumps(tables, protocol=3))  # as english.dist is pickled
    return path


def _case(path: Path, words: str) -> list[str]:
    return statistics_from_store(path).get_true_case_from_tokens(words.split(), out_of_vocabulary_token_option="as-is")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "unfinished", "empty"])
def test_a_broken_store_is_rebuilt(tmp_path, damage):
    source = _small_source(tmp_path / "small.dist")
    cache = tmp_path / "cache"
    path = ensure_store(cache, source=source)
    assert path == store_path(cache)
    expected = _case(path, "hello i am john from new york")
    assert expected == ["Hello", "I", "am", "John", "from", "New", "York"]
    built = path.stat().st_mtime_ns
    assert ensure_store(cache, source=source) == path and path.stat().st_mtime_ns == built  # whole: kept
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 1000)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a build cut short before its completion marker was written
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE meta")
    assert not is_complete(path, "anything")
    assert ensure_store(cache, source=source) == path
    assert _case(path, "hello i am john from new york") == expected
    assert not list(path.parent.glob("*.partial-*"))
