"""Role accuracy and confidence calibration on labelled calls (bench/data/role_dev_calls.json).

The agent score of a speaker is a weighted sum of cues (roles.Cues) read as log-odds: P(agent)
is the softmax of the speakers' scores. The weights are fitted on the dev calls by
L2-penalised maximum likelihood of the true agent (a conditional logit). Reported: role
accuracy by speech time and by call, Brier score, expected calibration error and a reliability
table, for dev leave-one-call-out (weights refitted without the call scored), for the held-out
test calls, and for the hand-set weights and confidence used before calibration.

Run: .venv/bin/python -m bench.roles [--write] [--dev-only]   (--write updates bench/RESULTS.md;
--dev-only leaves the test calls unscored, for choosing cues)
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from callytics_ray.roles import CUE_WEIGHTS, assign_roles, role_evidence
from callytics_ray.settings import RoleOptions
from callytics_ray.types import AudioInfo, SpeakerRole, Utterance

DEV_CALLS = Path(__file__).resolve().parent / "data" / "role_dev_calls.json"
_MONO = AudioInfo(0.0, 8000, 1, "pcm_s16le", "wav", "mono", 20.0, 0.5)
_GAP_S = 0.5
_BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
# The hand-set weights before calibration (cues added since then: 0).
LEGACY_WEIGHTS = {
    "phrase_weight": 1.0, "first_speaker_weight": 0.5, "question_weight": 0.5, "talk_share_weight": 0.25,
}


@dataclass(frozen=True, slots=True)
class DevCall:
    """One labelled call: utterances with speaker labels and the true role of every label."""

    id: str
    language: str
    kind: str
    split: str  # "dev": fitted on and looked at; "test": held out, scored only
    utterances: tuple[Utterance, ...]
    truth: dict[str, str]


@dataclass(frozen=True, slots=True)
class Scored:
    """One call as the roles saw it."""

    call: DevCall
    roles: tuple[SpeakerRole, ...]
    confidence: float  # of the agent/customer assignment
    correct: bool  # agent and customer both right
    right_s: float  # speech time whose speaker got the true role
    total_s: float


def turn_seconds(text: str) -> float:
    """Speech time of a written turn: 0.33 s per English word, 0.17 s per Hangul syllable
    (about 180 words / 350 syllables a minute, conversational rates), plus 0.3 s."""
    hangul = sum(1 for ch in text if 0xAC00 <= ord(ch) <= 0xD7A3)
    words = len([w for w in text.split() if not any(0xAC00 <= ord(ch) <= 0xD7A3 for ch in w)])
    return round(0.3 + 0.33 * words + 0.17 * hangul, 2)


def load_dev_calls(path: Path = DEV_CALLS) -> list[DevCall]:
    """The dev calls; turns without times follow each other with a 0.5 s pause."""
    calls = []
    for raw in json.loads(path.read_text())["calls"]:
        utterances, t = [], 0.0
        for speaker, text, *times in raw["turns"]:
            start, end = (times[0], times[1]) if times else (t, t + turn_seconds(text))
            utterances.append(Utterance(start, end, speaker, text))
            t = end + _GAP_S
        calls.append(DevCall(
            raw["id"], raw["language"], raw["kind"], raw["split"], tuple(utterances), dict(raw["roles"])
        ))
    return calls


WEIGHTS = tuple(weight for _, weight in CUE_WEIGHTS)
# L2 penalty = a Gaussian prior (sd 1.6) on each weight: keeps near-separable dev calls from
# driving the weights, and with them the confidence, up without bound.
L2 = 0.2


def _design(call: DevCall, options: RoleOptions) -> tuple[np.ndarray, int]:
    """Cue matrix of the call's people (speakers x WEIGHTS) and the row of the true agent."""
    cues = role_evidence(call.utterances, options).cues
    rows = [c.vector() for c in cues.values()]
    return np.array(rows, dtype=float), list(cues).index(_true_agent(call))


