"""The /v1/calls routes: submit, read, list and search, transcript exports, delete, retry."""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from callytics_ray.api.deps import get_runner, get_settings, get_store, get_variant_picker, require
from callytics_ray.api.errors import ConflictError, ErrorBody
from callytics_ray.api.ranges import parse_range
from callytics_ray.api.recordings import AUDIO_HEADER, call_audio
from callytics_ray.api.runner import FINISHED, CallRunner
from callytics_ray.api.schemas import CallList, CallView, TranscriptFormat, upload_openapi
from callytics_ray.api.stored import StoredRequest, fingerprint, load_call_request, parse_stored_request
from callytics_ray.api.upload import probe_audio, read_upload
from callytics_ray.api.variants import VariantPicker
from callytics_ray.errors import NotFoundError
from callytics_ray.headline import CallFlag
from callytics_ray.export import MEDIA_TYPES, render
from callytics_ray.pipeline import STAGES
from callytics_ray.result import SentimentLabel
from callytics_ray.settings import Settings
from callytics_ray.storage import CallFilter, CallRecord, CallSort, CallStatus, CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import NEWEST_FIRST
from callytics_ray.vocabulary import merge_terms

router = APIRouter(prefix="/v1/calls", tags=["calls"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}
StatusName = Literal["queued", "processing", "completed", "partial", "failed"]


def _view(store: CallStore, record: CallRecord, *, include_result: bool = True) -> CallView:
    result = None
    if include_result:
        try:
            result = store.get_analysis(record.id, tenant=record.tenant)
        except NotFoundError:
            result = None
    return CallView(**record.model_dump(), stages=store.stage_states(record.id), result=result,
                    recording=store.recording_info(record.id, tenant=record.tenant))


async def _wait_and_view(store: CallStore, runner: CallRunner, call_id: str, wait_s: float | None,
                         response: Response) -> CallView:
    if wait_s:
        await runner.wait(call_id, wait_s)
    record = await asyncio.to_thread(store.get_call, call_id)
    if wait_s and record.status in FINISHED:
        response.status_code = 200
    return await asyncio.to_thread(_view, store, record, include_result=bool(wait_s))


def _wait_seconds(settings: Settings, wait: bool, timeout_s: float | None) -> float | None:
    if not wait:
        return None
    return min(timeout_s or settings.api.wait_timeout_s, settings.api.wait_timeout_s)


@router.post(
    "",
    status_code=202,
    response_model=CallView,
    response_model_exclude_none=True,
    openapi_extra=upload_openapi(),
    responses={200: {"model": CallView, "description": "finished (wait=true) or an idempotent replay"},
               **{c: {"model": ErrorBody} for c in (400, 401, 403, 409, 413, 415, 422, 429)}},
    summary="Submit a recording",
    # The app's small body cap does not apply here: read_upload enforces api.max_upload_mb while
    # the body streams (a settings value, which a route decorator cannot see).
    max_body_size=sys.maxsize,
)
async def submit_call(
    request: Request,
    response: Response,
    wait: bool = Query(False, description="wait for the result (up to timeout_s) instead of answering at once"),
    timeout_s: float | None = Query(None, gt=0, description="how long wait=true waits (capped by the server)"),
    caller: ApiKeyRecord = Depends(require("submit")),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
    runner: CallRunner = Depends(get_runner),
    picker: VariantPicker | None = Depends(get_variant_picker),
) -> CallView:
    """Store the recording and the job durably, then answer 202 with the call id (processing goes
    on in the background). The same idempotency key and content return the first call (200)."""
    upload = await read_upload(request, settings.api)
    await asyncio.to_thread(probe_audio, upload.data, upload.filename, settings.audio)
    tenant_vocabulary = await asyncio.to_thread(store.get_vocabulary, tenant=caller.tenant)
    stored = StoredRequest(
        **upload.options.model_dump(),
        variant=picker.pick() if picker is not None else None,
        call_vocabulary=list(merge_terms(upload.options.vocabulary, tenant_vocabulary.terms)),
        tenant_vocabulary_version=tenant_vocabulary.version,
        content_type=upload.content_type,
        fingerprint=fingerprint(upload.data, upload.options),
    )
    record, created = await asyncio.to_thread(
        store.create_call,
        tenant=caller.tenant,
        source_name=upload.filename,
        audio=upload.data,
        content_type=upload.content_type,
        agent_id=stored.agent_id,
        customer_id=stored.customer_id,
        idempotency_key=upload.idempotency_key,
        variant=stored.variant,
        request_json=stored.model_dump_json(exclude_none=True),
        stages=STAGES,
    )
    response.headers["Location"] = f"/v1/calls/{record.id}"
    if not created:
        first = parse_stored_request(await asyncio.to_thread(store.get_request_json, record.id))
        if first.fingerprint != stored.fingerprint:
            raise ConflictError(
                f"idempotency key {upload.idempotency_key!r} was used for call {record.id} with different "
                "content; use a new key for a new call",
                code="idempotency_conflict",
            )
        response.status_code = 200
    else:
        await runner.start(await asyncio.to_thread(load_call_request, store, record.id))
    return await _wait_and_view(store, runner, record.id, _wait_seconds(settings, wait, timeout_s), response)


@router.get("", response_model=CallList, response_model_exclude_none=True, responses=_ERRORS,
            summary="List and search calls")
def list_calls(
    status: StatusName | None = None,
    language: str | None = None,
    agent_id: str | None = None,
    customer_id: str | None = None,
    sentiment: SentimentLabel | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    min_duration_s: float | None = Query(None, ge=0),
    max_duration_s: float | None = Query(None, ge=0),
    flag: CallFlag | None = Query(None, description="only calls with this headline flag"),
    q: str | None = Query(None, min_length=1, max_length=500, description="full-text search of the transcripts"),
    sort: CallSort | None = Query(
        None, description="order by this column, descending with a leading '-' (calls without the value last); "
                          "default `-created_at` (newest first), or with `q` the best match first"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: ApiKeyRecord = Depends(require("read")),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
) -> CallList:
    """The caller's calls, filtered, newest first (or in `sort` order); with `q`, those whose
    transcript matches, best first unless `sort` is given."""
    filters = CallFilter(
        tenant=caller.tenant, status=status, language=language, agent_id=agent_id, customer_id=customer_id,
        sentiment=sentiment, created_after=created_after, created_before=created_before,
        min_duration_s=min_duration_s, max_duration_s=max_duration_s, flag=flag.value if flag else None,
    )
    if q is None:
        page = store.list_calls(filters, sort=sort or NEWEST_FIRST, limit=limit, offset=offset)
    else:
        page = store.search_calls(q, filters, sort=sort, limit=limit, offset=offset,
                                  max_hits=settings.api.search_max_hits)
    return CallList(**page.model_dump())


@router.get("/{call_id}", response_model=CallView, response_model_exclude_none=True, responses=_ERRORS,
            summary="A call's status per stage and its result")
def get_call(
    call_id: str,
    include_result: bool = Query(True, description="include the full analysis once there is one"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> CallView:
    return _view(store, store.get_call(call_id, tenant=caller.tenant), include_result=include_result)


@router.get(
    "/{call_id}/transcript",
    response_class=Response,
    responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA_TYPES.values()},
                     "description": "the transcript in the requested format"},
               409: {"model": ErrorBody}, **_ERRORS},
    summary="The transcript as JSON, text, SRT, WebVTT or RTTM",
)
def get_transcript(
    call_id: str,
    fmt: TranscriptFormat = Query("json", alias="format"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> Response:
    record = store.get_call(call_id, tenant=caller.tenant)
    try:
        analysis = store.get_analysis(call_id, tenant=caller.tenant)
    except NotFoundError:
        if record.status in FINISHED:
            raise
        raise ConflictError(f"call {call_id} is {record.status}; its transcript is not ready yet",
                            code="not_ready") from None
    return Response(
        render(analysis, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'inline; filename="{call_id}.{fmt}"'},
    )


_AUDIO_HEADERS = {AUDIO_HEADER: {"description": "which recording the body is: `redacted` or `original`",
                                  "schema": {"type": "string", "enum": ["redacted", "original"]}}}


@router.get(
    "/{call_id}/audio",
    response_class=Response,
    responses={200: {"content": {"audio/*": {}}, "headers": _AUDIO_HEADERS,
                     "description": "the whole recording: the redacted copy, or with original=true the upload"},
               206: {"content": {"audio/*": {}}, "headers": _AUDIO_HEADERS,
                     "description": "the requested byte range (`Content-Range`)"},
               403: {"model": ErrorBody, "description": "original=true without the admin scope"},
               409: {"model": ErrorBody, "description": "no redacted copy yet (`not_ready`) or none could be made "
                                                        "(`redacted_audio_unavailable`, with the reason)"},
               410: {"model": ErrorBody, "description": "original=true, but retention deleted the original"},
               416: {"model": ErrorBody, "description": "the range starts past the end"}, **_ERRORS},
    summary="The recording (PII bleeped or silenced unless an admin asks for the original), with HTTP ranges",
)
def get_audio(
    call_id: str,
    original: bool = Query(False, description="the recording as uploaded, PII included (admin scope)"),
    range_header: str | None = Header(None, alias="Range", description="one byte range, e.g. `bytes=0-1023`"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> Response:
    """The redacted copy of the recording: every PII span of the transcript (padded a little)
    bleeped or silenced on every channel, lossless (FLAC, or WAV for 32-bit and float originals);
    for a call without PII the upload itself. `original=true` serves the upload (admin scope; 410
    once the retention setting deleted it). `X-Callytics-Audio` says which one the body is.
    `Accept-Ranges: bytes`: with a `Range` header of one byte range the answer is 206 with that
    slice; several ranges or another unit get the whole body."""
    media = call_audio(store, call_id, caller, original=original)
    data, content_type, filename = media.data, media.content_type, media.filename
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    # no-store: a recording is personal data, and a cached copy would be played to whoever uses
    # the browser next, under another key (the console's cookie changes, the URL does not).
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store", "Vary": "Authorization, Cookie",
               "Content-Disposition": f'inline; filename="{call_id}{_suffix(filename)}"', AUDIO_HEADER: media.kind}
    wanted = parse_range(range_header, len(data))
    if wanted is None:
        return Response(data, media_type=content_type, headers=headers)
    headers["Content-Range"] = wanted.content_range(len(data))
    return Response(data[wanted.start:wanted.end + 1], status_code=206, media_type=content_type, headers=headers)


def _suffix(filename: str | None) -> str:
    suffix = "." + filename.rsplit(".", 1)[1].lower() if filename and "." in filename else ""
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""


@router.delete("/{call_id}", status_code=204, response_class=Response,
               responses={409: {"model": ErrorBody}, **_ERRORS}, summary="Delete a call and its audio")
def delete_call(
    call_id: str,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
) -> Response:
    """Needs the admin scope. A call that is still queued or processing cannot be deleted (409)."""
    record = store.get_call(call_id, tenant=caller.tenant)
    if record.status not in FINISHED:
        raise ConflictError(f"call {call_id} is {record.status}; delete it once it has finished",
                            code="call_in_progress")
    store.delete_call(call_id, tenant=caller.tenant)
    return Response(status_code=204)


@router.post("/{call_id}/retry", status_code=202, response_model=CallView, response_model_exclude_none=True,
             responses={200: {"model": CallView}, 409: {"model": ErrorBody}, **_ERRORS},
             summary="Run a failed or partial call again from its stored audio")
async def retry_call(
    call_id: str,
    response: Response,
    wait: bool = Query(False),
    timeout_s: float | None = Query(None, gt=0),
    caller: ApiKeyRecord = Depends(require("submit")),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
    runner: CallRunner = Depends(get_runner),
) -> CallView:
    """Only calls in the `failed` or `partial` state can be retried (409 otherwise)."""
    record = await asyncio.to_thread(store.get_call, call_id, tenant=caller.tenant)
    if record.status not in (CallStatus.FAILED, CallStatus.PARTIAL):
        raise _not_retriable(record)
    try:
        call_request = await asyncio.to_thread(load_call_request, store, call_id)
    except NotFoundError as err:
        raise ConflictError(f"call {call_id} cannot be retried: {err}", code="no_stored_audio") from err
    if not await asyncio.to_thread(store.requeue_call, call_id, tenant=caller.tenant):
        raise _not_retriable(await asyncio.to_thread(store.get_call, call_id, tenant=caller.tenant))
    await runner.start(call_request)
    response.headers["Location"] = f"/v1/calls/{call_id}"
    return await _wait_and_view(store, runner, call_id, _wait_seconds(settings, wait, timeout_s), response)


def _not_retriable(record: CallRecord) -> ConflictError:
    return ConflictError(f"call {record.id} is {record.status}; only failed or partial calls can be retried",
                         code="not_retriable")
