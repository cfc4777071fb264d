"""One instance of every CallyticsError in `callytics_ray.errors`, for round-trip tests."""

from __future__ import annotations

from callytics_ray import errors


def one_of_each() -> list[errors.CallyticsError]:
    """Every exception class of the core, built with non-default attributes.

    Raises:
        AssertionError: a class of `callytics_ray.errors` has no example here (add one).
    """
    examples = [
        errors.CallyticsError("something broke"),
        errors.ConfigError("beam_size must be at least 1"),
        errors.ModelNotFoundError("large-v9", "whisper", "use one of: base, small"),
        errors.ModelNotAvailableOfflineError("org/model", "sentiment", "run `callytics models prefetch`"),
        errors.AudioError("cannot analyse this recording"),
        errors.NotAudioError("notes.wav is not a readable audio file"),
        errors.CorruptAudioError("the stream ends in the middle of a frame"),
        errors.EmptyAudioError("the audio has no samples"),
        errors.SilentAudioError("call.wav is silent"),
        errors.AudioTooLongError("the call is longer than 4 h"),
        errors.TooManyChannelsError("6 channels; at most 2"),
        errors.OvercompressedAudioError("3.9 h of audio in 24 KB"),
        errors.StageError("diarization", "the backend crashed", retriable=False),
        errors.LLMError("the endpoint kept returning broken JSON", retriable=False),
        errors.NotFoundError("call 42 does not exist"),
        errors.LeaseLostError("call-7", "gateway-a:123"),
    ]
    defined = {
        cls for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.CallyticsError) and cls.__module__ == errors.__name__
    }
    missing = defined - {type(e) for e in examples}
    assert not missing, f"no example of {sorted(c.__name__ for c in missing)}"
    return examples


def same_error(a: BaseException, b: BaseException) -> bool:
    """Same class, message and attributes (what the caller of a stage can see)."""
    same_reason = getattr(a, "reason", None) == getattr(b, "reason", None)
    return type(a) is type(b) and str(a) == str(b) and vars(a) == vars(b) and same_reason
