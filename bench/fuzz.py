"""Send the hostile-upload corpus (bench/fuzz_corpus.py) to any gateway over HTTP and count what
came back: refused at once (4xx with a JSON reason), accepted and failed with a reason, accepted
and completed (a harmless mutation), 5xx, hangs, and calls left unfinished.

Example (the reliability bench, against a running Serve app):
    >>> summary = run_fuzz("http://127.0.0.1:8000", api_key, data_dir=Path("/work/shared/data"))
    >>> summary.row()
    'fuzzed uploads: 438 sent, 317 4xx, 75 accepted-failed, 46 accepted-completed, 5xx = 0, hangs = 0'

    python -m bench.fuzz --base-url http://127.0.0.1:8000 --key cr_... [--large]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench.fuzz_corpus import FuzzCase, build_corpus

logger = logging.getLogger(__name__)

FINISHED = ("completed", "partial", "failed")
_REASON = re.compile(r"^(\w+): (\w+): ")  # "audio: corrupt_audio: ..." (the stage, the AudioError reason)


@dataclass(frozen=True, slots=True)
class FuzzOutcome:
    """What one case got.

    Attributes:
        outcome: "rejected" (4xx with a JSON reason), "failed" / "completed" / "partial" (accepted,
            then finished so), or a problem: "server_error" (5xx), "hang" (no answer within the
            request timeout, or the connection broke), "unexplained" (an answer without a reason),
            "stuck" (accepted, unfinished at the deadline), "unexpected" (a non-decodable file completed).
        reason: the error code of a 4xx, the failed stage and its reason, or the status code.
    """

    case: str
    family: str
    status: int | None
    outcome: str
    reason: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.outcome in ("rejected", "failed", "completed", "partial")


@dataclass(frozen=True, slots=True)
class FuzzSummary:
    """Every outcome, whether the gateway still answered afterwards, and the counts the bench prints."""

    outcomes: tuple[FuzzOutcome, ...]
    alive: bool

    def count(self, *outcomes: str) -> int:
        return sum(o.outcome in outcomes for o in self.outcomes)

    @property
    def sent(self) -> int:
        return len(self.outcomes)

    @property
    def server_errors(self) -> int:
        return self.count("server_error")

    @property
    def hangs(self) -> int:
        return self.count("hang")

    @property
    def problems(self) -> list[FuzzOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def by_status(self) -> Counter[str]:
        return Counter(str(o.status) for o in self.outcomes)

    def by_reason(self) -> Counter[str]:
        return Counter(f"{o.outcome}:{o.reason}" for o in self.outcomes)

    def row(self) -> str:
        return (f"fuzzed uploads: {self.sent} sent, {self.count('rejected')} 4xx, {self.count('failed')} "
                f"accepted-failed, {self.count('completed', 'partial')} accepted-completed, "
                f"5xx = {self.server_errors}, hangs = {self.hangs}")

    def report(self) -> str:
        """The row, then counts by status and by reason, then every problem."""
        lines = [self.row(), f"gateway alive afterwards: {self.alive}", "by status: " + ", ".join(
            f"{status} x {n}" for status, n in sorted(self.by_status().items()))]
        lines += [f"  {n:4d}  {reason}" for reason, n in self.by_reason().most_common()]
        lines += [f"PROBLEM {o.case}: {o.outcome} ({o.status}, {o.reason})" for o in self.problems]
        return "\n".join(lines)


def _json_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) and error.get("message") else None


def _send(client: httpx.Client, case: FuzzCase, headers: dict[str, str], max_retries: int) -> httpx.Response:
    """POST the case; a 429 (the per-key rate limit) is waited out and sent again."""
    request_headers = dict(headers)
    if case.content_type is not None:
        request_headers["Content-Type"] = case.content_type
    for _ in range(max_retries):
        response = client.post("/v1/calls", content=case.body, headers=request_headers)
        if response.status_code != 429:
            return response
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 10.0))
    return response


def _answer(case: FuzzCase, response: httpx.Response, seconds: float) -> FuzzOutcome | str:
    """The outcome of a refusal, or the accepted call's id."""
    status = response.status_code
    if status >= 500:
        return FuzzOutcome(case.name, case.family, status, "server_error", _json_code(response) or "", seconds)
    code = _json_code(response)
    if 400 <= status < 500:
        outcome = "rejected" if code else "unexplained"
        return FuzzOutcome(case.name, case.family, status, outcome, code or response.text[:80], seconds)
    try:
        return str(response.json()["id"])
    except (ValueError, KeyError, TypeError):
        return FuzzOutcome(case.name, case.family, status, "unexplained", response.text[:80], seconds)


def _finished(case: FuzzCase, status: int, call: dict, seconds: float) -> FuzzOutcome:
    if call.get("status") not in FINISHED:
        return FuzzOutcome(case.name, case.family, status, "stuck", str(call.get("status")), seconds)
    if call["status"] == "failed":
        error = call.get("error") or ""
        match = _REASON.match(error)
        reason = f"{match.group(1)}:{match.group(2)}" if match else error.split(":")[0]
        return FuzzOutcome(case.name, case.family, status, "failed" if error else "unexplained", reason, seconds)
    outcome = call["status"] if case.decodable else "unexpected"
    return FuzzOutcome(case.name, case.family, status, outcome, call["status"], seconds)