def fit_weights(
    calls: list[DevCall], options: RoleOptions, l2: float = L2, frozen: frozenset[str] = frozenset()
) -> RoleOptions:
    """`options` with the cue weights that maximise the (L2-penalised) likelihood of every
    call's true agent under the softmax of the speakers' scores; weights named in `frozen` keep
    their value in `options` (an ablation freezes a cue at 0)."""
    designs = [_design(c, options) for c in calls]

    def loss(w: np.ndarray) -> float:
        total = l2 * float(w @ w)
        for x, agent in designs:
            z = x @ w
            total -= z[agent] - (z.max() + math.log(np.exp(z - z.max()).sum()))
        return total

    start = np.array([getattr(options, name) for name in WEIGHTS])
    bounds = [(v, v) if n in frozen else (0.0, None) for n, v in zip(WEIGHTS, start)]
    fitted = minimize(loss, start, bounds=bounds).x
    return options.model_copy(update={n: round(float(v), 2) for n, v in zip(WEIGHTS, fitted)})


def score(call: DevCall, options: RoleOptions) -> Scored:
    roles = assign_roles(call.utterances, _MONO, options)
    return _scored(call, roles, next(r.confidence for r in roles if r.role == "agent"))


def legacy_score(call: DevCall, options: RoleOptions) -> Scored:
    """Roles and confidence as before calibration: the hand-set weights (no address cue) and
    margin / (margin + 1), on today's phrase lists."""
    options = options.model_copy(update={n: LEGACY_WEIGHTS.get(n, 0.0) for n in WEIGHTS})
    roles = assign_roles(call.utterances, _MONO, options)
    evidence = role_evidence(call.utterances, options)
    ranked = evidence.ranked
    margin = evidence.scores[ranked[0]] - evidence.scores[ranked[1]]
    return _scored(call, roles, max(0.0, margin) / (abs(margin) + 1.0))


def _scored(call: DevCall, roles: tuple[SpeakerRole, ...], confidence: float) -> Scored:
    role_of = {r.speaker: r.role for r in roles}
    parties = {s for s, r in call.truth.items() if r in ("agent", "customer")}
    correct = all(role_of.get(s) == call.truth[s] for s in parties)
    right = sum(u.end - u.start for u in call.utterances if role_of.get(u.speaker) == call.truth[u.speaker])
    total = sum(u.end - u.start for u in call.utterances)
    return Scored(call, roles, confidence, correct, right, total)


def _true_agent(call: DevCall) -> str:
    return next(s for s, r in call.truth.items() if r == "agent")


def brier(rows: list[Scored]) -> float:
    return sum((r.confidence - r.correct) ** 2 for r in rows) / len(rows)


def reliability(rows: list[Scored]) -> list[tuple[str, int, float, float]]:
    """(bin, n, mean confidence, share correct) per confidence bin."""
    out = []
    for low, high in zip(_BINS, _BINS[1:]):
        inside = [r for r in rows if low <= r.confidence < high]
        if inside:
            out.append((f"{low:.1f}-{min(high, 1.0):.1f}", len(inside),
                        sum(r.confidence for r in inside) / len(inside), sum(r.correct for r in inside) / len(inside)))
    return out


def ece(rows: list[Scored]) -> float:
    """Expected calibration error over the reliability bins."""
    return sum(n * abs(conf - acc) for _, n, conf, acc in reliability(rows)) / len(rows)


def leave_one_out(calls: list[DevCall], options: RoleOptions) -> list[Scored]:
    """Every call scored with weights fitted on the other calls."""
    return [score(call, fit_weights(calls[:i] + calls[i + 1:], options)) for i, call in enumerate(calls)]


def speech_accuracy(rows: list[Scored]) -> float:
    return sum(r.right_s for r in rows) / sum(r.total_s for r in rows)


def support_calls(rows: list[Scored]) -> list[Scored]:
    """Support calls: every kind but the cue-free small talk and read prompts (kinds *no_cues)."""
    return [r for r in rows if not r.call.kind.endswith("no_cues")]


def _measures(name: str, rows: list[Scored]) -> list[str]:
    if not rows:
        return []
    right = sum(r.correct for r in rows)
    return [
        f"| {name} | {len(rows)} | {speech_accuracy(rows):.3f} | {right / len(rows):.3f} | "
        f"{brier(rows):.3f} | {ece(rows):.3f} |"
    ]


