"""Console fixtures: a real gateway (uvicorn, the local runner, real models) on a free port, a call
analysed from a real recording, API keys of two tenants, and headless Debian Chromium via Selenium.

Screenshots go to $CALLYTICS_TEST_ARTIFACTS/console (default .artifacts/console); with
CALLYTICS_UPDATE_SCREENSHOTS=1 they are copied to docs/console/ as well.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("selenium")
uvicorn = pytest.importorskip("uvicorn")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from callytics_ray.api import LocalRunner, create_app  # noqa: E402
from callytics_ray.api.console.pages import STATIC_DIR, missing_vendor_files  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.storage import CallStore  # noqa: E402
from callytics_ray.storage.keys import create_api_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("CALLYTICS_TEST_ARTIFACTS", ROOT / ".artifacts")) / "console"
DOCS = ROOT / "docs" / "console"
RECORDING = "synthetic_stereo_call_bleed.wav"


def _missing(what: str) -> None:
    message = f"{what}: run scripts/setup.sh (it installs chromium, chromium-driver and the console assets)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Gateway:
    """The live server: its base URL, its store, the API keys and the analysed call."""

    def __init__(self, base_url: str, store: CallStore) -> None:
        self.base_url, self.store = base_url, store
        self.keys: dict[str, str] = {}
        self.call: dict = {}

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def gateway(tmp_path_factory, model_cache: Path, local_stages, data_dir: Path) -> Iterator[Gateway]:
    if missing := missing_vendor_files():
        _missing(f"console assets {', '.join(missing)} missing in {STATIC_DIR / 'vendor'}")
    db = tmp_path_factory.mktemp("console") / "callytics.db"
    settings = Settings(database_url=f"sqlite:///{db}", cache_dir=model_cache, _env_file=None)
    settings = settings.model_copy(update={"api": settings.api.model_copy(
        update={"rate_limit_per_minute": 0, "reconcile_interval_s": 3600.0})})
    store = CallStore.from_url(settings.database_url)
    app = create_app(settings, store, LocalRunner(local_stages, store, settings))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the gateway did not start")
        time.sleep(0.05)
    gw = Gateway(f"http://127.0.0.1:{port}", store)
    for tenant, scopes in (("acme", ("submit", "read")), ("globex", ("read",))):
        gw.keys[tenant], _ = create_api_key(store.engine, tenant=tenant, scopes=scopes)
    # The call a reviewer opens: a real recording through the real local runner, over HTTP.
    headers = {"Authorization": f"Bearer {gw.keys['acme']}"}
    with httpx.Client(base_url=gw.base_url, headers=headers, timeout=600) as client:
        audio = (data_dir / RECORDING).read_bytes()
        response = client.post("/v1/calls", params={"wait": "true", "timeout_s": 590},
                               files={"file": (RECORDING, audio, "audio/wav")}, data={"agent_id": "aew"})
        assert response.status_code in (200, 202), response.text
        call_id = response.json()["id"]
        deadline = time.monotonic() + 600
        while (body := client.get(f"/v1/calls/{call_id}").json())["status"] not in ("completed", "partial", "failed"):
            assert time.monotonic() < deadline, f"call {call_id} did not finish: {body['status']}"
            time.sleep(0.5)
    assert body["status"] == "completed", body
    gw.call = body
    yield gw
    server.should_exit = True
    thread.join(timeout=30)
    store.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        _missing(f"{CHROMIUM} or {CHROMEDRIVER} not found")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                "--lang=en-US"):
        options.add_argument(arg)
    # The browser's console log: what the gateway's Content-Security-Policy refused shows there.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture()
def driver(browser: webdriver.Chrome, gateway: Gateway) -> Iterator[webdriver.Chrome]:
    """The browser, signed out, at desktop width; afterwards, no script, style or media of the
    test's pages may have been refused by the Content-Security-Policy."""
    browser.set_window_size(1280, 900)
    browser.get(gateway.url("/console/sign-in"))
    browser.delete_all_cookies()
    browser.get_log("browser")  # what earlier tests left
    yield browser
    refused = [entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]]
    assert not refused, f"the Content-Security-Policy blocked: {refused}"


@pytest.fixture()
def sign_in(gateway: Gateway) -> Callable[..., None]:
    def do(driver: webdriver.Chrome, tenant: str = "acme") -> None:
        driver.get(gateway.url("/console/sign-in"))
        field = driver.find_element(By.ID, "key")
        field.clear()
        field.send_keys(gateway.keys[tenant])
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
        wait(driver).until(EC.url_contains("/console/calls"))

    return do


def wait(driver: webdriver.Chrome, timeout_s: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, timeout_s)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Save the page as a test artifact (and as the docs' current screenshot when asked)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    if os.environ.get("CALLYTICS_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)
    return path
