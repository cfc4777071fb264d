"""One mapping from ASR options to faster-whisper's decoding arguments (no models)."""

from __future__ import annotations

import inspect

from faster_whisper import BatchedInferencePipeline, WhisperModel

from callytics_ray.asr.decoding import decode_arguments
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
