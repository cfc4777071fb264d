"""The console's vocabulary page: the tenant's terms in force, in their order, each with the
version that added it (who stored it and when, read off the version history); an admin adds and
removes terms there.

The page only reads. Its changes go to PUT /v1/vocabulary from static/vocabulary.js, the way the
upload page submits calls (the session cookie with the console's header), so the API stays the one
place that checks the admin scope and every term, and its 422 reason is what the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api.console.pages import PREFIX, console_caller, render_page
from callytics_ray.api.deps import CONSOLE_HEADER, get_store
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import TenantVocabulary
from callytics_ray.vocabulary import MAX_TENANT_TERMS, MAX_TERM_CHARS

router = APIRouter(prefix=PREFIX, include_in_schema=False)

ADMIN_SCOPE = "admin"


@dataclass(frozen=True, slots=True)
class TermRow:
    """One term in force and the version that added it.

    Attributes:
        added_in: that version; with `earlier`, the oldest version the history reads back (the
            term was added then or before).
    """

    term: str
    added_in: int
    added_by: str | None
    added_at: datetime | None
    earlier: bool = False


def term_rows(versions: list[TenantVocabulary]) -> list[TermRow]:
    """The terms of `versions[0]` (the one in force; `versions` newest first, as the store reads
    them) in their order, each with the oldest version of the unbroken run back from the newest
    that holds it: a term removed and added again counts from when it came back. Terms compare
    as the API merges them (case does not make another term)."""
    if not versions:
        return []
    held = [{t.casefold() for t in v.terms} for v in versions]
    rows = []
    for term in versions[0].terms:
        key, run = term.casefold(), 0
        while run + 1 < len(versions) and key in held[run + 1]:
            run += 1
        origin = versions[run]
        rows.append(TermRow(term=term, added_in=origin.version, added_by=origin.created_by, added_at=origin.created_at,
                            earlier=run == len(versions) - 1 and origin.version > 1))
    return rows


@router.get("/vocabulary", response_class=HTMLResponse)
def vocabulary_page(
    request: Request,
    saved: int | None = Query(None, ge=1, description="the version the page's last change stored"),
    caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    # One read: the version in force is the newest of the history (version 0 when none is stored).
    history = store.vocabulary_versions(tenant=caller.tenant)
    current = history[0] if history else TenantVocabulary()
    return render_page(
        request, "vocabulary.html", caller=caller, vocabulary=current, rows=term_rows(history),
        saved=saved if saved == current.version else None, can_edit=caller.allows(ADMIN_SCOPE),
        console_header=CONSOLE_HEADER, max_terms=MAX_TENANT_TERMS, max_chars=MAX_TERM_CHARS,
    )
