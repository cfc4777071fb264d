"""The `truecase` package's statistics in a read-only SQLite file instead of Python dicts.

`truecase.TrueCaser` unpickles data/english.dist (76 MB) into five dicts of about 2.8 million
strings: ~380 MB of private memory in every process that cases text. Its scoring only ever looks
single keys up, so the same tables as SQLite WITHOUT ROWID b-trees (one per table, keyed by the
string) answer the same lookups from the page cache, shared between processes, for a few MB each.

The file is built once per cache directory, in a child process so the caller never holds the
unpickled dicts, under a temporary name renamed into place when complete; a file that does not
open, lacks the completion marker, or is shorter than its header says is rebuilt.
"""

from __future__ import annotations

import builtins
import functools
import importlib.metadata
import importlib.util
import json
import logging
import os
import pickle
import sqlite3
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from callytics_ray.child_build import exclusive, run_module

logger = logging.getLogger(__name__)

# Table name in the store -> attribute of truecase.TrueCaser it stands in for.
COUNT_TABLES: dict[str, str] = {
    "uni": "uni_dist",
    "backward_bi": "backward_bi_dist",
    "forward_bi": "forward_bi_dist",
    "trigram": "trigram_dist",
}
CASING_TABLE = "casing"
STORE_FORMAT = "2"
_BUILD_TIMEOUT_S = 900


def _package_dir() -> Path:
    # Found, not imported: `import truecase` imports NLTK, which imports scipy, pandas and
    # scikit-learn (~100 MB private memory) for tokenisers the stage never uses.
    spec = importlib.util.find_spec("truecase")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("true-casing needs `pip install truecase==0.0.14`")
    return Path(next(iter(spec.submodule_search_locations)))


def _version() -> str:
    return importlib.metadata.version("truecase")


def source_file() -> Path:
    """The pickled statistics that ship with the installed `truecase` package."""
    return _package_dir() / "data" / "english.dist"


def _source_signature(source: Path) -> str:
    return f"truecase={_version()};size={source.stat().st_size};format={STORE_FORMAT}"


def store_path(cache_dir: Path) -> Path:
    """Where the store for the installed `truecase` lives under `cache_dir`."""
    return cache_dir / "truecase" / f"english-{_version()}.sqlite"


def ensure_store(cache_dir: Path, *, source: Path | None = None) -> Path:
    """Return the path of a complete store under `cache_dir`, building it first when missing or broken.

    Safe when several replicas start at once: one builds (under a file lock), the others wait and
    reuse its file. The build runs in a child process, so this process's memory stays small.
    `source` is another pickle laid out like english.dist (tests build small ones).
    """
    source = source or source_file()
    signature = _source_signature(source)
    path = store_path(cache_dir)
    if is_complete(path, signature):
        return path
    with exclusive(path.parent / ".lock"):
        if is_complete(path, signature):
            return path
        partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
        logger.info("building true-casing store %s from %s", path, source)
        try:
            _build_in_child(source, partial, signature)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    if not is_complete(path, signature):
        raise RuntimeError(f"true-casing store {path} is incomplete right after building it")
    return path


def _build_in_child(source: Path, target: Path, signature: str) -> None:
    done = run_module(__name__, [str(source), str(target), signature], timeout_s=_BUILD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"building the true-casing store failed: {done.stderr.strip()[-2000:]}")