def report(calls: list[DevCall], options: RoleOptions, dev_only: bool = False) -> str:
    """The RESULTS.md section; `dev_only` leaves the held-out test calls unscored (while choosing
    cues, look at dev only)."""
    dev = [c for c in calls if c.split == "dev"]
    test = [] if dev_only else [c for c in calls if c.split == "test"]
    fitted = fit_weights(dev, options)
    loo = leave_one_out(dev, options)
    held_out = [score(c, fitted) for c in test]
    legacy = [legacy_score(c, options) for c in dev + test]
    lines = [
        f"Labelled calls (bench/data/role_dev_calls.json): {len(dev)} dev and {len(test)} test, "
        f"{sum(c.language == 'en' for c in calls)} English and {sum(c.language == 'ko' for c in calls)} Korean "
        f"(kinds: {', '.join(sorted({c.kind for c in calls}))}); one dev call is the text of the real recording "
        "synthetic_stereo_call_bleed as if mixed to mono. Speech time per turn is estimated from its length "
        "(bench/roles.py: turn_seconds), or for the real call taken from its annotation. Right = agent and "
        "customer both right; confidence = the agent's (= the assignment's) probability. The phrase lists "
        "were chosen looking at the dev calls, so dev leave-one-call-out (which refits the weights, not "
        "the lists) flatters them; the test calls are the check.",
        "",
        "Cue weights fitted on dev (L2 " + str(L2) + "): "
        + ", ".join(f"{n} {getattr(fitted, n)}" for n in WEIGHTS)
        + "; settings: " + ", ".join(f"{getattr(options, n)}" for n in WEIGHTS) + ".",
        "",
        "| set | calls | role right, share of speech time | calls right | Brier | ECE |",
        "| --- | --- | --- | --- | --- | --- |",
        *_measures("dev, leave-one-call-out", loo),
        *_measures("test (held out, dev weights)", held_out),
        *_measures("dev + test, before calibration (hand weights, margin/(margin+1), today's phrases)", legacy),
        *_measures("support calls, dev leave-one-call-out", support_calls(loo)),
        *_measures("support calls, test (held out)", support_calls(held_out)),
    ]
    right = sum(r.correct for r in loo + held_out) / len(loo + held_out)
    lines += [
        f"| constant confidence = share right ({right:.3f}), dev + test | {len(loo + held_out)} | | | "
        f"{right * (1 - right):.3f} | |",
        "",
        "Reliability, dev leave-one-call-out and test together (confidence bin, calls, mean confidence, share right):",
        "",
        "| bin | n | mean confidence | share right |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {b} | {n} | {conf:.3f} | {acc:.3f} |" for b, n, conf, acc in reliability(loo + held_out)]
    both = loo + held_out
    support = support_calls(both)
    lines += [
        "",
        "By kind, dev leave-one-call-out and test together:",
        "",
        "| kind | calls | role right, share of speech time | calls right | mean confidence |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind in sorted({r.call.kind for r in both}):
        rows = [r for r in both if r.call.kind == kind]
        lines.append(
            f"| {kind} | {len(rows)} | {speech_accuracy(rows):.3f} | {sum(r.correct for r in rows)}/{len(rows)} | "
            f"{sum(r.confidence for r in rows) / len(rows):.3f} |"
        )
    lines += [
        "",
        f"Support calls (every kind but the cue-free small talk and read prompts): role right for "
        f"{speech_accuracy(support):.3f} of speech time ({len(support)} calls); dev leave-one-call-out only: "
        f"{speech_accuracy(support_calls(loo)):.3f}; test only: "
        + (f"{speech_accuracy(support_calls(held_out)):.3f}" if held_out else "not scored (--dev-only)")
        + " (goal: 0.95 on each).",
    ]
    wrong = [f"{r.call.id} ({r.confidence:.2f})" for r in both if not r.correct]
    lines += ["", f"Wrong assignments (confidence): {', '.join(wrong) or 'none'}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--dev-only", action="store_true", help="leave the held-out test calls unscored")
    args = parser.parse_args()
    if args.write and args.dev_only:
        parser.error("--write needs the test calls scored")
    body = report(load_dev_calls(), RoleOptions(), dev_only=args.dev_only)
    print(body)
    if args.write:
        from bench.report import write_section

        write_section("Roles: accuracy and confidence calibration (bench/roles.py)", body)


if __name__ == "__main__":
    main()
