"""Custom vocabulary on a real recording: Whisper base gets two names in
synthetic_stereo_call_bleed.wav (CMU ARCTIC prompts, read by real speakers) wrong without it and
right with it, the call's word error rate does not get worse, and calls with different
vocabularies never share a prompt when they are decoded together."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

import jiwer
import pytest

from callytics_ray.asr import transcriber as transcriber_module
from callytics_ray.audio import load_audio
from callytics_ray.settings import AsrOptions
from callytics_ray.types import ProcessedAudio
from tests.asr.test_transcriber import clip

pytestmark = pytest.mark.models

NAMES = ("Whittemore", "Philip Steels")


def _plain(text: str) -> str:
    # The ARCTIC prompts write "twentieth" and "'em" where Whisper writes "20th" and "them".
    text = text.lower().replace("'em", "them").replace("twentieth", "20th")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


@pytest.fixture(scope="module")
def bleed_call(data_dir):
    turns = json.loads((data_dir / "synthetic_stereo_call_bleed.json").read_text())["turns"]
    references = {c: " ".join(t["text"] for t in turns if t["channel"] == c) for c in (0, 1)}
    return load_audio(data_dir / "synthetic_stereo_call_bleed.wav"), references


def call_wer(transcript, references: dict[int, str]) -> float:
    """Word errors over both channels (each channel against its party's lines) per reference word."""
    errors = words = 0
    for channel, reference in references.items():
        said = " ".join(s.text for s in transcript.segments if s.channel == channel)
        out = jiwer.process_words(_plain(reference), _plain(said))
        errors += out.substitutions + out.deletions + out.insertions
        words += len(_plain(reference).split())
    return errors / words


def test_names_whisper_gets_wrong_come_out_right_with_the_vocabulary(local_stages, bleed_call):
    audio, references = bleed_call
    without = asyncio.run(local_stages.transcribe(audio, "en"))
    with_names = asyncio.run(local_stages.transcribe(audio, "en", None, NAMES))

    # Without: "apologize to Whitmore", "Philip steals".
    assert "Whittemore" not in without.text and "Steels" not in without.text, without.text
    assert "Whittemore" in with_names.text and "Philip Steels" in with_names.text, with_names.text
    assert (without.vocabulary, with_names.vocabulary) == ((), NAMES)
    # 4 word errors in 52 without (0.077), 1 with (0.019, "Phil" heard as "Philip"): not worse.
    assert call_wer(with_names, references) <= call_wer(without, references)


def test_calls_with_other_vocabularies_are_decoded_apart_in_a_cross_call_batch(transcriber, bleed_call, monkeypatch):
    audio, _ = bleed_call
    # The agent's channel alone: "Not at this particular case, Tom, apologized Whittemore."
    agent = clip(ProcessedAudio(info=dataclasses.replace(audio.info, channels=1, layout="mono"),
                                channels=(audio.channels[0],), sample_rate_hz=audio.sample_rate_hz), 7.5, 11.3)
    shared: list[tuple[int, tuple[str, ...]]] = []
    decode_together = transcriber_module.decode_together

    def recorded(pipeline, recordings, rate, language, options):
        shared.append((len(recordings), options.vocabulary))
        return decode_together(pipeline, recordings, rate, language, options)

    monkeypatch.setattr(transcriber_module, "decode_together", recorded)
    many = NAMES + tuple(f"Zentrafy Model {n}" for n in range(100))  # more than Whisper's prompt holds
    told, untold, long = (AsrOptions(language="en", vocabulary=v) for v in (NAMES, (), many))
    results = transcriber.transcribe_batch([(agent, told), (agent, untold), (agent, told), (agent, long)])

    fitted = results[3].vocabulary
    assert 2 < len(fitted) < len(many) and fitted == many[:len(fitted)]
    assert sorted(shared, key=str) == sorted([(2, NAMES), (1, ()), (1, fitted)], key=str)
    assert ["Whittemore" in r.text for r in results] == [True, False, True, True], [r.text for r in results]
    assert [r.vocabulary for r in results[:3]] == [NAMES, (), NAMES]
