"""One mapping from ASR options to faster-whisper's decoding arguments, the vocabulary included (no models)."""

from __future__ import annotations

import inspect

from faster_whisper import BatchedInferencePipeline, WhisperModel

from callytics_ray.asr import request_options
from callytics_ray.asr.decoding import VOCABULARY_ARGUMENT, decode_arguments, echoes_vocabulary, fit_vocabulary
from callytics_ray.settings import AsrOptions


def test_every_decoding_argument_is_accepted_by_both_faster_whisper_paths():
    arguments = decode_arguments(AsrOptions(), "en")
    for transcribe in (WhisperModel.transcribe, BatchedInferencePipeline.transcribe):
        assert set(arguments) <= set(inspect.signature(transcribe).parameters), transcribe


def test_the_thresholds_reach_the_decoder():
    options = AsrOptions(log_prob_threshold=-0.7, no_speech_threshold=0.4, compression_ratio_threshold=2.0,
                         hallucination_silence_threshold_s=None, beam_size=2)
    arguments = decode_arguments(options, "ko")
    assert arguments["language"] == "ko" and arguments["beam_size"] == 2
    assert (arguments["log_prob_threshold"], arguments["no_speech_threshold"],
            arguments["compression_ratio_threshold"]) == (-0.7, 0.4, 2.0)
    assert arguments["hallucination_silence_threshold"] is None


def test_a_vocabulary_reaches_whisper_as_hotwords_on_every_path():
    arguments = decode_arguments(AsrOptions(vocabulary=("Whittemore", "Philip Steels")), "en")
    assert arguments[VOCABULARY_ARGUMENT] == "Whittemore, Philip Steels"
    assert VOCABULARY_ARGUMENT == "hotwords" and "initial_prompt" not in arguments
    # faster-whisper drops hotwords when a prefix is given: no path may pass one.
    assert "prefix" not in arguments
    assert decode_arguments(AsrOptions(), "en")[VOCABULARY_ARGUMENT] is None


def test_calls_with_other_vocabularies_get_other_decoding_arguments():
    # Transcriber.transcribe_batch decodes calls together only when these arguments are equal.
    with_terms = decode_arguments(AsrOptions(vocabulary=("Zentrafy",)), "en")
    assert with_terms != decode_arguments(AsrOptions(), "en")
    assert with_terms != decode_arguments(AsrOptions(vocabulary=("Callytics Pro",)), "en")
    assert with_terms == decode_arguments(AsrOptions(vocabulary=("Zentrafy",)), "en")


def test_the_leading_terms_that_fit_the_prompt_are_kept():
    def words(text: str) -> int:
        return len(text.split())

    terms = ("Callytics Pro", "Zentrafy", "Whittemore", "Philip Steels")
    assert fit_vocabulary(terms, words, max_tokens=4) == ("Callytics Pro", "Zentrafy", "Whittemore")
    assert fit_vocabulary(terms, words, max_tokens=3) == ("Callytics Pro", "Zentrafy")
    assert fit_vocabulary(terms, words, max_tokens=1) == ()
    assert fit_vocabulary(terms, words) == terms


def test_a_segment_that_only_repeats_the_prompt_is_an_echo():
    terms = ["Zentrafy", "Whittemore", "Philip Steels"]
    assert echoes_vocabulary("Wittemore, Philip Steels.", terms)
    assert echoes_vocabulary("Zentrafy, Whittemore, Philip Steels", terms)
    # What people say: one term in a sentence, or a term alone.
    assert not echoes_vocabulary("Not at this particular case, Tom, apologized Whittemore.", terms)
    assert not echoes_vocabulary("Philip Steels.", terms)
    assert not echoes_vocabulary("Whittemore, Philip Steels", ["Whittemore"])


def test_a_calls_terms_come_before_the_configured_ones_and_leave_the_rest_alone():
    configured = AsrOptions(vocabulary=("Callytics Pro",), beam_size=3)
    options = request_options(configured, None, ["Zentrafy", "callytics pro"])
    assert options.vocabulary == ("Zentrafy", "callytics pro")
    assert (options.language, options.beam_size) == (None, 3)
    assert request_options(configured, "ko", ()).vocabulary == ("Callytics Pro",)
    assert request_options(configured, None, ()) is configured
