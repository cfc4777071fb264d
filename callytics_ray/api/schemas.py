"""Response models of the gateway (request options are `stored.SubmittedOptions`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from callytics_ray.api.stored import SubmittedOptions
from callytics_ray.api.upload import FILE_FIELD, IDEMPOTENCY_FIELD
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import CallPage, CallRecord, SearchHit, StageState
from callytics_ray.storage.models import RecordingInfo

TranscriptFormat = Literal["json", "txt", "srt", "vtt", "rttm"]


class CallView(CallRecord):
    """A call's state per stage, its recordings (is there a redacted copy, was the original deleted
    by retention) and, once there is one, its analysis."""

    stages: list[StageState] = []
    recording: RecordingInfo | None = None
    result: CallAnalysis | None = None


class CallList(CallPage):
    """A page of calls; with `q`, only calls whose transcript matches, and the matching utterances."""

    query: str | None = None
    hits: list[SearchHit] = []


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


def upload_openapi() -> dict[str, Any]:
    """The multipart request body of POST /v1/calls for the OpenAPI document.

    The route parses the body itself (to enforce the size limit while streaming and to check the
    key before reading it), so FastAPI cannot infer the schema from parameters.
    """
    schema = SubmittedOptions.model_json_schema()
    properties: dict[str, Any] = {
        FILE_FIELD: {"type": "string", "format": "binary", "description": "the recording (wav, mp3, flac, ...)"},
        **schema.get("properties", {}),
        IDEMPOTENCY_FIELD: {
            "type": "string", "maxLength": 128,
            "description": "resubmitting with the same key returns the same call (or 409 if the content differs); "
                           "the Idempotency-Key header works too",
        },
    }
    # A form field is a string: roles travel as JSON text, the vocabulary as a JSON list or
    # comma-separated (or as the field repeated, one term each).
    properties["roles"] = {"type": "string", "title": "Roles",
                           "description": 'speaker -> role as a JSON object, e.g. {"SPEAKER_01": "agent"}'}
    properties["vocabulary"] = {"type": "string", "title": "Vocabulary",
                                "description": properties["vocabulary"].get("description", "")}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": [FILE_FIELD], "properties": properties}
                }
            },
        }
    }
