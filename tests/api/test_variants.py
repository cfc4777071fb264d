"""A/B variants: the weighted split, live weight changes, and the per-variant experiment report."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from callytics_ray.api import VariantPicker, compare_variants, pick_variant
from callytics_ray.errors import ConfigError
from callytics_ray.asr import Transcriber
from callytics_ray.pipeline import LocalStages
from callytics_ray.settings import AsrVariant, Settings
from callytics_ray.storage.models import CallFigures
from tests.api.conftest import poll, upload, with_api

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


def _variants(**weights: float) -> list[AsrVariant]:
    return [AsrVariant(name=name, weight=weight) for name, weight in weights.items()]


def test_pick_variant_lays_the_weights_end_to_end():
    variants = _variants(a=0.7, off=0.0, b=0.3)

    assert pick_variant(variants, 0.0) == "a"
    assert pick_variant(variants, 0.6999) == "a"
    assert pick_variant(variants, 0.7) == "b"
    assert pick_variant(variants, 0.999999999) == "b"
    assert "off" not in {pick_variant(variants, i / 1000) for i in range(1000)}
    assert pick_variant(_variants(only=1.0, off=0.0), 0.9999999999) == "only"
    with pytest.raises(ConfigError):
        pick_variant(_variants(a=0.0), 0.5)


def test_picker_honours_the_weights_over_many_picks_and_takes_new_weights_live():
    picker = VariantPicker(_variants(base=0.7, tiny=0.2, large=0.1, retired=0.0), rng=random.Random(7))

    counts = Counter(picker.pick() for _ in range(20_000))

    assert set(counts) == {"base", "tiny", "large"}
    for name, weight in (("base", 0.7), ("tiny", 0.2), ("large", 0.1)):
        assert counts[name] / 20_000 == pytest.approx(weight, abs=0.015)

    picker.set_variants([{"name": "base", "weight": 1}, {"name": "tiny", "weight": 3}])
    counts = Counter(picker.pick() for _ in range(8_000))
    assert counts["tiny"] / 8_000 == pytest.approx(0.75, abs=0.02)
    assert picker.weights() == {"base": 1.0, "tiny": 3.0}

    with pytest.raises(ConfigError, match="unique"):
        picker.set_variants(_variants(a=1.0) + _variants(a=2.0))
    with pytest.raises(ConfigError, match="positive weight"):
        picker.set_variants(_variants(a=0.0, b=0.0))
    assert picker.weights() == {"base": 1.0, "tiny": 3.0}  # a refused update changes nothing


def test_variants_come_from_settings_and_the_environment(monkeypatch):
    assert VariantPicker.from_settings(Settings(_env_file=None)) is None
    monkeypatch.setenv("CALLYTICS_API__VARIANTS", '[{"name": "base", "weight": 3}, {"name": "tiny", "weight": 1}]')

    picker = VariantPicker.from_settings(Settings(_env_file=None))

    assert picker is not None and picker.weights() == {"base": 3.0, "tiny": 1.0}


def test_compare_variants_aggregates_per_variant():
    def figure(call_id, variant, status, asr_s, duration_s=10.0, confidence=0.9, words=10, reference=None):
        request = '{"reference_transcript": "%s"}' % reference if reference else None
        return CallFigures(call_id=call_id, variant=variant, status=status, duration_s=duration_s, asr_s=asr_s,
                           total_s=asr_s + 1.0 if asr_s else None, mean_word_probability=confidence,
                           words=words, request_json=request)

    figures = [
        figure("a1", "a", "completed", 1.0, confidence=0.8, words=30, reference="the cat sat on the mat"),
        figure("a2", "a", "completed", 3.0, confidence=0.9, words=10),
        figure("a3", "a", "failed", None, words=0, confidence=None),
        figure("b1", "b", "completed", 5.0, duration_s=5.0, reference="hello there"),
        figure("b2", "b", "processing", None, words=0, confidence=None),
    ]
    texts = {"a1": "The cat sat on a mat.", "b1": "hello there"}

    report = {v.variant: v for v in compare_variants(figures, texts, {"a": 0.5, "b": 0.5, "c": 0.0}).variants}

    a, b, c = report["a"], report["b"], report["c"]
    assert (a.calls, a.completed, a.failed, a.in_progress) == (3, 2, 1, 0)
    assert a.asr_latency_mean_s == 2.0 and a.asr_latency_p95_s == pytest.approx(2.9)
    assert a.processing_mean_s == 3.0
    assert a.real_time_factor_mean == pytest.approx(0.2)
    assert a.mean_word_confidence == pytest.approx((0.8 * 30 + 0.9 * 10) / 40, abs=1e-4)
    assert a.wer == pytest.approx(1 / 6, abs=1e-4) and a.wer_calls == 1 and a.reference_words == 6
    assert (b.calls, b.completed, b.in_progress, b.real_time_factor_mean, b.wer) == (2, 1, 1, 1.0, 0.0)
    assert c.calls == 0 and c.wer is None and c.asr_latency_mean_s is None


@pytest.fixture(scope="module")
def tiny_stages(session_settings: Settings, local_stages) -> LocalStages:
    """The session's models, plus a tiny.en recognizer for calls of variant "tiny"."""
    tiny = Transcriber.from_settings(session_settings.model_copy(
        update={"asr": session_settings.asr.model_copy(update={"model": "bundled:whisper-tiny.en"})}))
    return LocalStages(
        session_settings, transcriber=local_stages.transcriber, diarizer=local_stages.diarizer,
        punctuator=local_stages.punctuator, classifier=local_stages.classifier, analyzer=local_stages.analyzer,
        variant_transcribers={"tiny": tiny},
    )


