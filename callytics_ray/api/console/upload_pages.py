"""The upload page: recordings dropped or picked in the browser go to POST /v1/calls (static/upload.js),
with the options an uploader can set (`SubmittedOptions`), then each call's stages are followed.

The page only lays out the form: the fields, their limits and hints are read off `SubmittedOptions`,
so the form offers exactly what the API accepts and the API stays the one that checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api.console.pages import PREFIX, console_caller, templates
from callytics_ray.api.deps import get_settings, get_store
from callytics_ray.api.stored import SubmittedOptions
from callytics_ray.api.upload import FILE_FIELD
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter(prefix=PREFIX, include_in_schema=False)

SUBMIT_SCOPE = "submit"
# Labels of the options (another field gets its schema title); the advanced ones start folded away.
_LABELS = {
    "agent_id": "Agent", "customer_id": "Customer", "language": "Language", "channel_layout": "Channel layout",
    "agent_channel": "Agent's channel", "min_speakers": "Min speakers", "max_speakers": "Max speakers",
    "vocabulary": "Vocabulary", "roles": "Roles (JSON)", "reference_transcript": "Reference transcript",
}
_ADVANCED = frozenset({"roles", "reference_transcript"})
_PLACEHOLDERS = {"vocabulary": "Whittemore, Callytics Pro"}


@dataclass(frozen=True, slots=True)
class FormField:
    """One option of the upload form, with the limits the API's schema gives it."""

    name: str
    label: str
    kind: str  # text | number | select | textarea
    hint: str | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    advanced: bool = False
    placeholder: str | None = None


def upload_fields() -> list[FormField]:
    """The upload form's options, read off `SubmittedOptions`' JSON schema (labelled ones first)."""
    fields = []
    for name, prop in SubmittedOptions.model_json_schema()["properties"].items():
        spec = next((s for s in prop.get("anyOf", [prop]) if s.get("type") != "null"), prop)
        if name == "roles":
            kind = "text"
        elif "enum" in spec:
            kind = "select"
        elif spec.get("type") == "integer":
            kind = "number"
        else:
            kind = "textarea" if (spec.get("maxLength") or 0) > 1000 else "text"
        pattern = spec.get("pattern")
        fields.append(FormField(
            name=name, label=_LABELS.get(name, prop.get("title", name)), kind=kind, hint=prop.get("description"),
            choices=tuple(spec.get("enum", ())), minimum=spec.get("minimum"), maximum=spec.get("maximum"),
            max_length=spec.get("maxLength"), pattern=pattern.strip("^$") if pattern else None,
            advanced=name in _ADVANCED, placeholder=_PLACEHOLDERS.get(name),
        ))
    order = list(_LABELS)
    return sorted(fields, key=lambda f: order.index(f.name) if f.name in order else len(order))


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request,
    caller: ApiKeyRecord = Depends(console_caller),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    context: dict[str, Any] = {
        # The per-call terms go before these (the tenant's vocabulary page manages them).
        "tenant_terms": len(store.get_vocabulary(tenant=caller.tenant).terms),
        "caller": caller, "can_submit": caller.allows(SUBMIT_SCOPE), "fields": upload_fields(),
        "file_field": FILE_FIELD, "accept": ",".join(settings.api.allowed_extensions),
        "max_upload_mb": settings.api.max_upload_mb,
    }
    return templates.TemplateResponse(request, "upload.html", context)
