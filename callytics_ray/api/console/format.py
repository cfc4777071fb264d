"""Template filters: pure functions, unit-tested without a browser."""

from __future__ import annotations

import re

from markupsafe import Markup, escape


def clock(seconds: float) -> str:
    """`75.4` -> `1:15`; an hour or more -> `1:02:03`."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def mark(text: str, query: str | None) -> Markup:
    """`text`, HTML-escaped, with each word of `query` (case-insensitive) wrapped in <mark>."""
    terms = sorted({t for t in re.findall(r"\w+", query or "") if t}, key=len, reverse=True)
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
