"""The one failure type of the core: what a batch catches, and that failures pickle intact."""

from __future__ import annotations

import pickle

import pytest

from callytics_ray.errors import ConfigError, SilentAudioError, StageError
from callytics_ray.failures import StageFailure, attempt, unwrap
from tests.core_errors import one_of_each, same_error


@pytest.mark.parametrize("error", one_of_each(), ids=lambda e: type(e).__name__)
def test_every_core_error_crosses_pickling_inside_a_failure_and_is_raised_again(error):
    failure = pickle.loads(pickle.dumps(StageFailure.capture("asr", error)))
    assert same_error(failure.error, error)
    with pytest.raises(type(error)) as raised:
        unwrap(failure)
    assert same_error(raised.value, error)


def _raising(error: BaseException):
    def fn():
        raise error

    return fn


def test_a_core_error_is_kept_as_it_is():
    error = ConfigError("language 'xx' is unknown")
    assert StageFailure.capture("asr", error).error is error
    assert attempt("asr", _raising(error)).error is error


def test_an_unexpected_exception_becomes_a_retriable_stage_error_of_the_stage():
    failure = attempt("diarization", _raising(RuntimeError("CUDA out of memory")))
    assert isinstance(failure.error, StageError) and failure.error.retriable
    assert failure.error.stage == "diarization"
    assert str(failure.error) == "diarization failed: RuntimeError: CUDA out of memory"
    assert isinstance(failure.error.__cause__, RuntimeError)


def test_cancellation_is_never_caught():
    with pytest.raises(KeyboardInterrupt):
        attempt("asr", _raising(KeyboardInterrupt()))


def test_a_result_passes_through_and_the_metric_label_is_stable():
    assert attempt("asr", lambda: 42) == 42 and unwrap(42) == 42
    assert StageFailure(SilentAudioError("silent")).reason == "silent_audio"
    assert StageFailure(StageError("asr", "died")).reason == "StageError"
