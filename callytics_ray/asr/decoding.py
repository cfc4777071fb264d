"""The one mapping from our ASR options to faster-whisper's decoding arguments.

Both decode paths (one call through `WhisperModel` or `BatchedInferencePipeline`, several calls
decoded together in `cross_call`) take their arguments from here, so a threshold set in the
options reaches every path (faster-whisper's own two transcribe methods drifted apart; we don't).

A call's custom vocabulary (`AsrOptions.vocabulary`) is given to Whisper as `hotwords`, not as
`initial_prompt`. Both put the same tokens in the decoder's prompt (after `<|startofprev|>`) and
both fixed "Whitmore" -> "Whittemore" and "Philip steals" -> "Philip Steels" on the shared
recording synthetic_stereo_call_bleed.wav with Whisper base (notes in the vocab branch). What
decided it is how faster-whisper 1.2.1 carries them from one 30 s window to the next:

- `WhisperModel.transcribe` (calls under `batched_min_duration_s`): `initial_prompt` enters the
  previous-text history, which `condition_on_previous_text=False` (our default, against loops)
  resets after the first window, so only a call's first 30 s would hear the terms; `hotwords`
  is added to every window's prompt (`get_prompt`).
- `BatchedInferencePipeline.transcribe` (long calls, cross-call batches): both are added to every
  chunk's prompt.

So `hotwords` treats a term said at minute 5 as one said in the first seconds, on every path.
faster-whisper ignores `hotwords` when a `prefix` is given; we never pass one. The price: on a
window with little speech Whisper may echo its prompt ("Whittemore, Philip Steels" after the
last sentence); `echoes_vocabulary` finds such segments and the transcriber drops them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz import fuzz

from callytics_ray.settings import AsrOptions

VOCABULARY_ARGUMENT = "hotwords"
# Whisper's prompt holds at most 223 tokens (half its 448-token context) and every token of it is
# a token less for the transcript of the window; 100 fit about 40 product names.
VOCABULARY_MAX_TOKENS = 100
_SEPARATOR = ", "
# A segment at least this similar (rapidfuzz ratio, 0-100) to a run of the prompt is an echo.
_ECHO_SIMILARITY = 85.0
_NON_WORD = re.compile(r"[^\w\s]+")


def vocabulary_prompt(terms: Sequence[str]) -> str | None:
    """The text Whisper is prompted with for `terms` (None without terms)."""
    return _SEPARATOR.join(terms) or None


def fit_vocabulary(
    terms: Sequence[str], count_tokens: Callable[[str], int], max_tokens: int = VOCABULARY_MAX_TOKENS
) -> tuple[str, ...]:
    """The leading `terms` whose prompt is at most `max_tokens` tokens long (the first terms are
    the request's own, then the tenant's: the most specific ones are kept)."""
    fitted: list[str] = []
    for term in terms:
        if count_tokens(" " + _SEPARATOR.join([*fitted, term])) > max_tokens:
            break
        fitted.append(term)
    return tuple(fitted)


def decode_arguments(options: AsrOptions, language: str | None) -> dict[str, Any]:
    """Keyword arguments of faster-whisper's `transcribe` that decide how speech is decoded.

    What decides *which audio* is decoded (the VAD filter, clip timestamps, the batch size) is
    left to the caller, since it differs between the paths. `BatchedInferencePipeline` accepts
    `condition_on_previous_text` and `hallucination_silence_threshold` but decodes its chunks
    independently and ignores them (faster-whisper 1.2.1); they are passed so that nothing here
    depends on which path a call takes. The vocabulary is part of the arguments, so calls with
    different vocabularies never share a cross-call batch (`Transcriber.transcribe_batch` groups
    calls by these arguments).
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
        VOCABULARY_ARGUMENT: vocabulary_prompt(options.vocabulary),
    }


def echoes_vocabulary(text: str, terms: Sequence[str]) -> bool:
    """Whether a segment's `text` is Whisper repeating its vocabulary prompt rather than speech:
    two or more consecutive terms of the prompt, as listed (a person says one product name, not
    the tenant's list)."""
    said = _plain(text)
    if len(terms) < 2 or not said:
        return False
    plain = [_plain(t) for t in terms]
    for first in range(len(plain) - 1):
        for last in range(first + 1, len(plain)):
            run = " ".join(plain[first:last + 1])
            if len(run) > 2 * len(said):
                break
            if fuzz.ratio(said, run) >= _ECHO_SIMILARITY:
                return True
    return False


def _plain(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())
