"""The order of stages for one call, shared by the CLI (in-process) and the Serve gateway (handles).

`run_call` awaits a `StageBackend`: `LocalStages` runs the core objects in threads, the Serve
gateway's `ServeStages` calls deployment handles. Diarization and recognition run side by side on
the processed audio; the pure steps (speaker attribution, redaction, sentiment summary, quality)
run here. Every remote stage is retried with backoff; a failed stage is recorded and the call is
stored with what did succeed, in a retriable state (`partial` or `failed`), never lost. Last, once
the PII spans are known, the audio stage makes the redacted copy of the recording.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from callytics_ray.errors import AudioError, CallyticsError, ConfigError, ModelNotFoundError, StageError
from callytics_ray.judgement import ItemJudge
from callytics_ray.pipeline import assemble, redacted_audio
from callytics_ray.pipeline.assessment import assess_finished_call
from callytics_ray.pipeline.backend import StageBackend
from callytics_ray.pipeline.stage_names import REQUIRED_STAGES
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.quality import QualityAnalyzer
from callytics_ray.text.redaction import redact_utterances
from callytics_ray.result import CallAnalysis
from callytics_ray.roles import attribute_speakers, revise_roles
from callytics_ray.sentiment import summarize_sentiment
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.types import AudioInfo, SpeakerRole, SpeakerTurn, Utterance
from callytics_ray.utterances import plain_utterances

logger = logging.getLogger(__name__)

T = TypeVar("T")


ProgressHook = Callable[[str, str, float], None]
"""Called as hook(stage, event, seconds) with event "start", "done" or "failed"."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def delay_s(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))


_ONCE = RetryPolicy(attempts=1)