class _SetsAsLists(pickle.Unpickler):
    """Reads each pickled set as the list of its items in pickled order.

    The library breaks score ties by the iteration order of a word's casings; a set built from
    the same items in the same order iterates alike, so storing the pickled order (not the order
    of a set in the building process, which depends on its hash seed) makes the store's casing
    equal the dicts' in any process. english.dist is protocol 3: sets are `builtins.set(list)`.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("builtins", "set"), ("__builtin__", "set")):
            return list
        return super().find_class(module, name)


def build_store(source: Path, target: Path, signature: str) -> None:
    """Write the SQLite store for the pickled statistics `source` to `target` (run in a child)."""
    with open(source, "rb") as stream:
        tables = _SetsAsLists(stream).load()
    target.unlink(missing_ok=True)
    db = sqlite3.connect(target)
    try:
        # A crash leaves a partial file that is never renamed into place, so no journal is needed.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        for table, attribute in COUNT_TABLES.items():
            db.execute(f"CREATE TABLE {table} (k TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
            db.executemany(f"INSERT INTO {table} VALUES (?, ?)", sorted(tables[attribute].items()))
        db.execute(f"CREATE TABLE {CASING_TABLE} (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID")
        db.executemany(
            f"INSERT INTO {CASING_TABLE} VALUES (?, ?)",
            sorted((word, json.dumps(list(casings))) for word, casings in tables["word_casing_lookup"].items()),
        )
        # Written last: a store without it was cut short.
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        db.execute("INSERT INTO meta VALUES ('source', ?)", (signature,))
        db.commit()
    finally:
        db.close()
    with open(target, "rb") as written:
        os.fsync(written.fileno())


def is_complete(path: Path, signature: str) -> bool:
    """Whether `path` is a whole store built from the statistics `signature` describes."""
    try:
        with open(path, "rb") as stream:
            header = stream.read(100)
        size = path.stat().st_size
    except OSError:
        return False
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return False
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if size < page_size * int.from_bytes(header[28:32], "big"):
        return False  # truncated: the header counts more pages than the file holds
    try:
        db = _open_read_only(path)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return False
    return row is not None and row[0] == signature


def _open_read_only(path: Path) -> sqlite3.Connection:
    # immutable=1: nobody writes the file once it is in place, so SQLite skips locking entirely.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)


class StoreReader:
    """Read-only lookups in a store, one SQLite connection per calling thread.

    The scorer asks for the same few keys many times per word (every casing's counts, once per
    candidate casing), so recent answers are kept in a bounded LRU cache: a few MB, and the SQLite
    path runs at a fair fraction of the dicts' speed.
    """

    def __init__(self, path: Path, *, cached_lookups: int = 32768) -> None:
        self.path = path
        self._local = threading.local()
        self._queries = {table: f"SELECT {_value_column(table)} FROM {table} WHERE k = ?" for table in
                         (*COUNT_TABLES, CASING_TABLE)}
        self.value = functools.lru_cache(maxsize=cached_lookups)(self._lookup)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = _open_read_only(self.path)
        return db

    def _lookup(self, table: str, key: str) -> Any:
        """The stored value for `key` in `table` (casings decoded), None when absent."""
        row = self._db().execute(self._queries[table], (key,)).fetchone()
        if row is None:
            return None
        return frozenset(json.loads(row[0])) if table == CASING_TABLE else row[0]

    def count(self, table: str) -> int:
        return self._db().execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def keys(self, table: str) -> Iterator[str]:
        for (key,) in self._db().execute(f"SELECT k FROM {table} ORDER BY k"):
            yield key


def _value_column(table: str) -> str:
    return "v" if table == CASING_TABLE else "n"


class CountTable(Mapping[str, int]):
    """One frequency table, read like the `nltk.FreqDist` it replaces: a missing key counts 0."""

    def __init__(self, reader: StoreReader, table: str) -> None:
        self._reader = reader
        self._table = table

    def __getitem__(self, key: str) -> int:
        return self._reader.value(self._table, key) or 0

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._reader.value(self._table, key) is not None

    def __len__(self) -> int:
        return self._reader.count(self._table)

    def __iter__(self) -> Iterator[str]:
        return self._reader.keys(self._table)


class CasingTable(Mapping[str, frozenset[str]]):
    """Lower-cased word -> the casings seen in the training text (KeyError when never seen)."""

    def __init__(self, reader: StoreReader) -> None:
        self._reader = reader

    def __getitem__(self, key: str) -> frozenset[str]:
        casings = self._reader.value(CASING_TABLE, key)
        if casings is None:
            raise KeyError(key)
        return casings

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._reader.value(CASING_TABLE, key) is not None

    def __len__(self) -> int:
        return self._reader.count(CASING_TABLE)

    def __iter__(self) -> Iterator[str]:
        return self._reader.keys(CASING_TABLE)


def statistics_from_store(path: Path) -> Any:
    """A `truecase.TrueCaser` whose five tables are read from the store at `path`.

    The library's own scoring (get_score, get_true_case_from_tokens) runs unchanged; only its
    constructor, which would unpickle the dicts, is skipped.
    """
    statistics_class = library_truecaser_class()
    statistics = statistics_class.__new__(statistics_class)
    reader = StoreReader(path)
    for table, attribute in COUNT_TABLES.items():
        setattr(statistics, attribute, CountTable(reader, table))
    statistics.word_casing_lookup = CasingTable(reader)
    return statistics


def library_truecaser_class() -> type:
    """`truecase.TrueCaser.TrueCaser`, executed from the installed package's own file, without NLTK.

    The module imports NLTK only for raw-text tokenising (get_true_case) and detokenising, which
    we never call: we hand it our own tokens. Its imports of `nltk...` get a stand-in that raises
    if used; nothing else changes, and no global import state is touched (only this module's
    `__import__` is replaced).
    """
    path = _package_dir() / "TrueCaser.py"
    module = types.ModuleType("callytics_ray.punctuation._truecase_library")
    module.__file__ = str(path)
    module.__dict__["__builtins__"] = {**vars(builtins), "__import__": _import_without_nltk}
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102 - the installed package's file
    return module.TrueCaser


def _needs_nltk(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("tokenising raw text needs NLTK; callytics hands TrueCaser its own word tokens")


_NLTK_STAND_IN = types.SimpleNamespace(
    word_tokenize=_needs_nltk, TreebankWordDetokenizer=_needs_nltk, tokenize=None, __name__="nltk"
)


def _import_without_nltk(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if name == "nltk" or name.startswith("nltk."):
        return _NLTK_STAND_IN
    return builtins.__import__(name, globals, locals, fromlist, level)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    build_store(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
