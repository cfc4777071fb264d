"""The A/B comparison of speech-recognizer variants, from what the database holds per call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jiwer
import numpy as np
from pydantic import BaseModel, Field

from callytics_ray.api.stored import parse_stored_request
from callytics_ray.errors import ConfigError
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.storage.models import CallFigures

# WER compares words, not casing or punctuation (Whisper's and the reference's differ freely).
_NORMALIZE = jiwer.Compose([
    jiwer.ToLowerCase(),
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
    jiwer.ReduceToListOfListOfWords(),
])


class VariantReport(BaseModel):
    """One variant's figures. Latency is the speech-recognition stage's seconds per call; the
    real-time factor is those seconds over the call's duration (below 1 is faster than real time)."""

    variant: str
    weight: float | None = Field(None, description="current traffic weight; None when no longer configured")
    calls: int
    completed: int
    partial: int
    failed: int
    in_progress: int
    asr_latency_mean_s: float | None = None
    asr_latency_p95_s: float | None = None
    processing_mean_s: float | None = Field(None, description="all stages, seconds per call")
    real_time_factor_mean: float | None = None
    mean_word_confidence: float | None = None
    wer: float | None = Field(None, description="word error rate over calls uploaded with a reference transcript")
    wer_calls: int = 0
    reference_words: int = 0


class ExperimentReport(BaseModel):
    variants: list[VariantReport]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> tuple[float, int]:
    """Corpus WER of `hypotheses` against `references` (case and punctuation ignored).

    Returns:
        (wer, reference word count); pairs whose reference has no words are skipped.

    Raises:
        ConfigError: no pair has a reference with words.
    """
    pairs = [(r, h) for r, h in zip(references, hypotheses) if _NORMALIZE(r) != [[]]]
    if not pairs:
        raise ConfigError("no reference transcript with words to compare against")
    refs, hyps = zip(*pairs)
    out = jiwer.process_words(list(refs), list(hyps), reference_transform=_NORMALIZE, hypothesis_transform=_NORMALIZE)
    errors = out.substitutions + out.deletions + out.insertions
    ref_words = out.substitutions + out.deletions + out.hits
    return errors / ref_words, ref_words


def compare_variants(
    figures: Sequence[CallFigures], texts: Mapping[str, str], weights: Mapping[str, float]
) -> ExperimentReport:
    """Aggregate per-call figures by variant.

    Args:
        figures: one entry per call that records a variant.
        texts: transcript text per call id (needed for calls uploaded with a reference).
        weights: the currently configured weight per variant.
    """
    by_variant: dict[str, list[CallFigures]] = {name: [] for name in weights}
    for figure in figures:
        by_variant.setdefault(figure.variant, []).append(figure)
    return ExperimentReport(variants=[_report(name, calls, texts, weights.get(name)) for name, calls in sorted(by_variant.items())])


def _report(name: str, calls: list[CallFigures], texts: Mapping[str, str], weight: float | None) -> VariantReport:
    statuses = [c.status for c in calls]
    done = [c for c in calls if c.status in (CallStatus.COMPLETED, CallStatus.PARTIAL)]
    asr = np.array([c.asr_s for c in done if c.asr_s is not None], dtype=float)
    total = [c.total_s for c in done if c.total_s is not None]
    rtf = [c.asr_s / c.duration_s for c in done if c.asr_s is not None and c.duration_s]
    words = sum(c.words for c in done if c.mean_word_probability is not None)
    confidence = (
        sum(c.mean_word_probability * c.words for c in done if c.mean_word_probability is not None) / words
        if words else None
    )
    references, hypotheses = [], []
    for call in done:
        reference = parse_stored_request(call.request_json).reference_transcript
        if reference:
            references.append(reference)
            hypotheses.append(texts.get(call.call_id, ""))
    wer, reference_words = (None, 0)
    if references:
        try:
            wer, reference_words = word_error_rate(references, hypotheses)
        except ConfigError:
            pass
    return VariantReport(
        variant=name,
        weight=weight,
        calls=len(calls),
        completed=statuses.count(CallStatus.COMPLETED),
        partial=statuses.count(CallStatus.PARTIAL),
        failed=statuses.count(CallStatus.FAILED),
        in_progress=statuses.count(CallStatus.QUEUED) + statuses.count(CallStatus.PROCESSING),
        asr_latency_mean_s=_round(asr.mean()) if asr.size else None,
        asr_latency_p95_s=_round(np.percentile(asr, 95)) if asr.size else None,
        processing_mean_s=_round(float(np.mean(total))) if total else None,
        real_time_factor_mean=_round(float(np.mean(rtf))) if rtf else None,
        mean_word_confidence=_round(confidence) if confidence is not None else None,
        wer=_round(wer) if wer is not None else None,
        wer_calls=len(references) if wer is not None else 0,
        reference_words=reference_words,
    )


def _round(value: float) -> float:
    return round(float(value), 4)


def experiment_report(store: CallStore, *, tenant: str | None, weights: Mapping[str, float]) -> ExperimentReport:
    """The report for `tenant` (all tenants when None), straight from the database."""
    figures = store.variant_figures(tenant=tenant)
    with_reference = [
        f.call_id for f in figures
        if f.status in (CallStatus.COMPLETED, CallStatus.PARTIAL)
        and parse_stored_request(f.request_json).reference_transcript
    ]
    return compare_variants(figures, store.call_texts(with_reference), weights)
