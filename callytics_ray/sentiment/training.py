"""The labelled training sentences shipped with the package (call-centre style, English and Korean)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from callytics_ray.types import SENTIMENT_LABELS


@dataclass(frozen=True, slots=True)
class LabelledSentence:
    label: str
    language: str
    text: str


def read_labelled(text: str) -> tuple[LabelledSentence, ...]:
    """Parse a `label<TAB>lang<TAB>text` file with a header line."""
    rows = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    out = []
    for row in rows:
        if row["label"] not in SENTIMENT_LABELS:
            raise ValueError(f"unknown sentiment label {row['label']!r} in labelled data")
        out.append(LabelledSentence(row["label"], row["lang"], row["text"].strip()))
    return tuple(out)


def training_text() -> str:
    """The raw shipped training file (its hash keys the trained-head cache)."""
    return resources.files("callytics_ray.sentiment").joinpath("data").joinpath("train.tsv").read_text(encoding="utf-8")


def load_training_set(path: Path | None = None) -> tuple[LabelledSentence, ...]:
    """The shipped training sentences, or those in `path`."""
    return read_labelled(path.read_text(encoding="utf-8") if path else training_text())


def data_hash(sentences: tuple[LabelledSentence, ...]) -> str:
    digest = hashlib.sha256()
    for s in sentences:
        digest.update(f"{s.label}\t{s.language}\t{s.text}\n".encode())
    return digest.hexdigest()[:16]