@dataclass
class _Run:
    """Per-call bookkeeping while the stages run (local to one run_call)."""

    request: CallRequest
    store: CallStore | None
    hook: ProgressHook | None
    retry: RetryPolicy
    lease_holder: str | None = None
    judge: ItemJudge | None = None
    timings: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    async def stage(self, name: str, work: Callable[[], Awaitable[T]], *, retry: RetryPolicy | None = None) -> T | None:
        """Run one stage with retries; None (and a recorded error) when it keeps failing."""
        retry = retry or self.retry
        started = time.perf_counter()
        self._emit(name, "start", 0.0)
        last: Exception | None = None
        for attempt in range(1, retry.attempts + 1):
            await self._record(name, "running")  # one per attempt: the job's `attempts` counts retries
            try:
                result = await work()
            except (AudioError, ConfigError, ModelNotFoundError) as err:  # input or setup: retrying cannot help
                last = err
                break
            except StageError as err:
                last = err
                if not err.retriable:
                    break
            except Exception as err:  # a crashed replica or library bug must not lose the call
                last = err
            else:
                seconds = time.perf_counter() - started
                self.timings[name] = round(seconds, 3)
                self._emit(name, "done", seconds)
                await self._record(name, "done", seconds=seconds)
                return result
            if attempt < retry.attempts:
                logger.warning("call %s: %s attempt %d failed: %s", self.request.call_id, name, attempt, last)
                await asyncio.sleep(retry.delay_s(attempt))
        self.fail(name, last, time.perf_counter() - started)
        await self._record(name, "failed", error=self.errors[name], seconds=time.perf_counter() - started)
        if isinstance(last, AudioError):
            raise last
        return None

    async def local(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """A pure step of the core, run in a thread; deterministic, so it is not retried."""
        return await self.stage(name, lambda: asyncio.to_thread(fn, *args, **kwargs), retry=_ONCE)

    async def skip(self, name: str, reason: str) -> None:
        await self._record(name, "skipped", error=reason)

    def fail(self, name: str, err: Exception | str | None, seconds: float) -> None:
        if isinstance(err, str):
            message = err
        else:
            message = str(err) if isinstance(err, CallyticsError) else f"{type(err).__name__}: {err}"
        if isinstance(err, AudioError):  # the machine-readable reason first, as a 422 would carry it
            message = f"{err.reason}: {message}"
        self.errors[name] = message
        self._emit(name, "failed", seconds)

    def _emit(self, name: str, event: str, seconds: float) -> None:
        if self.hook is not None:
            self.hook(name, event, seconds)

    async def _record(self, name: str, status: str, *, error: str | None = None, seconds: float | None = None) -> None:
        if self.store is not None:
            await asyncio.to_thread(
                self.store.set_stage, self.request.call_id, name, status, error=error, seconds=seconds
            )


async def run_call(
    request: CallRequest,
    backend: StageBackend,
    *,
    settings: Settings,
    store: CallStore | None = None,
    hook: ProgressHook | None = None,
    retry: RetryPolicy = RetryPolicy(),
    lease_holder: str | None = None,
    judge: ItemJudge | None = None,
) -> CallAnalysis:
    """Analyse one call through `backend` and (when `store` is given) store the result.

    `lease_holder`: the worker running the call under a lease; its result is stored only while it
    still holds the lease (`CallStore.save_analysis`), so a call is never finished twice.
    `judge`: answers the llm items of the tenant's rubrics when the finished call is scored
    (`pipeline.assessment.item_judge`); None leaves them not assessed.

    Raises:
        AudioError: the recording cannot be analysed (the call is stored as failed first).
        LeaseLostError: another worker took the call over before this run stored its result.
    """
    run = _Run(request, store, hook, retry, lease_holder, judge)
    analysis = CallAnalysis(
        call_id=request.call_id, source=request.name, variant=request.variant,
        vocabulary=assemble.vocabulary_result(request.vocabulary, request.tenant_vocabulary_version),
    )
    if store is not None:
        await asyncio.to_thread(store.set_status, request.call_id, CallStatus.PROCESSING)
    try:
        processed = await run.stage("audio", lambda: backend.process_audio(request))
    except AudioError:
        await _finish(run, analysis)
        raise
    if processed is None:
        return await _finish(run, analysis)
    info, audio = processed
    analysis.audio = assemble.audio_result(info)

    transcript, turns = await asyncio.gather(
        # The variant was picked once, at submission, and stored with the call: a resumed or retried
        # call keeps its arm.
        run.stage("asr", lambda: backend.transcribe(audio, request.language, request.variant, request.vocabulary)),
        run.stage("diarization", lambda: backend.diarize(audio, request.min_speakers, request.max_speakers)),
    )
    if transcript is None:
        return await _finish(run, analysis)
    analysis.language = transcript.language
    analysis.language_probability = round(transcript.language_probability, 4)
    analysis.segments = assemble.segments_from_transcript(transcript)
    analysis.models["asr"] = transcript.model
    if analysis.vocabulary is not None:
        analysis.vocabulary.recognized_with = list(transcript.vocabulary)

    attributed = None
    if turns is not None:
        attributed = await run.local(
            "speakers", attribute_speakers, transcript, turns, info, settings.roles, request.roles, request.agent_channel,
            settings.utterances,
        )
    else:
        await run.skip("speakers", "diarization failed")
    if attributed is not None:
        utterances, roles = attributed
        analysis.speakers = assemble.speaker_results(roles)
    else:  # without speakers the words still deserve punctuation, sentiment and a summary
        utterances, roles = plain_utterances(transcript, settings.utterances), ()
    models = await _stage_models(backend)
    analysis.models.update(models)
    if utterances:
        await _conversation(
            run, analysis, backend, settings, utterances, roles, info, transcript.language,
            sentiment_method=models.get("sentiment", "unknown"), turns=turns if attributed is not None else None,
        )
    await _redact_audio(run, analysis, backend)
    return await _finish(run, analysis)


async def _conversation(
    run: _Run,
    analysis: CallAnalysis,
    backend: StageBackend,
    settings: Settings,
    utterances: tuple[Utterance, ...],
    roles: tuple[SpeakerRole, ...],
    info: AudioInfo,
    language: str | None,
    *,
    sentiment_method: str,
    turns: Sequence[SpeakerTurn] | None = None,
) -> None:
    """What was said and how it went: punctuation, redaction, sentiment, quality, LLM analysis.

    `turns` (the diarization, when it succeeded) gives quality its overtalk: a mono transcript is
    one stream of words, so only the turns know where two people talked at once.
    """
    measure = functools.partial(
        QualityAnalyzer().measure, duration_s=info.duration_s, options=settings.quality, turns=turns,
        loudness=info.loudness,
    )
    punctuated = await run.stage("punctuation", lambda: backend.punctuate(utterances, language)) or utterances
    redacted = await run.local("redaction", redact_utterances, punctuated, settings.redaction)
    if redacted is None:
        # PII could not be masked: nothing may leave the process or be stored as text beyond
        # what the transcript already holds, so stop here and keep the call retriable.
        return
    masked = tuple(r.utterance for r in redacted)
    sentiments = await run.stage("sentiment", lambda: backend.classify_sentiment([u.text for u in masked]))
    quality = await run.local("quality", measure, punctuated, roles)
    outcome = await run.stage(
        "llm", lambda: backend.analyze_conversation(masked, roles, sentiments, quality)
    )
    if outcome is not None:
        analysis.models["llm"] = f"{outcome.result.analyzer}:{outcome.result.model}"
    if outcome is not None and outcome.llm_error:
        run.fail("llm", outcome.llm_error, 0.0)  # the offline analyzer stood in: usable, but retriable
    if outcome is not None and outcome.role_judgement is not None:
        # The LLM's judgement of who is the agent joins the offline roles here, in the one request
        # that sends the transcript anyway. Quality already measured talk shares by the offline
        # roles: if agent and customer swap, measure it again (pure and cheap); the per-party
        # sentiment and the segments below are built from `roles`, so they follow.
        revised = revise_roles(roles, outcome.role_judgement, info, settings.roles, run.request.roles)
        swapped = {r.speaker: r.role for r in revised} != {r.speaker: r.role for r in roles}
        roles, outcome = revised, outcome.with_roles(revised)
        analysis.speakers = assemble.speaker_results(roles) if analysis.speakers is not None else None
        if swapped and quality is not None:
            quality = await asyncio.to_thread(measure, punctuated, roles)
    assemble.ConversationResult(
        utterances=masked if settings.redaction.before_storage else punctuated,
        redacted=redacted,
        stored_redacted=settings.redaction.before_storage,
        sentiments=sentiments,
        sentiment=(
            summarize_sentiment(
                masked, sentiments, roles, method=sentiment_method, options=settings.sentiment.options
            )
            if sentiments is not None
            else None
        ),
        quality=quality,
        analysis=outcome.result if outcome is not None else None,
        roles=roles,
    ).apply_to(analysis)


async def _redact_audio(run: _Run, analysis: CallAnalysis, backend: StageBackend) -> None:
    """Make and store the redacted copy of the recording once the PII spans are known.

    Without PII the original is the copy (stored once). When the spans are unknown (redaction
    failed) or the copy cannot be made, the copy is stored as unavailable with the reason, and a
    failed stage leaves the call partial (retriable), never failed or lost.
    """
    store, stage = run.store, redacted_audio.STAGE
    if store is None:  # nowhere to keep a copy
        return
    call_id = run.request.call_id

    async def save(redaction, data: bytes | None = None) -> bool:
        await asyncio.to_thread(store.save_audio_redaction, call_id, redaction, data)
        return True

    if "redaction" in run.errors:
        reason = redacted_audio.spans_unknown(run.errors["redaction"])
        await run.skip(stage, reason)
        await _save_unavailable(save, call_id, reason)
        return

    async def make() -> bool:
        return await save(*await redacted_audio.make_copy(analysis, run.request, backend))

    if await run.stage(stage, make) is None:
        await _save_unavailable(save, call_id, redacted_audio.not_made(run.errors[stage]))


async def _save_unavailable(save: Callable[..., Awaitable[bool]], call_id: str, reason: str) -> None:
    try:
        await save(redacted_audio.unavailable(reason))
    except Exception:  # the call's own save goes on; the audio route then says the copy is not there
        logger.exception("call %s: could not record that its redacted recording is unavailable", call_id)


async def _stage_models(backend: StageBackend) -> dict[str, str]:
    try:
        return await backend.stage_models()
    except Exception as err:  # descriptive only: never fail a call over it
        logger.warning("could not read stage models: %s", err)
        return {}


def finished_status(errors: dict[str, str]) -> tuple[str, str | None]:
    """A finished run's call status and error from its failed stages (stage -> message): failed
    when a required stage failed, partial when another did, else completed."""
    failed_required = REQUIRED_STAGES & errors.keys()
    status = CallStatus.FAILED if failed_required else (CallStatus.PARTIAL if errors else CallStatus.COMPLETED)
    return status, "; ".join(f"{stage}: {message}" for stage, message in errors.items()) or None


async def _finish(run: _Run, analysis: CallAnalysis) -> CallAnalysis:
    status, error = finished_status(run.errors)
    analysis.timings = dict(run.timings)
    analysis.errors = dict(run.errors) or None
    if run.store is not None:
        if status != CallStatus.FAILED:
            # Scored just before the call is stored as finished, so whoever sees it finished finds
            # its scorecard. Scoring never raises: its failure is recorded and the save goes on.
            await asyncio.to_thread(assess_finished_call, run.store, analysis, tenant=run.request.tenant,
                                    judge=run.judge)
        await asyncio.to_thread(
            run.store.save_analysis, analysis, tenant=run.request.tenant, status=status, error=error,
            lease_holder=run.lease_holder,
        )
    return analysis
