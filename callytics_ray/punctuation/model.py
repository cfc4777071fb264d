"""deepmultilingualpunctuation checkpoints (e.g. oliverguhr/fullstop-punctuation-multilang-large)
through the library's own word-level prediction.

deepmultilingualpunctuation 1.0.1 builds its pipeline with `grouped_entities=False`, which
transformers 5 rejects (TypeError); we build the same token-classification pipeline with
`aggregation_strategy="none"` (accepted by transformers 4 and 5) and keep the library's chunking
and label logic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from callytics_ray.errors import ModelNotFoundError
from callytics_ray.settings import PunctuationOptions
from callytics_ray.types import Word

logger = logging.getLogger(__name__)

# The checkpoints predict one of these after each word; "-" is a dash that we write as a comma.
_LABEL_MARKS = {"0": "", ".": ".", ",": ",", "?": "?", "-": ",", ":": ":"}


class ModelRestorer:
    """Punctuation labels from a token-classification checkpoint.

    Example:
        >>> restorer = ModelRestorer(Path("/models/fullstop-punctuation-multilang-large"))
        >>> restorer.labels(["hello", "how", "are", "you"], None, "en", PunctuationOptions())
    """

    def __init__(self, model_dir: Path, *, device: str = "cpu") -> None:
        try:
            from deepmultilingualpunctuation import PunctuationModel
            from transformers import pipeline
        except ImportError as err:
            raise ModelNotFoundError(
                str(model_dir), "punctuation", "install the stage's runtime_envs/punctuation.txt"
            ) from err

        class _Model(PunctuationModel):
            def __init__(self) -> None:  # the library's __init__ passes grouped_entities (see above)
                self.pipe = pipeline(
                    "token-classification",
                    model=str(model_dir),
                    aggregation_strategy="none",
                    device=0 if device == "cuda" else -1,
                )

        self.name = f"deepmultilingualpunctuation:{model_dir.name}"
        self._model = _Model()
        labels = set(self._model.pipe.model.config.id2label.values())
        if not labels <= set(_LABEL_MARKS):
            raise ModelNotFoundError(
                str(model_dir), "punctuation", f"labels {sorted(labels)} are not punctuation labels {sorted(_LABEL_MARKS)}"
            )

    def labels(
        self,
        cores: Sequence[str],
        words: Sequence[Word] | None,
        language: str,
        options: PunctuationOptions,
    ) -> list[str]:
        """Marks after each bare word from the model; the last word always closes a sentence."""
        if not cores:
            return []
        # The pipeline must see exactly our words; tokens the library would drop (bare marks) are
        # replaced by a placeholder so the word count stays aligned.
        safe = [c if c.strip(".,;:!?") else "-" for c in cores]
        tagged = self._model.predict(safe)
        marks = [_LABEL_MARKS.get(str(label), "") for _, label, _ in tagged]
        if marks[-1] not in (".", "?"):
            marks[-1] = "."
        return marks
