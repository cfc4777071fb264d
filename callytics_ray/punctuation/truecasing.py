"""English true-casing with the statistics that ship in the `truecase` package.

`truecase`'s own entry point tokenises with NLTK's punkt data, which is not installed; we hand it
our own word tokens instead, one in, one out, so word timings stay attached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

logger = logging.getLogger(__name__)


class TrueCaser:
    """Restores English capitalisation of lower-cased words (names, "I", sentence starts).

    The statistics load on first use (about 4 s, 200 MB), once per instance.

    Example:
        >>> TrueCaser().case(["hello", "i", "am", "john", "from", "new", "york"])
        ['Hello', 'I', 'am', 'John', 'from', 'New', 'York']
    """

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from truecase.TrueCaser import TrueCaser as _Statistics
                except ImportError as err:
                    raise ImportError("true-casing needs `pip install truecase==0.0.14`") from err
                logger.info("loading truecase statistics")
                self._model = _Statistics()
        return self._model

    def case(self, words: Sequence[str]) -> list[str]:
        """Return `words` (one sentence, no punctuation) in their most likely case."""
        if not words:
            return []
        cased = self._load().get_true_case_from_tokens(list(words), out_of_vocabulary_token_option="as-is")
        cased[0] = cased[0][:1].upper() + cased[0][1:]
        return cased
