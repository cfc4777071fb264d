"""HTTP range requests (RFC 9110 section 14) over a stored blob: what a browser's <audio> needs to seek."""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.api.errors import ApiError


class RangeNotSatisfiableError(ApiError):
    status, code = 416, "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, headers={"Content-Range": f"bytes */{size}"})


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int    # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range `header` asks for within `size` bytes, or None for the whole body.

    Supports `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes). A header that is not a
    bytes range, or asks for several ranges, is ignored (the whole body, 200), as RFC 9110 allows.

    Raises:
        RangeNotSatisfiableError: the range starts at or past the end (416).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 or size == 0:
                _unsatisfiable(header, size)
            return ByteRange(max(0, size - suffix), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        _unsatisfiable(header, size)
    if end < start:
        return None
    return ByteRange(start, min(end, size - 1))


def _unsatisfiable(header: str, size: int) -> None:
    raise RangeNotSatisfiableError(f"range {header!r} is outside the recording's {size} bytes", size=size)
