"""The one mapping from our ASR options to faster-whisper's decoding arguments.

Both decode paths (one call through `WhisperModel` or `BatchedInferencePipeline`, several calls
decoded together in `cross_call`) take their arguments from here, so a threshold set in the
options reaches every path (faster-whisper's own two transcribe methods drifted apart; we don't).
"""

from __future__ import annotations

from typing import Any

from callytics_ray.settings import AsrOptions


def decode_arguments(options: AsrOptions, language: str | None) -> dict[str, Any]:
    """Keyword arguments of faster-whisper's `transcribe` that decide how speech is decoded.

    What decides *which audio* is decoded (the VAD filter, clip timestamps, the batch size) is
    left to the caller, since it differs between the paths. `BatchedInferencePipeline` accepts
    `condition_on_previous_text` and `hallucination_silence_threshold` but decodes its chunks
    independently and ignores them (faster-whisper 1.2.1); they are passed so that nothing here
    depends on which path a call takes.
    """
    return {
        "language": language,
        "beam_size": options.beam_size,
        "word_timestamps": options.word_timestamps,
        "condition_on_previous_text": options.condition_on_previous_text,
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "log_prob_threshold": options.log_prob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
        "hallucination_silence_threshold": options.hallucination_silence_threshold_s,
    }
