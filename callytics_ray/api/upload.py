"""Reading a multipart upload: size limit while streaming (413), media checks (415), and a probe
that the bytes really decode as audio (422), before anything is stored."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import PurePath

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from callytics_ray.api.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from callytics_ray.api.stored import SubmittedOptions
from callytics_ray.audio import decode
from callytics_ray.settings import ApiSettings, AudioOptions

FILE_FIELD = "file"
IDEMPOTENCY_FIELD = "idempotency_key"
MAX_FILENAME_CHARS = 255
# type "/" subtype, each an RFC 9110 token; parameters are dropped before the check.
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]{1,63}/[a-z0-9!#$&^_.+-]{1,63}$")
# Control, format (bidi overrides), surrogate, private-use and unassigned characters: nothing a
# person needs to recognise a file, and each can disguise or break what a console or log shows.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
VOCABULARY_FIELD = "vocabulary"


@dataclass(frozen=True, slots=True)
class Upload:
    """One parsed upload: the recording and its options."""

    data: bytes
    filename: str
    content_type: str | None
    options: SubmittedOptions
    idempotency_key: str | None


async def _limited(stream: AsyncIterator[bytes], max_mb: float) -> AsyncIterator[bytes]:
    # Count while the body arrives: a 2 GB upload is refused after max_mb, not after 2 GB.
    max_bytes, received = _bytes(max_mb), 0
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            raise PayloadTooLargeError(_too_large(max_mb))
        yield chunk


def _bytes(mb: float) -> int:
    return int(mb * 1024 * 1024)


def _too_large(max_mb: float) -> str:
    return f"the upload exceeds the limit of {max_mb:g} MB"


async def read_upload(request: Request, api: ApiSettings) -> Upload:
    """Parse the multipart body of `request` with the limits of `api`.

    Raises:
        UnsupportedMediaTypeError: not multipart/form-data, or the file's type or extension is not allowed.
        PayloadTooLargeError: the body exceeds `api.max_upload_mb`.
        BadRequestError: the multipart body is malformed.
        RequestValidationError: the file is missing or an option is invalid (422).
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError(
            f"send the recording as multipart/form-data with a '{FILE_FIELD}' field (got {content_type or 'no content type'})"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _bytes(api.max_upload_mb):
        raise PayloadTooLargeError(_too_large(api.max_upload_mb))
    parser = MultiPartParser(request.headers, _limited(request.stream(), api.max_upload_mb), max_files=1, max_fields=32)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise BadRequestError(f"malformed multipart body: {err.message}", code="malformed_multipart") from err
    try:
        file = form.get(FILE_FIELD)
        if not isinstance(file, UploadFile):
            raise _invalid([FILE_FIELD], "missing", f"a '{FILE_FIELD}' part with the recording is required")
        filename = display_filename(file.filename)
        media = check_media_type(filename, file.content_type, api)
        data = await file.read()
        fields: dict[str, object] = {k: v for k, v in form.multi_items() if k != FILE_FIELD}
        terms = form.getlist(VOCABULARY_FIELD)
        if len(terms) > 1:  # the field repeated: one term each
            fields[VOCABULARY_FIELD] = terms
    finally:
        await form.close()
    idempotency_key = fields.pop(IDEMPOTENCY_FIELD, None) or request.headers.get("idempotency-key") or None
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
        raise _invalid([IDEMPOTENCY_FIELD], "string_too_long", "an idempotency key has 1 to 128 characters")
    if idempotency_key is not None and not idempotency_key.isprintable():
        raise _invalid([IDEMPOTENCY_FIELD], "string_pattern_mismatch",
                       "an idempotency key has printable characters only")
    return Upload(data, filename, media, _options(fields), idempotency_key)


def display_filename(raw: str | None) -> str:
    """The uploaded file's name made safe to store and show: its last path component (after `/` or
    `\\`), without control, format or unassigned characters, at most MAX_FILENAME_CHARS long (the
    extension kept), "upload" when nothing is left. It names the call in lists and error messages
    only: the audio is stored in the database, never at a path built from this name.

    Example:
        >>> display_filename("../../etc/passwd\x00.wav")
        'passwd.wav'
    """
    name = re.split(r"[/\\]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _UNSAFE_CATEGORIES).strip()
    if name.strip(".") == "":
        return "upload"
    if len(name) > MAX_FILENAME_CHARS:
        suffix = PurePath(name).suffix[:16]
        name = name[: MAX_FILENAME_CHARS - len(suffix)].rstrip() + suffix
    return name


def _options(fields: dict[str, object]) -> SubmittedOptions:
    values: dict[str, object] = {k: v for k, v in fields.items() if v != ""}
    if "roles" in values:
        try:
            values["roles"] = json.loads(str(values["roles"]))
        except json.JSONDecodeError as err:
            raise _invalid(["roles"], "json_invalid", f"roles must be a JSON object ({err.msg})") from err
    try:
        return SubmittedOptions.model_validate(values)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False, include_context=False)]
        ) from err


def _invalid(loc: list[str], kind: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": message, "type": kind}])


def check_media_type(filename: str, content_type: str | None, api: ApiSettings) -> str | None:
    """415 unless the extension (when there is one) and the declared type (when given) are allowed.

    Returns:
        The declared media type without parameters, lower case (what is stored), or None.
    """
    extension = PurePath(filename).suffix.lower()
    allowed_ext = {e.lower() for e in api.allowed_extensions}
    if extension and extension not in allowed_ext:
        raise UnsupportedMediaTypeError(
            f"files of type '{extension}' are not accepted; send one of {', '.join(sorted(allowed_ext))}"
        )
    media = (content_type or "").split(";")[0].strip().lower()
    if media and not _MEDIA_TYPE.match(media):
        raise UnsupportedMediaTypeError(
            f"content type {media[:80]!r} is not a media type; send e.g. audio/wav or application/octet-stream"
        )
    if media and not any(_type_matches(media, pattern.lower()) for pattern in api.allowed_content_types):
        raise UnsupportedMediaTypeError(
            f"content type '{media}' is not accepted; send one of {', '.join(api.allowed_content_types)}"
        )
    if not extension and not media:
        raise UnsupportedMediaTypeError("the file has neither an extension nor a content type; name it e.g. call.wav")
    return media or None


def _type_matches(media: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return media == pattern


def probe_audio(data: bytes, name: str, options: AudioOptions) -> None:
    """Check that `data` opens as audio and its first frame decodes, without decoding it all.

    Raises:
        AudioError: the subclass that says why (the gateway answers 422 with its `reason`).
    """
    decode.probe_audio(data, max_duration_s=options.max_duration_s, max_channels=options.max_channels,
                       min_bytes_per_s=options.min_bytes_per_s, name=name)