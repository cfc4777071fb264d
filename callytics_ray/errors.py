"""The one exception hierarchy of the core: every failure a caller can act on is one of these."""

from __future__ import annotations


class CallyticsError(Exception):
    """Base class. `str(err)` is one line that says what went wrong and what to do."""

    def __reduce__(self):
        # Subclasses take keyword-only or extra constructor arguments, which Exception's default
        # pickling drops; errors must cross Ray process boundaries intact.
        return _rebuild, (type(self), str(self), dict(self.__dict__))


def _rebuild(cls: type[CallyticsError], message: str, state: dict) -> CallyticsError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigError(CallyticsError):
    """A setting or option has a value that cannot work."""


class ModelNotFoundError(CallyticsError):
    """A model reference could not be resolved to a local directory.

    Attributes:
        ref: the reference as given.
        kind: what the model is for ("whisper", "embedding", ...).
    """

    def __init__(self, ref: str, kind: str, hint: str) -> None:
        self.ref = ref
        self.kind = kind
        super().__init__(f"{kind} model {ref!r} is not available: {hint}")


class ModelNotAvailableOfflineError(ModelNotFoundError):
    """A hub model is not in the local cache and downloads are off."""


class AudioError(CallyticsError):
    """Input audio that cannot be analysed. `reason` is a stable machine-readable code."""

    reason = "invalid_audio"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NotAudioError(AudioError):
    reason = "not_audio"


class CorruptAudioError(AudioError):
    reason = "corrupt_audio"


class EmptyAudioError(AudioError):
    reason = "empty_audio"


class SilentAudioError(AudioError):
    reason = "silent_audio"


class AudioTooLongError(AudioError):
    reason = "audio_too_long"


class TooManyChannelsError(AudioError):
    reason = "too_many_channels"


class OvercompressedAudioError(AudioError):
    """Far more audio than the file's size can hold of recorded speech: a decompression bomb."""

    reason = "overcompressed_audio"


class StageError(CallyticsError):
    """A pipeline stage failed on a call. Retriable unless `retriable` is False."""

    def __init__(self, stage: str, message: str, *, retriable: bool = True) -> None:
        self.stage = stage
        self.retriable = retriable
        super().__init__(f"{stage} failed: {message}")


class LLMError(StageError):
    """The LLM endpoint failed or kept returning output that breaks the schema."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__("llm", message, retriable=retriable)


class LeaseLostError(CallyticsError):
    """A worker tried to store a call's result after another worker took the call over (its lease
    lapsed). Nothing was written: the worker holding the lease stores the result."""

    def __init__(self, call_id: str, worker_id: str) -> None:
        self.call_id = call_id
        self.worker_id = worker_id
        super().__init__(f"call {call_id}: {worker_id} no longer holds the lease; its result is discarded")


class NotFoundError(CallyticsError):
    """A stored object (call, key) does not exist or is not visible to the caller."""
