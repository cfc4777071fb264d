"""The call drivers page in a real browser: calls per driver and their trend as charts, each
driver's keyphrases and example calls linking to the call page, tenancy, phone width."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from tests.analytics.test_drivers import theme_calls
from tests.console.conftest import Gateway, screenshot, wait

pytestmark = pytest.mark.models

# The themed calls lie in 4-17 March 2024 (tests/analytics/test_drivers.py); other console tests'
# calls are in May 2024 or today, so this range holds only these.
RANGE = "from=2024-03-04&to=2024-03-17"


@pytest.fixture(scope="module")
def themed(gateway: Gateway) -> Gateway:
    theme_calls(gateway.store)
    return gateway


def _bars(driver, canvas_id: str) -> list:
    return driver.execute_script(
        "const c = Chart.getChart(document.getElementById(arguments[0]));"
        "return c ? c.data.datasets.map(d => d.data) : null", canvas_id)


def test_the_drivers_page_charts_why_customers_called(driver, themed, sign_in):
    sign_in(driver)
    driver.get(themed.url(f"/console/drivers?{RANGE}"))
    driver.find_element(By.LINK_TEXT, "Drivers")
    assert driver.find_element(By.LINK_TEXT, "Drivers").get_attribute("aria-current") == "page"
    rows = driver.find_elements(By.CSS_SELECTOR, "#drivers-table tbody tr[data-driver]")
    counts = [int(r.find_element(By.CSS_SELECTOR, "td[data-label=Calls]").text) for r in rows]
    assert sum(counts) == 32 and len([r for r in rows if r.get_attribute("data-driver") != "other"]) == 4
    assert "32 calls in" in driver.find_element(By.ID, "driver-count").text
    # The counts chart has a bar per driver; the trend stacks each driver's calls per week.
    wait(driver).until(lambda d: _bars(d, "driver-counts") is not None)
    assert _bars(driver, "driver-counts") == [counts]
    weekly = _bars(driver, "driver-trend")
    assert len(weekly) == len(rows) and all(len(w) == 2 for w in weekly)
    assert [sum(w) for w in weekly] == counts
    keyphrases = " ".join(r.find_element(By.CSS_SELECTOR, "td[data-label=Keyphrases]").text for r in rows)
    assert "card" in keyphrases and "address" in keyphrases
    screenshot(driver, "drivers")
    # Per day: 14 bars; an example call opens its call page.
    Select(driver.find_element(By.ID, "bucket")).select_by_value("day")
    driver.find_element(By.CSS_SELECTOR, "#drivers-range button[type=submit]").click()
    wait(driver).until(EC.url_contains("bucket=day"))
    wait(driver).until(lambda d: (_bars(d, "driver-trend") or [[]])[0].__len__() == 14)
    example = driver.find_element(By.CSS_SELECTOR, "#drivers-table ul.examples a")
    href = example.get_attribute("href")
    assert "/console/calls/" in href
    example.click()
    wait(driver).until(EC.url_to_be(href))


def test_another_tenant_sees_none_of_these_drivers(driver, themed, sign_in):
    sign_in(driver, "globex")
    driver.get(themed.url(f"/console/drivers?{RANGE}"))
    assert "No analysed calls with a reason" in driver.find_element(By.ID, "no-drivers").text
    assert not driver.find_elements(By.CSS_SELECTOR, "canvas, #drivers-table")


def test_the_drivers_page_fits_a_phone(driver, themed, sign_in):
    sign_in(driver)
    driver.set_window_size(390, 844)
    driver.get(themed.url(f"/console/drivers?{RANGE}"))
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the drivers page scrolls sideways by {overflow}px at phone width"
    screenshot(driver, "drivers-phone")
