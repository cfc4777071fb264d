"""English true-casing with the statistics that ship in the `truecase` package.

`truecase`'s own entry point tokenises with NLTK's punkt data, which is not installed; we hand it
our own word tokens instead, one in, one out, so word timings stay attached. Its statistics are
read from a SQLite store built once under the model cache (punctuation/truecase_store.py) rather
than unpickled into ~380 MB of dicts in every process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)


class TrueCaser:
    """Restores English capitalisation of lower-cased words (names, "I", sentence starts).

    The store is built on first use when the cache has none (about a minute, in a child process;
    `callytics models prefetch` builds it ahead), then opened read-only: a few MB per process.

    Example:
        >>> TrueCaser(Path("~/.cache/callytics")).case(["hello", "i", "am", "john", "from", "new", "york"])
        ['Hello', 'I', 'am', 'John', 'from', 'New', 'York']
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                from callytics_ray.punctuation.truecase_store import ensure_store, statistics_from_store

                cache_dir = self._cache_dir
                if cache_dir is None:
                    from callytics_ray.settings import Settings

                    cache_dir = Settings().cache_dir
                self._model = statistics_from_store(ensure_store(cache_dir))
                logger.info("true-casing statistics opened from the store under %s", cache_dir)
        return self._model

    def case(self, words: Sequence[str]) -> list[str]:
        """Return `words` (one sentence, no punctuation) in their most likely case."""
        if not words:
            return []
        cased = self._load().get_true_case_from_tokens(list(words), out_of_vocabulary_token_option="as-is")
        cased[0] = cased[0][:1].upper() + cased[0][1:]
        return cased
