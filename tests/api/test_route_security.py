"""Every route of the gateway, from its own route table (the OpenAPI schema and the console's
routes, which the schema leaves out), checked for auth, scopes and tenant isolation.

Each route is classified in ROUTES below; `test_every_route_is_classified` fails when the app has
a route the table does not name (or the table one the app no longer has), so a new route cannot
ship unchecked. For each classified route, with real objects of two tenants (acme owns a really
analysed call, its agent, a rubric and a category set; globex owns a call of its own):

- no credentials: 401 from the API, the sign-in redirect from a console page, never data;
- a key without the route's scope: 403;
- globex's key (every scope) on acme's objects: 404, exactly like a missing object; on lists,
  searches, filters, reports: none of acme's rows; while acme's own key gets them (the control
  that proves the ids are real).

The app serves no metrics route: Prometheus metrics are Ray's, on each node's metrics port
(deployments/metrics.py), not on the gateway's HTTP app.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from callytics_ray.alerts import NewDelivery
from callytics_ray.api import LocalRunner, create_app
from callytics_ray.export import MEDIA_TYPES
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import create_api_key
from tests.api.conftest import FAST_RETRY, upload, with_api
from tests.api.test_scorecards import CATEGORIES, RUBRIC

pytestmark = pytest.mark.models

# Routes that answer without a key, and why that leaks nothing of any tenant.
PUBLIC = {
    ("GET", "/healthz"): "liveness for load balancers and Serve: a constant",
    ("GET", "/readyz"): "readiness: whether the database answers, no tenant data",
    ("GET", "/openapi.json"): "the API's schema: routes and models, no data",
    ("GET", "/docs"): "Swagger UI over the schema",
    ("GET", "/docs/oauth2-redirect"): "Swagger UI's OAuth helper page (static)",
    ("GET", "/redoc"): "ReDoc over the schema",
    ("GET", "/console"): "a redirect to /console/calls, which then asks for a key",
    ("GET", "/console/sign-in"): "the sign-in form itself",
    ("POST", "/console/sign-in"): "checks the key it is given (401 page when invalid)",
    ("POST", "/console/sign-out"): "only clears the session cookie",
    ("MOUNT", "/console/static"): "the console's CSS, scripts and vendored libraries",
}

ALERT = {"categories": ["*"], "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef0123456789abcdef"}
ACME_TERM = "Zentrafy"  # a term of acme's vocabulary
ACME_AGENT = "agent-acme"
GLOBEX_AGENT = "agent-globex"
ARM = "arm-acme"
WORD = "wizard"  # said in the acme call (stereo_diarization.wav)


@dataclass
class World:
    client: TestClient
    call_id: str          # acme's analysed call
    queued_id: str        # an acme call that never ran (delete answers 409 for it, not 204)
    globex_call_id: str
    keys: dict[str, str] = field(default_factory=dict)  # name -> secret
    delivery_id: str = ""  # a pending alert delivery of acme's call
    backfill_id: str = ""  # the job acme's rubric PUT started

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def cookie(self, who: str) -> dict[str, str]:
        return {"Cookie": f"callytics_key={self.keys[who]}"}


@dataclass(frozen=True)
class Check:
    """How one route is called and what isolation means for it.

    Attributes:
        scope: the scope the route needs.
        console: a console page (cookie auth, sign-in redirect, HTML error pages).
        target: (path parameters, query, body) for the owner's objects, from the world.
        isolated: the other tenant's answer to the same request is a 404 (True) or carries none
            of `leaks` (False: lists, searches, reports).
        leaks: strings of acme's data (filled from the world) that globex's answer must not contain.
        note: why a route has no tenant check (it only acts within the caller's tenant).
    """

    scope: str
    target: Callable[[World], tuple[dict, dict, dict | None]] = lambda w: ({}, {}, None)
    isolated: bool = False
    leaks: Callable[[World], tuple[str, ...]] = lambda w: ()
    console: bool = False
    note: str = ""
    owner_status: tuple[int, ...] = (200,)


def _call(w: World) -> tuple[dict, dict, None]:
    return {"call_id": w.call_id}, {}, None


def _acme_rows(w: World) -> tuple[str, ...]:
    return (w.call_id, w.queued_id, ACME_AGENT)


def _query(**query) -> Callable[[World], tuple[dict, dict, None]]:
    return lambda w: ({}, query, None)


_CALL_ROUTE = dict(target=_call, isolated=True)
_CALL_PAGE = dict(target=_call, isolated=True, console=True)
_AGENT = dict(target=lambda w: ({"agent_id": ACME_AGENT}, {}, None), isolated=True)

ROUTES: dict[tuple[str, str], Check] = {
    # The owner's probe sends four bytes: past auth and scope, the upload itself is refused (422).
    ("POST", "/v1/calls"): Check("submit", note="stores the upload in the caller's tenant only", owner_status=(422,)),
    ("GET", "/v1/calls"): Check("read", leaks=_acme_rows),
    ("GET", "/v1/calls/{call_id}"): Check("read", **_CALL_ROUTE),
    ("GET", "/v1/calls/{call_id}/transcript"): Check("read", **_CALL_ROUTE),
    ("GET", "/v1/calls/{call_id}/audio"): Check("read", **_CALL_ROUTE),
    ("DELETE", "/v1/calls/{call_id}"): Check("admin", target=lambda w: ({"call_id": w.queued_id}, {}, None),
                                             isolated=True, owner_status=(409,)),
    ("POST", "/v1/calls/{call_id}/retry"): Check("submit", **_CALL_ROUTE, owner_status=(409,)),
    ("GET", "/v1/calls/{call_id}/scorecard"): Check("read", **_CALL_ROUTE),
    ("GET", "/v1/calls/{call_id}/categories"): Check("read", **_CALL_ROUTE),
    ("POST", "/v1/calls/{call_id}/scorecard:rescore"): Check("submit", **_CALL_ROUTE),
    ("GET", "/v1/experiments"): Check("read", leaks=lambda w: (ARM,)),
    ("GET", "/v1/agents"): Check("read", leaks=lambda w: (ACME_AGENT,)),
    ("GET", "/v1/agents/{agent_id}"): Check("read", **_AGENT),
    ("GET", "/v1/scorecards/agents"): Check("read", target=_query(rubric="contact-center"),
                                            leaks=lambda w: (ACME_AGENT,)),
    ("GET", "/v1/rubrics"): Check("read", leaks=lambda w: ("acme-qa",)),
    ("GET", "/v1/rubrics/{name}"): Check("read", target=lambda w: ({"name": "acme-qa"}, {}, None), isolated=True),
    ("GET", "/v1/rubrics/{name}/versions"): Check("read", target=lambda w: ({"name": "acme-qa"}, {}, None),
                                                  isolated=True),
    ("PUT", "/v1/rubrics/{name}"): Check("admin", target=lambda w: ({"name": "acme-new"}, {}, RUBRIC),
                                         owner_status=(201,), note="a new version in the caller's tenant only "
                                         "(test_a_tenant_cannot_change_another_tenants_rubric)"),
    ("GET", "/v1/categories"): Check("read", leaks=lambda w: ("acme-topics",)),
    ("GET", "/v1/categories/{name}"): Check("read", target=lambda w: ({"name": "acme-topics"}, {}, None),
                                            isolated=True),
    ("GET", "/v1/categories/{name}/versions"): Check("read", target=lambda w: ({"name": "acme-topics"}, {}, None),
                                                     isolated=True),
    ("PUT", "/v1/categories/{name}"): Check("admin", target=lambda w: ({"name": "acme-new"}, {}, CATEGORIES),
                                            owner_status=(201,), note="a new version in the caller's tenant only"),
    ("GET", "/v1/calls/{call_id}/alerts"): Check("read", **_CALL_ROUTE),
    ("GET", "/v1/alerts"): Check("admin", leaks=lambda w: ("acme-hook",)),
    ("GET", "/v1/alerts/{name}"): Check("admin", target=lambda w: ({"name": "acme-hook"}, {}, None), isolated=True),
    ("GET", "/v1/alerts/{name}/deliveries"): Check("admin", target=lambda w: ({"name": "acme-hook"}, {}, None),
                                                   isolated=True),
    ("PUT", "/v1/alerts/{name}"): Check("admin", target=lambda w: ({"name": "acme-new-hook"}, {}, ALERT),
                                        owner_status=(201,), note="creates or replaces in the caller's tenant only "
                                        "(test_a_tenant_cannot_change_or_delete_another_tenants_alert)"),
    ("DELETE", "/v1/alerts/{name}"): Check("admin", target=lambda w: ({"name": "acme-doomed"}, {}, None),
                                           owner_status=(204,), note="deletes in the caller's tenant only "
                                           "(test_a_tenant_cannot_change_or_delete_another_tenants_alert)"),
    # Pending: the owner's redelivery answers 409 (nothing to redeliver yet), another tenant's 404.
    ("POST", "/v1/alerts/deliveries/{delivery_id}:redeliver"): Check(
        "admin", target=lambda w: ({"delivery_id": w.delivery_id}, {}, None), isolated=True, owner_status=(409,)),
    ("GET", "/v1/vocabulary"): Check("read", leaks=lambda w: (ACME_TERM,)),
    ("PUT", "/v1/vocabulary"): Check("admin", target=lambda w: ({}, {}, {"terms": [ACME_TERM, "Callytics Pro"]}),
                                     note="stores a new version of the caller's tenant's own list"),
    ("GET", "/v1/drivers"): Check("read", leaks=lambda w: (w.call_id,)),
    ("GET", "/console/drivers"): Check("read", console=True, leaks=lambda w: (w.call_id,)),
    ("POST", "/v1/backfills"): Check("admin", target=lambda w: ({}, {}, {"kind": "reassess"}), owner_status=(202,),
                                     note="a job over the caller's tenant's own calls only"),
    ("GET", "/v1/backfills"): Check("read", leaks=lambda w: (w.backfill_id,)),
    ("GET", "/v1/backfills/{backfill_id}"): Check("read", target=lambda w: ({"backfill_id": w.backfill_id}, {}, None),
                                                  isolated=True),
    ("GET", "/v1/backfills/{backfill_id}/outcomes"): Check(
        "read", target=lambda w: ({"backfill_id": w.backfill_id}, {}, None), isolated=True),
    # The job may have finished (409: nothing to cancel) or still run (200) when the owner asks.
    ("POST", "/v1/backfills/{backfill_id}:cancel"): Check(
        "admin", target=lambda w: ({"backfill_id": w.backfill_id}, {}, None), isolated=True, owner_status=(200, 409)),
    ("GET", "/console/calls"): Check("read", console=True, leaks=_acme_rows),
    ("GET", "/console/calls/{call_id}"): Check("read", **_CALL_PAGE),
    ("GET", "/console/upload"): Check("read", console=True,
                                      note="the upload form and how many terms the caller's own tenant's vocabulary has"),
    ("GET", "/console/vocabulary"): Check("read", console=True, leaks=lambda w: (ACME_TERM,)),
    ("GET", "/console/agents"): Check("read", console=True, leaks=lambda w: (ACME_AGENT,)),
    ("GET", "/console/agents/{agent_id}"): Check("read", **_AGENT, console=True),
    ("GET", "/console/experiments"): Check("read", console=True, leaks=lambda w: (ARM,)),
}

# The same list and search routes again with every filter and a search that matches acme's call.
FILTERED = [
    ("/v1/calls", {"q": WORD}), ("/v1/calls", {"agent_id": ACME_AGENT}), ("/v1/calls", {"status": "completed"}),
    ("/v1/calls", {"language": "en", "min_duration_s": 0, "max_duration_s": 3600, "created_after": "2000-01-01"}),
    ("/v1/calls", {"q": WORD, "sort": "-duration_s", "agent_id": ACME_AGENT}), ("/v1/calls", {"flag": "long_silence"}),
    ("/v1/agents", {"created_after": "2000-01-01"}), ("/v1/agents/" + ACME_AGENT, {"bucket": "week"}),
    ("/console/calls", {"q": WORD}), ("/console/calls", {"agent_id": ACME_AGENT}),
]


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"MOUNT"}
        routes |= {(m, route.path) for m in methods if m != "HEAD"}
    return routes


@pytest.fixture(scope="module")
def world(tmp_path_factory, model_cache: Path, local_stages, stereo_call_path: Path) -> World:
    db = tmp_path_factory.mktemp("route-security") / "callytics.db"
    base = Settings(database_url=f"sqlite:///{db}", cache_dir=model_cache, _env_file=None)
    settings = with_api(base, reconcile_interval_s=3600.0, rate_limit_per_minute=0)
    store = CallStore.from_url(settings.database_url)
    runner = LocalRunner(local_stages, store, settings, retry=FAST_RETRY)
    keys = {}
    for name, tenant, scopes in (("acme", "acme", ("submit", "read", "admin")), ("read", "acme", ("read",)),
                                 ("submit", "acme", ("submit",)), ("submit+read", "acme", ("submit", "read")),
                                 ("globex", "globex", ("submit", "read", "admin"))):
        keys[name], _ = create_api_key(store.engine, tenant=tenant, scopes=scopes)
    with TestClient(create_app(settings, store, runner), follow_redirects=False) as client:
        acme = {"Authorization": f"Bearer {keys['acme']}"}
        done = upload(client, acme, stereo_call_path.read_bytes(), agent_id=ACME_AGENT, language="en",
                      params={"wait": "true"})
        assert done.status_code == 200 and done.json()["status"] == "completed", done.text
        queued, _ = store.create_call(tenant="acme", source_name="q.wav", agent_id=ACME_AGENT, variant=ARM,
                                      stages=("audio",))
        theirs, _ = store.create_call(tenant="globex", source_name="g.wav", agent_id=GLOBEX_AGENT, stages=("audio",))
        for path, body in (("/v1/rubrics/acme-qa", RUBRIC), ("/v1/categories/acme-topics", CATEGORIES),
                           ("/v1/alerts/acme-hook", ALERT), ("/v1/alerts/acme-doomed", ALERT)):
            assert client.put(path, headers=acme, json=body).status_code == 201
        assert client.put("/v1/vocabulary", headers=acme, json={"terms": [ACME_TERM]}).status_code == 200
        [delivery_id] = store.add_deliveries([NewDelivery(
            id=str(uuid.uuid4()), tenant="acme", alert="acme-hook", call_id=done.json()["id"], category_set="acme-topics",
            category="refund", payload_json="{}")])
        backfill_id = client.get("/v1/backfills", headers=acme).json()["items"][-1]["id"]
        yield World(client, done.json()["id"], queued.id, theirs.id, keys, delivery_id, backfill_id)
    store.engine.dispose()


def _request(w: World, method: str, path: str, check: Check, *, who: str | None, via_cookie: bool = False):
    params, query, body = check.target(w)
    url = path.format(**params)
    headers = {} if who is None else (w.cookie(who) if via_cookie or check.console else w.headers(who))
    if (method, path) == ("POST", "/v1/calls"):
        return w.client.post(url, headers=headers, files={"file": ("c.wav", b"RIFF", "audio/wav")})
    return w.client.request(method, url, headers=headers, params=query, json=body)


def test_every_route_is_classified(world):
    routes = _app_routes(world.client.app)
    assert routes, "no routes found: the route walk is broken"
    unclassified = routes - set(ROUTES) - set(PUBLIC)
    assert not unclassified, f"classify these routes in ROUTES or PUBLIC (auth, scope, tenancy): {sorted(unclassified)}"
    assert not (set(ROUTES) | set(PUBLIC)) - routes, "the table names routes the app no longer has"
    openapi = {(m.upper(), p) for p, ops in world.client.app.openapi()["paths"].items() for m in ops}
    assert openapi <= routes and {r for r in ROUTES if not ROUTES[r].console} <= openapi


def test_an_unclassified_route_is_caught(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", _env_file=None)
    app = create_app(settings, CallStore.from_url(settings.database_url), runner=None)
    app.add_api_route("/v1/new-thing/{thing_id}", lambda thing_id: {}, methods=["GET"])
    assert _app_routes(app) - set(ROUTES) - set(PUBLIC) == {("GET", "/v1/new-thing/{thing_id}")}


@pytest.mark.parametrize("route", sorted(PUBLIC), ids=" ".join)
def test_public_routes_answer_without_a_key(world, route):
    method, path = route
    if method == "MOUNT":
        reply = world.client.get(f"{path}/console.css")
    elif path == "/console/sign-in" and method == "POST":
        reply = world.client.post(path, data={"key": "cr_0000_forged"})
        assert reply.status_code == 401 and "set-cookie" not in reply.headers
        return
    else:
        reply = world.client.request(method, path)
    assert reply.status_code in (200, 303), (route, reply.status_code)
    assert world.call_id not in reply.text


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_without_a_key_there_is_no_answer_but_401_or_sign_in(world, route):
    method, path = route
    check = ROUTES[route]
    reply = _request(world, method, path, check, who=None)
    if check.console:
        assert reply.status_code == 303 and reply.headers["location"].startswith("/console/sign-in?next=")
    else:
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "unauthorized", reply.text
        forged = world.client.request(method, path.format(**check.target(world)[0]),
                                      headers={"Authorization": "Bearer cr_00000000_forged"})
        assert forged.status_code == 401
    assert world.call_id not in reply.text


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_a_key_without_the_scope_gets_403(world, route):
    method, path = route
    check = ROUTES[route]
    lacking = {"read": "submit", "submit": "read", "admin": "submit+read"}[check.scope]
    reply = _request(world, method, path, check, who=lacking)
    assert reply.status_code == 403, (route, reply.status_code, reply.text[:300])
    if not check.console:
        assert reply.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_another_tenant_gets_404_or_none_of_the_rows(world, route):
    method, path = route
    check = ROUTES[route]
    owner = _request(world, method, path, check, who="acme")
    assert owner.status_code in check.owner_status, (route, owner.status_code, owner.text[:300])
    if check.note:
        return
    other = _request(world, method, path, check, who="globex")
    if check.isolated:
        assert other.status_code == 404, (route, other.status_code, other.text[:300])
        if not check.console:
            assert other.json()["error"]["code"] == "not_found"
        assert WORD not in other.text.lower()
    else:
        assert other.status_code == 200, (route, other.status_code)
        leaked = [s for s in check.leaks(world) if s in other.text]
        assert not leaked and all(s in owner.text for s in check.leaks(world)), (route, leaked)


@pytest.mark.parametrize("fmt", sorted(MEDIA_TYPES))
def test_every_export_format_is_the_owners_only(world, fmt):
    path = f"/v1/calls/{world.call_id}/transcript"
    owner = world.client.get(path, headers=world.headers("acme"), params={"format": fmt})
    assert owner.status_code == 200 and owner.content
    for who in ("globex", None):
        other = world.client.get(path, headers=world.headers(who) if who else {}, params={"format": fmt})
        assert other.status_code == (404 if who else 401) and WORD not in other.text.lower()
    ranged = world.client.get(f"/v1/calls/{world.call_id}/audio", headers={**world.headers("globex"),
                                                                           "Range": "bytes=0-99"})
    assert ranged.status_code == 404 and not ranged.content.startswith(b"RIFF")


@pytest.mark.parametrize("path,query", FILTERED, ids=lambda v: str(v))
def test_filters_and_search_show_only_the_callers_calls(world, path, query):
    console = path.startswith("/console")
    owner = world.client.get(path, params=query, headers=world.cookie("acme") if console else world.headers("acme"))
    other = world.client.get(path, params=query, headers=world.cookie("globex") if console else world.headers("globex"))
    assert owner.status_code == 200, owner.text[:300]
    # What the request itself names is echoed back (a search box, "agent x not found"): look for the rest.
    asked = {*query.values(), *path.split("/")}
    assert other.status_code in (200, 404)
    assert not [s for s in (world.call_id, world.queued_id, ACME_AGENT) if s in other.text and s not in asked]
    if path == "/v1/calls":  # (the search's query is echoed back: look at what was found)
        assert other.json()["items"] == [] and not other.json().get("hits")


def test_the_api_takes_the_console_cookie_for_writes_only_with_the_console_header(world):
    for (method, path), check in ROUTES.items():
        if check.console or method == "GET":
            continue
        reply = _request(world, method, path, check, who="acme", via_cookie=True)
        assert reply.status_code == 401, (method, path, reply.status_code)
    # The console's header from a page of another origin: still no write.
    cross_site = world.client.post(f"/v1/calls/{world.call_id}/retry", headers={
        **world.cookie("acme"), "X-Callytics-Console": "1", "Origin": "https://evil.example"})
    assert cross_site.status_code == 401


def test_a_tenant_cannot_change_another_tenants_rubric(world):
    globex, acme = world.headers("globex"), world.headers("acme")
    for kind, body in (("rubrics", RUBRIC), ("categories", CATEGORIES)):
        path = f"/v1/{kind}/both-tenants"
        before = world.client.put(path, headers=acme, json=body).json()
        put = world.client.put(path, headers=globex, json={**body, "description": "globex's"})
        assert put.status_code == 201 and put.json()["version"] == 1  # its own first version, not acme's second
        assert world.client.get(path, headers=acme).json() == before


def test_a_tenant_cannot_change_or_delete_another_tenants_alert(world):
    globex, acme = world.headers("globex"), world.headers("acme")
    assert world.client.delete("/v1/alerts/acme-hook", headers=globex).status_code == 404
    put = world.client.put("/v1/alerts/acme-hook", headers=globex, json={**ALERT, "url": "http://127.0.0.1:9/globex"})
    assert put.status_code == 201  # globex's own subscription of that name, created
    assert world.client.get("/v1/alerts/acme-hook", headers=acme).json()["url"] == ALERT["url"]
    assert world.client.delete("/v1/alerts/acme-hook", headers=globex).status_code == 204
    assert world.client.get("/v1/alerts/acme-hook", headers=acme).status_code == 200