@pytest.mark.models
def test_experiments_compare_two_real_recognizers(make_client, key_for, api_settings, store, stereo_bytes, tiny_stages):
    settings = with_api(api_settings, variants=_variants(base=1.0, tiny=0.0))
    client = make_client(settings, backend=tiny_stages)
    headers = key_for("acme")
    picker = client.app.state.variant_picker
    reference = f"{RIGHT} {LEFT}"

    ids = {"base": [], "tiny": []}
    for variant, weights in (("base", {"base": 1.0, "tiny": 0.0}), ("tiny", {"base": 0.0, "tiny": 1.0})):
        picker.set_variants(_variants(**weights))  # what a Serve reconfigure does with new weights
        for with_reference in (True, False):
            fields = {"reference_transcript": reference} if with_reference else {}
            reply = upload(client, headers, stereo_bytes, channel_layout="dual", params={"wait": "true"}, **fields)
            assert reply.status_code == 200 and reply.json()["status"] == "completed", reply.text
            assert reply.json()["variant"] == variant and reply.json()["result"]["variant"] == variant
            ids[variant].append(reply.json()["id"])
    # Another tenant's experiment calls do not leak into this tenant's report.
    other = key_for("globex")
    assert poll(client, other, upload(client, other, stereo_bytes).json()["id"])["variant"] == "tiny"

    models = {v: client.get(f"/v1/calls/{ids[v][0]}", headers=headers).json()["result"]["models"]["asr"] for v in ids}
    assert models["base"] != models["tiny"]

    report = client.get("/v1/experiments", headers=headers)

    assert report.status_code == 200, report.text
    by_name = {v["variant"]: v for v in report.json()["variants"]}
    assert set(by_name) == {"base", "tiny"}
    for name, figures in by_name.items():
        assert figures["weight"] == (1.0 if name == "tiny" else 0.0)
        assert (figures["calls"], figures["completed"], figures["failed"]) == (2, 2, 0)
        assert 0 < figures["asr_latency_mean_s"] <= figures["asr_latency_p95_s"] < 60
        assert 0 < figures["real_time_factor_mean"] < 12
        assert 0.3 < figures["mean_word_confidence"] <= 1.0
        assert figures["wer_calls"] == 1 and figures["reference_words"] == 22
        assert 0.0 <= figures["wer"] < 0.3
