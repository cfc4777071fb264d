"""Real recordings come out as a dialogue: utterances, channels with bleed, speaker counts, overlap.

The dual-channel call is `synthetic_stereo_call_bleed.wav`: real read speech (CMU ARCTIC), laid out
as a support call whose parties leak into each other's channel at -17/-18 dB, 20 ms late, 8 kHz
mu-law; its reference (turns, texts, channels) is exact by construction.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from callytics_ray.audio import load_audio
from callytics_ray.diarization import build_diarizer
from callytics_ray.roles import attribute_speakers
from callytics_ray.settings import AudioOptions, RoleOptions, UtteranceOptions

pytestmark = pytest.mark.models

BLEED_CALL = "synthetic_stereo_call_bleed"


@pytest.fixture(scope="module")
def diarizer(session_settings):
    return build_diarizer(session_settings)


@pytest.fixture(scope="module")
def bleed_reference(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / f"{BLEED_CALL}.json").read_text())["turns"]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


def _speech_s(turns, speaker: str, start: float, end: float) -> float:
    return sum(max(0.0, min(t.end, end) - max(t.start, start)) for t in turns if t.speaker == speaker)


def test_bleed_is_not_speech_on_the_other_partys_channel(diarizer, data_dir, bleed_reference):
    audio = load_audio(data_dir / f"{BLEED_CALL}.wav")
    assert audio.info.layout == "dual"
    turns = diarizer.diarize(audio)
    for channel in (0, 1):
        mine = [t for t in bleed_reference if t["channel"] == channel]
        others = [t for t in bleed_reference if t["channel"] != channel]
        own = sum(_speech_s(turns, f"CHANNEL_{channel}", t["start"], t["end"]) for t in mine)
        assert own >= 0.9 * sum(t["end"] - t["start"] for t in mine)
        # Where only the other party talks, this channel is silent (a little edge slack).
        leaked = 0.0
        for turn in others:
            overlap_with_mine = any(m["start"] < turn["end"] and turn["start"] < m["end"] for m in mine)
            if not overlap_with_mine:
                leaked += _speech_s(turns, f"CHANNEL_{channel}", turn["start"] + 0.3, turn["end"] - 0.3)
        assert leaked < 0.3, f"channel {channel} has {leaked:.2f} s of the other party's echo as speech"


def test_dual_channel_words_stay_on_their_own_channel_and_interleave(diarizer, transcriber, data_dir, bleed_reference):
    audio = load_audio(data_dir / f"{BLEED_CALL}.wav")
    turns = diarizer.diarize(audio)
    utterances, roles = attribute_speakers(transcriber.transcribe(audio), turns, audio.info, RoleOptions())
    role_of = {r.speaker: r.role for r in roles}
    agent_words = set().union(*(_words(t["text"]) for t in bleed_reference if t["role"] == "agent"))
    customer_words = set().union(*(_words(t["text"]) for t in bleed_reference if t["role"] == "customer"))
    only = {"agent": agent_words - customer_words, "customer": customer_words - agent_words}
    heard = {"agent": set(), "customer": set()}
    for utterance in utterances:
        role = role_of[utterance.speaker]
        said = _words(utterance.text)
        heard[role] |= said
        other = "customer" if role == "agent" else "agent"
        assert not said & only[other], f"{role} utterance {utterance.text!r} holds the {other}'s words"
    for role in ("agent", "customer"):
        assert len(heard[role] & only[role]) >= 0.7 * len(only[role])
    # Time order, parties interleaved as in the reference: agent, customer, agent, customer, ...
    assert [u.start for u in utterances] == sorted(u.start for u in utterances)
    sequence = [role_of[u.speaker] for u in utterances]
    changes = [r for i, r in enumerate(sequence) if i == 0 or r != sequence[i - 1]]
    assert changes[:6] == ["agent", "customer"] * 3
    assert max(u.end - u.start for u in utterances) < 6.0


def test_mono_downmix_of_the_call_is_two_speakers_with_overlap_and_right_roles(
    diarizer, transcriber, data_dir, bleed_reference
):
    audio = load_audio(data_dir / f"{BLEED_CALL}.wav", AudioOptions(channel_layout="mono"))
    assert audio.info.layout == "mono"
    turns = diarizer.diarize(audio)
    assert len({t.speaker for t in turns}) == 2
    # The customer barges in twice (0.35 s and 0.25 s early): both speakers hold a turn there.
    overlaps = [
        (a, b) for a in bleed_reference for b in bleed_reference
        if a["role"] == "agent" and b["role"] == "customer" and b["start"] < a["end"] and a["start"] < b["end"]
    ]
    assert len(overlaps) == 2
    found = 0
    for agent_turn, customer_turn in overlaps:
        lo, hi = customer_turn["start"] - 0.3, agent_turn["end"] + 0.3
        speakers = {t.speaker for t in turns if t.start < hi and lo < t.end}
        found += len(speakers) == 2
    assert found >= 1
    utterances, roles = attribute_speakers(transcriber.transcribe(audio), turns, audio.info, RoleOptions())
    role_of = {r.speaker: r.role for r in roles}
    right = total = 0.0
    for utterance in utterances:
        for word in utterance.words:
            middle = (word.start + word.end) / 2
            truth = min(bleed_reference, key=lambda r: max(r["start"] - middle, middle - r["end"], 0.0))["role"]
            total += word.end - word.start
            right += (word.end - word.start) * (role_of.get(utterance.speaker) == truth)
    assert right / total >= 0.95


def test_turns_of_the_mono_call_end_where_the_voice_does(diarizer, data_dir, bleed_reference):
    # The reference turns are the utterances' extents plus 30 ms. Where no one else talks, a turn
    # of ours starts and ends within 0.12 s of them (DER's collar is 0.125 s each side): VAD
    # padding must not run on into the pause.
    audio = load_audio(data_dir / f"{BLEED_CALL}.wav", AudioOptions(channel_layout="mono"))
    turns = diarizer.diarize(audio)
    edges = [t.start for t in turns] + [t.end for t in turns]
    checked = 0
    for ref in bleed_reference:
        others = [r for r in bleed_reference if r is not ref]
        for edge in (ref["start"], ref["end"]):
            if any(r["start"] - 0.3 < edge < r["end"] + 0.3 for r in others):
                continue  # an overlap or a quick hand-over: the edge belongs to both turns
            checked += 1
            assert min(abs(edge - e) for e in edges) < 0.12, (edge, sorted(edges))
    assert checked >= 6


@pytest.mark.parametrize(
    ("name", "expected"),
    [("dev00", {2}), ("dev01", {2}), ("falcon_3spk", {3}), ("paa_diar_4spk", {4}), ("paa_diar_6spk", {6})],
)
def test_speaker_count_of_real_recordings(diarizer, data_dir, name, expected):
    audio = load_audio(data_dir / f"{name}.wav", AudioOptions(min_speech_ratio=0.0, channel_layout="mono"))
    assert len({t.speaker for t in diarizer.diarize(audio)}) in expected


def test_a_single_voice_stays_one_speaker(diarizer, data_dir, tmp_path):
    # The English half of multilingual.mp3: one reader for 29 s, a voicemail-like monologue (the
    # German half may be another reader: the diarizer tells the halves apart, and no reference says).
    import subprocess

    english = tmp_path / "english.wav"
    subprocess.run(["sox", str(data_dir / "multilingual.mp3"), str(english), "trim", "0", "29"], check=True)
    audio = load_audio(english, AudioOptions(channel_layout="mono"))
    assert len({t.speaker for t in diarizer.diarize(audio)}) == 1


def test_long_monologue_becomes_utterances_of_at_most_the_cap(transcriber, data_dir, session_settings):
    from callytics_ray.alignment import align_words
    from callytics_ray.types import SpeakerTurn

    audio = load_audio(data_dir / "multilingual.mp3", AudioOptions(channel_layout="mono"))
    transcript = transcriber.transcribe(audio)
    options = UtteranceOptions(max_duration_s=12.0)
    utterances = align_words(transcript, [SpeakerTurn(0.0, audio.duration_s, "SPEAKER_00")], options)
    assert len(utterances) >= 5
    assert all(u.end - u.start <= 12.0 for u in utterances)
    assert [u.start for u in utterances] == sorted(u.start for u in utterances)
    assert np.isclose(sum(len(u.words) for u in utterances), len(transcript.words))
