"""The vocabulary page in a real browser: an admin adds terms (last, or first), sees who added
each and when, moves one up, removes one; a bad term and a repeated one are refused with the reason beside the
form and nothing is stored; a read-only key sees the list without the controls. Then a recording
uploaded through the upload page with terms of its own is analysed for real, and its call page
shows the terms recognition was prompted with (the upload's, then the tenant's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from callytics_ray.storage.keys import create_api_key
from tests.console.conftest import screenshot, wait

pytestmark = pytest.mark.models

ADMIN = "acme_admin"
SEED = ["Zentrafy"]


@pytest.fixture(scope="module")
def admin_prefix(gateway) -> Iterator[str]:
    """The prefix of an admin key of tenant acme (`gateway.keys[ADMIN]`), with acme's vocabulary
    seeded; it is empty again afterwards (the session's other tests upload acme calls)."""
    gateway.keys[ADMIN], record = create_api_key(gateway.store.engine, tenant="acme", scopes=("submit", "read", "admin"))
    gateway.store.put_vocabulary(SEED, tenant="acme", created_by="seed")
    yield record.prefix
    gateway.store.put_vocabulary([], tenant="acme")


def _terms(driver) -> list[str]:
    return [row.get_attribute("data-term") for row in driver.find_elements(By.CSS_SELECTOR, "#vocabulary-terms tbody tr")]


def _stored(gateway):
    return gateway.store.get_vocabulary(tenant="acme")


def _add(driver, term: str, *, first: bool = False) -> None:
    field = driver.find_element(By.ID, "vocabulary-term")
    field.clear()
    field.send_keys(term)
    if first:
        driver.find_element(By.ID, "vocabulary-first").click()
    driver.find_element(By.ID, "vocabulary-add-button").click()


def _saved(driver, gateway, version: int) -> None:
    wait(driver).until(EC.url_contains(f"/console/vocabulary?saved={version}"))
    assert driver.find_element(By.ID, "vocabulary-saved").text == f"Saved as version {version}."
    assert _stored(gateway).version == version


def _refused(driver, gateway, version: int, reason: str) -> None:
    """The form shows `reason` (the text, not just an error box: the one before may still be shown)."""
    wait(driver).until(EC.text_to_be_present_in_element((By.ID, "vocabulary-error"), reason))
    error = driver.find_element(By.ID, "vocabulary-error")
    assert error.is_displayed() and error.text == reason
    assert driver.find_element(By.ID, "vocabulary-term").get_attribute("aria-invalid") == "true"
    assert not driver.find_elements(By.ID, "vocabulary-saved") or not driver.find_element(By.ID, "vocabulary-saved").is_displayed()
    assert _stored(gateway).version == version, "a refused change stored a version"


def test_an_admin_adds_and_removes_terms_and_sees_why_a_term_is_refused(driver, gateway, sign_in, admin_prefix):
    sign_in(driver, ADMIN)
    driver.find_element(By.LINK_TEXT, "Vocabulary").click()
    wait(driver).until(EC.url_contains("/console/vocabulary"))
    assert driver.find_element(By.CSS_SELECTOR, 'nav a[aria-current="page"]').text == "Vocabulary"
    assert _terms(driver) == SEED
    version = _stored(gateway).version

    _add(driver, "  Whittemore ")
    _saved(driver, gateway, version + 1)
    assert _terms(driver) == ["Zentrafy", "Whittemore"] == _stored(gateway).terms
    added = driver.find_element(By.CSS_SELECTOR, '#vocabulary-terms tr[data-term="Whittemore"]')
    assert _stored(gateway).created_by == admin_prefix
    cells = [td.text for td in added.find_elements(By.TAG_NAME, "td")]
    assert cells[1:4] == ["Whittemore", f"version {version + 1}", admin_prefix]
    seeded = driver.find_element(By.CSS_SELECTOR, '#vocabulary-terms tr[data-term="Zentrafy"]')
    assert [td.text for td in seeded.find_elements(By.TAG_NAME, "td")][2:4] == [f"version {version}", "seed"]

    _add(driver, "Callytics Pro", first=True)
    _saved(driver, gateway, version + 2)
    assert _terms(driver) == ["Callytics Pro", "Zentrafy", "Whittemore"] == _stored(gateway).terms

    # Refused by the API (its reason, beside the form) and by the page (already there): nothing stored.
    _add(driver, "!!!")
    _refused(driver, gateway, version + 2, "Not saved: a vocabulary term needs a letter or digit (got '!!!')")
    _add(driver, "x" * 65)
    _refused(driver, gateway, version + 2, "Not saved: a vocabulary term has at most 64 characters (got 65)")
    _add(driver, "zentrafy")
    _refused(driver, gateway, version + 2, "“zentrafy” is already in the vocabulary.")
    assert _terms(driver) == ["Callytics Pro", "Zentrafy", "Whittemore"]
    screenshot(driver, "vocabulary-refused")

    assert not driver.find_elements(By.CSS_SELECTOR, '.move-term[data-term="Callytics Pro"]')  # first already
    driver.find_element(By.CSS_SELECTOR, '.move-term[data-term="Whittemore"]').click()
    _saved(driver, gateway, version + 3)
    assert _terms(driver) == ["Callytics Pro", "Whittemore", "Zentrafy"] == _stored(gateway).terms

    driver.find_element(By.CSS_SELECTOR, '.remove-term[data-term="Zentrafy"]').click()
    _saved(driver, gateway, version + 4)
    assert _terms(driver) == ["Callytics Pro", "Whittemore"] == _stored(gateway).terms
    assert not driver.find_element(By.ID, "vocabulary-error").is_displayed()
    screenshot(driver, "vocabulary")
    driver.set_window_size(390, 844)
    driver.refresh()
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the vocabulary page scrolls sideways by {overflow}px at phone width"
    screenshot(driver, "vocabulary-phone")


def test_a_read_only_key_sees_the_terms_without_the_controls(driver, gateway, sign_in, admin_prefix):
    sign_in(driver)  # acme's submit+read key
    driver.get(gateway.url("/console/vocabulary"))
    assert _terms(driver) == _stored(gateway).terms
    assert "admin" in driver.find_element(By.ID, "vocabulary-read-only").text
    assert not driver.find_elements(By.CSS_SELECTOR, "#vocabulary-add, .remove-term, .move-term")
    # The API refuses the read-only key's write even with the console's header.
    refused = httpx.put(gateway.url("/v1/vocabulary"), json={"terms": ["Sneaky"]},
                        headers={"Authorization": f"Bearer {gateway.keys['acme']}"})
    assert refused.status_code == 403


def test_an_uploads_terms_reach_recognition_and_its_call_page_shows_them(
        driver, gateway, sign_in, admin_prefix, data_dir: Path):
    gateway.store.put_vocabulary(["Zentrafy"], tenant="acme", created_by="seed")
    tenant_version = _stored(gateway).version
    sign_in(driver)
    driver.get(gateway.url("/console/upload"))
    assert "(1 term)" in driver.find_element(By.ID, "tenant-vocabulary-hint").text
    driver.find_element(By.ID, "opt-language").send_keys("en")
    driver.find_element(By.ID, "opt-vocabulary").send_keys("Whittemore, Callytics Pro")
    driver.find_element(By.ID, "files").send_keys(str(data_dir / "stereo_diarization.wav"))
    row = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#uploads li.upload")))
    wait(driver, 600).until(lambda d: row.get_attribute("data-state") in ("completed", "partial", "failed"))
    assert row.get_attribute("data-state") == "completed", row.text
    call_id = row.get_attribute("data-call-id")
    result = httpx.get(gateway.url(f"/v1/calls/{call_id}"),
                       headers={"Authorization": f"Bearer {gateway.keys['acme']}"}).json()["result"]
    assert result["vocabulary"]["terms"] == ["Whittemore", "Callytics Pro", "Zentrafy"]
    assert result["vocabulary"]["tenant_version"] == tenant_version
    recognized = result["vocabulary"]["recognized_with"]
    assert recognized == ["Whittemore", "Callytics Pro", "Zentrafy"]  # three short terms all fit the prompt

    driver.get(gateway.url(f"/console/calls/{call_id}"))
    section = driver.find_element(By.ID, "call-vocabulary")
    assert [c.text for c in section.find_elements(By.CSS_SELECTOR, "#call-vocabulary-terms li")] == recognized
    assert f"version {tenant_version}" in section.text and "All 3 terms of the call" in section.text
    screenshot(driver, "call-vocabulary")