def send_corpus(
    base_url: str,
    api_key: str | None,
    cases: Sequence[FuzzCase],
    *,
    request_timeout_s: float = 30.0,
    finish_timeout_s: float = 120.0,
    poll_interval_s: float = 0.5,
    max_retries: int = 20,
) -> FuzzSummary:
    """POST every case to `base_url`, then poll each accepted call until it finishes (or
    `finish_timeout_s` after the last upload), then check that the gateway still answers.

    Args:
        base_url: the gateway, e.g. "http://127.0.0.1:8000" (the local app or Serve's proxy).
        api_key: a key with the submit and read scopes (None where the gateway needs none).
        request_timeout_s: a request not answered within this counts as a hang.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    outcomes: dict[str, FuzzOutcome] = {}
    accepted: dict[str, tuple[FuzzCase, int, str, float]] = {}
    since = datetime.now(timezone.utc) - timedelta(seconds=5)  # a little slack for the server's clock
    with httpx.Client(base_url=base_url, timeout=request_timeout_s) as client:
        for case in cases:
            started = time.monotonic()
            try:
                response = _send(client, case, headers, max_retries)
            except httpx.TransportError as err:  # timeout, reset, refused: the gateway did not answer
                logger.warning("%s: no answer (%s)", case.name, err)
                outcomes[case.name] = FuzzOutcome(case.name, case.family, None, "hang", type(err).__name__,
                                                  time.monotonic() - started)
                continue
            answer = _answer(case, response, time.monotonic() - started)
            if isinstance(answer, FuzzOutcome):
                outcomes[case.name] = answer
            else:
                accepted[case.name] = (case, response.status_code, answer, started)
        outcomes.update(_wait_for(client, headers, accepted, since, time.monotonic() + finish_timeout_s,
                                  poll_interval_s))
        alive = _alive(client)
    return FuzzSummary(tuple(outcomes[c.name] for c in cases), alive)


def _wait_for(client: httpx.Client, headers: dict[str, str], accepted: dict[str, tuple[FuzzCase, int, str, float]],
              since: datetime, deadline: float, poll_interval_s: float) -> dict[str, FuzzOutcome]:
    """Poll the calls created since `since` (one listing per round, not one request per call, so a
    per-key rate limit is not spent on polling) until every accepted call has finished or
    `deadline` has passed."""
    by_id = {call_id: (name, case, status, started) for name, (case, status, call_id, started) in accepted.items()}
    outcomes: dict[str, FuzzOutcome] = {}
    while by_id:
        calls = _calls_since(client, headers, since)
        for call_id, (name, case, status, started) in list(by_id.items()):
            call = calls.get(call_id, {"status": "unlisted"})
            if call.get("status") in FINISHED or time.monotonic() > deadline:
                outcomes[name] = _finished(case, status, call, time.monotonic() - started)
                del by_id[call_id]
        if by_id:
            time.sleep(poll_interval_s)
    return outcomes


def _calls_since(client: httpx.Client, headers: dict[str, str], since: datetime) -> dict[str, dict]:
    """id -> call of every call the key's tenant created since `since` ({} when the gateway is busy)."""
    calls: dict[str, dict] = {}
    offset = 0
    while True:
        try:
            response = client.get("/v1/calls", headers=headers,
                                  params={"created_after": since.isoformat(), "limit": 500, "offset": offset})
        except httpx.TransportError as err:
            logger.warning("listing calls failed (%s)", err)
            return calls
        if response.status_code == 429:
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 10.0))
            continue
        if response.status_code != 200:
            logger.warning("listing calls answered %d", response.status_code)
            return calls
        page = response.json()
        calls.update({item["id"]: item for item in page["items"]})
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return calls


def _alive(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def run_fuzz(base_url: str, api_key: str | None, *, data_dir: Path, large: bool = False, seed: int = 14,
             work: Path | None = None, **send_options) -> FuzzSummary:
    """Build the corpus (in `work`, a temporary folder by default) and send it to `base_url`:
    what the reliability bench calls for its "fuzzed uploads" row."""
    if work is not None:
        return send_corpus(base_url, api_key, build_corpus(data_dir, work, seed=seed, large=large), **send_options)
    with tempfile.TemporaryDirectory(prefix="callytics-fuzz-") as tmp:
        cases = build_corpus(data_dir, Path(tmp), seed=seed, large=large)
    return send_corpus(base_url, api_key, cases, **send_options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("CALLYTICS_API_KEY"), help="submit+read API key")
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"  # beside the checkout, as for the tests
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CALLYTICS_TEST_DATA", shared)))
    parser.add_argument("--large", action="store_true", help="about twice the cases")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--finish-timeout-s", type=float, default=600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the summary
    summary = run_fuzz(args.base_url, args.key, data_dir=args.data_dir, large=args.large, seed=args.seed,
                       finish_timeout_s=args.finish_timeout_s)
    logger.info("%s", summary.report())
    return 0 if not summary.problems and summary.alive else 1


if __name__ == "__main__":
    raise SystemExit(main())
