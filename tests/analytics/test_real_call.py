"""Categories and scorecard items on the analysis of a real recording, run through the real pipeline:
stereo_diarization.wav, agent on the left channel ("He began a confused complaint against the
wizard, who had vanished behind the curtain on the left."), customer on the right ("The horizon
seems extremely distant.")."""

from __future__ import annotations

import pytest

from callytics_ray.analytics import Category, builtin_rubric, categorize, evaluate, parse_rule, score

pytestmark = pytest.mark.models


def start_of(analysis, word: str) -> float:
    return next(w.start for s in analysis.segments for w in s.words if w.text.strip(" .,").lower() == word)


def test_categories_find_what_the_recording_says_and_who_said_it(real_call):
    categories = [Category(name=name, rule=parse_rule(rule)) for name, rule in (
        ("complaint-about-wizard", {"kind": "near", "speaker": "agent", "phrases": ["complaint"],
                                    "near": ["wizard"], "within_words": 3}),
        ("customer-horizon", {"kind": "phrase", "speaker": "customer", "phrases": ["horizon"],
                              "window": {"first_s": 5}}),
        ("agent-horizon", {"kind": "phrase", "speaker": "agent", "phrases": ["horizon"]}),
        ("customer-curtain", {"kind": "phrase", "speaker": "customer", "phrases": ["curtain"]}),
        ("not-distant", {"kind": "phrase", "phrases": ["distant"], "negation": "require"}),
    )]
    matches = {m.category: m for m in categorize(categories, real_call)}
    assert set(matches) == {"complaint-about-wizard", "customer-horizon"}
    near = matches["complaint-about-wizard"].evidence[0]
    assert near.role == "agent" and near.text.lower().startswith("complaint") and "wizard" in near.text.lower()
    assert near.start == start_of(real_call, "complaint")
    horizon = matches["customer-horizon"].evidence[0]
    assert horizon.role == "customer" and horizon.start == start_of(real_call, "horizon") < 5


def test_fuzzy_matching_and_metrics_on_the_real_call(real_call):
    fuzzy = evaluate(parse_rule({"kind": "phrase", "phrases": ["wizzard"], "match": "fuzzy", "threshold": 85}),
                     real_call)
    assert fuzzy.matched and fuzzy.evidence[0].text.lower() == "wizard"
    assert evaluate(parse_rule({"kind": "phrase", "phrases": ["wizzard"]}), real_call).matched is False
    duration = evaluate(parse_rule({"kind": "metric", "metric": "duration_s", "op": "<", "value": 10}), real_call)
    assert duration.matched and duration.evidence[0].value == pytest.approx(real_call.audio.duration_s, abs=1e-3)


def test_the_builtin_rubric_on_the_real_call(real_call):
    card = score(builtin_rubric(), real_call)
    statuses = {i.id: i.status for i in card.items}
    # Nobody greets, gives a name or offers further help in this recording; nothing about accounts.
    assert statuses["greeting"] == "fail" and statuses["further-help"] == "fail"
    assert statuses["identity-before-account"] == "not_applicable"
    assert statuses["hold-announced"] == "not_applicable"  # 5 s long: no 10 s silence
    assert statuses["resolution"] == "not_assessed"
    assert card.score is not None and card.score < 100
