"""The agents and experiments pages in a real browser: figures of stored analyses as a reviewer
reads them, trend charts with a point per day or week, tenancy, and the empty experiment."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from callytics_ray.storage import CallStatus
from tests.console.conftest import Gateway, screenshot, wait
from tests.storage.agent_calls import store_agent_call

pytestmark = pytest.mark.models

ADA, BO = "agent-ada", "agent-bo"
TREND_CHARTS = ("calls", "mean_sentiment_score", "mean_agent_talk_share", "mean_agent_interruptions",
                "mean_agent_speaking_rate_wpm")


def may(day: int, hour: int = 12) -> datetime:
    """May 2024, UTC: the 6th and the 13th are Mondays."""
    return datetime(2024, 5, day, hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def agents(gateway: Gateway) -> Gateway:
    """Six analysed acme calls: ada on three days of two weeks, bo on two days."""
    store = gateway.store
    for call_id, agent, when, duration, sentiment, share, interruptions, rate in (
        ("ada-1", ADA, may(6, 9), 60, 0.4, 0.6, 2, 150),
        ("ada-2", ADA, may(6, 15), 120, 0.0, 0.4, 0, 130),
        ("ada-3", ADA, may(8), 90, -0.4, 0.5, 1, 170),
        ("ada-4", ADA, may(13), 30, 0.6, 0.7, 3, 150),
        ("bo-1", BO, may(7), 45, -0.5, 0.3, 4, 110),
        ("bo-2", BO, may(9), 75, -0.3, 0.5, 2, 130),
    ):
        store_agent_call(store, call_id, agent=agent, when=when, duration=duration, sentiment=sentiment,
                         talk_share=share, interruptions=interruptions, rate_wpm=rate)
    return gateway


def _cells(row) -> dict[str, str]:
    return {td.get_attribute("data-label"): td.text for td in row.find_elements(By.TAG_NAME, "td")}


def _drawn_points(driver, canvas_id: str) -> int | None:
    return driver.execute_script(
        "const c = Chart.getChart(document.getElementById(arguments[0]));"
        "return c ? c.getDatasetMeta(0).data.length : null", canvas_id)


def test_the_agents_table_shows_each_agents_figures(driver, agents, sign_in):
    sign_in(driver)
    driver.get(agents.url("/console/agents"))
    assert driver.find_element(By.LINK_TEXT, "Agents").get_attribute("aria-current") == "page"
    rows = driver.find_elements(By.CSS_SELECTOR, "#agents-table tbody tr[data-agent-id]")
    order = [r.get_attribute("data-agent-id") for r in rows]
    assert order.index(ADA) < order.index(BO)  # most calls first
    ada = _cells(driver.find_element(By.CSS_SELECTOR, f"tr[data-agent-id='{ADA}']"))
    # ada: 4 calls, 60+120+90+30 s; means (0.4+0-0.4+0.6)/4, (.6+.4+.5+.7)/4, (2+0+1+3)/4, (150+130+170+150)/4.
    assert ada == {"Agent": ADA, "Calls handled": "4", "Total duration": "5:00", "Mean sentiment": "+0.15",
                   "Agent talk share": "55%", "Interruptions per call": "1.5", "Speaking rate": "150 wpm"}
    bo = _cells(driver.find_element(By.CSS_SELECTOR, f"tr[data-agent-id='{BO}']"))
    assert bo == {"Agent": BO, "Calls handled": "2", "Total duration": "2:00", "Mean sentiment": "-0.40",
                  "Agent talk share": "40%", "Interruptions per call": "3.0", "Speaking rate": "120 wpm"}
    screenshot(driver, "agents")
    # Sorted by interruptions, bo comes first; a date range keeps only the calls in it.
    driver.find_element(By.LINK_TEXT, "Interruptions per call").click()
    wait(driver).until(EC.url_contains("sort=mean_agent_interruptions"))
    order = [r.get_attribute("data-agent-id") for r in driver.find_elements(By.CSS_SELECTOR, "#agents-table tr[data-agent-id]")]
    assert order.index(BO) < order.index(ADA)
    driver.get(agents.url("/console/agents?from=2024-05-08&to=2024-05-12"))
    ada = _cells(driver.find_element(By.CSS_SELECTOR, f"tr[data-agent-id='{ADA}']"))
    assert (ada["Calls handled"], ada["Mean sentiment"], ada["Total duration"]) == ("1", "-0.40", "1:30")
    assert driver.find_element(By.ID, "from").get_attribute("value") == "2024-05-08"
    assert not driver.find_elements(By.CSS_SELECTOR, "tr[data-agent-id='aew']")  # its call is from today


def test_an_agents_page_draws_a_trend_per_metric(driver, agents, sign_in):
    sign_in(driver)
    driver.get(agents.url("/console/agents"))
    driver.find_element(By.CSS_SELECTOR, f"tr[data-agent-id='{ADA}'] a.agent-link").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "agent-trends")))
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Agent {ADA}"
    facts = {d.get_attribute("data-field"): d.find_element(By.TAG_NAME, "dd").text
             for d in driver.find_elements(By.CSS_SELECTOR, "#agent-facts > div")}
    assert (facts["calls"], facts["mean_agent_talk_share"], facts["total_duration_s"]) == ("4", "55%", "5:00")
    # Per day: the 6th (two calls), the 8th and the 13th.
    for metric in TREND_CHARTS:
        wait(driver).until(lambda d, m=metric: _drawn_points(d, f"trend-{m}") == 3)
    assert driver.execute_script(
        "return Chart.getChart(document.getElementById('trend-calls')).data.datasets[0].data") == [2, 1, 1]
    assert driver.execute_script(
        "return Chart.getChart(document.getElementById('trend-mean_sentiment_score')).data.datasets[0].data"
        ".map(p => p.y)") == [pytest.approx(0.2), pytest.approx(-0.4), pytest.approx(0.6)]
    link = driver.find_element(By.ID, "agent-calls")
    assert link.get_attribute("href") == agents.url(f"/console/calls?agent={ADA}")
    screenshot(driver, "agent")
    # Per week: the week of the 6th (three calls) and of the 13th.
    Select(driver.find_element(By.ID, "bucket")).select_by_value("week")
    driver.find_element(By.CSS_SELECTOR, "#agent-range button[type=submit]").click()
    wait(driver).until(EC.url_contains("bucket=week"))
    for metric in TREND_CHARTS:
        wait(driver).until(lambda d, m=metric: _drawn_points(d, f"trend-{m}") == 2)
    assert driver.execute_script(
        "return Chart.getChart(document.getElementById('trend-calls')).data.datasets[0].data") == [3, 1]


def test_another_tenant_sees_none_of_these_agents(driver, agents, sign_in):
    sign_in(driver, "globex")
    driver.get(agents.url("/console/agents"))
    assert driver.find_element(By.ID, "agents-table").is_displayed()
    assert not driver.find_elements(By.CSS_SELECTOR, "#agents-table tr[data-agent-id]")
    assert "No calls name an agent" in driver.find_element(By.ID, "agents-table").text
    driver.get(agents.url(f"/console/agents/{ADA}"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Agent not found"
    assert not driver.find_elements(By.CSS_SELECTOR, "canvas, #agent-facts")


def test_the_agent_pages_fit_a_phone(driver, agents, sign_in):
    sign_in(driver)
    driver.set_window_size(390, 844)
    for name, path in (("agents-phone", "/console/agents"), ("agent-phone", f"/console/agents/{ADA}")):
        driver.get(agents.url(path))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width"
        screenshot(driver, name)


@pytest.fixture(scope="module")
def experiment(gateway: Gateway) -> Gateway:
    """Four acme calls of two recognizer variants, with their recognition seconds; one failed."""
    store = gateway.store
    for call_id, variant, asr_s, status in (
        ("ab-base-1", "base", 6.0, CallStatus.COMPLETED), ("ab-base-2", "base", 9.0, CallStatus.COMPLETED),
        ("ab-tiny-1", "tiny", 3.0, CallStatus.COMPLETED), ("ab-tiny-2", "tiny", None, CallStatus.FAILED),
    ):
        analysed = status == CallStatus.COMPLETED
        store_agent_call(store, call_id, agent=None, when=may(20), variant=variant, duration=30.0, analysed=analysed)
        if asr_s is not None:
            store.set_stage(call_id, "asr", "done", seconds=asr_s)
        if not analysed:
            store.set_status(call_id, status, error="asr: out of memory")
    return gateway


def test_the_experiments_page_compares_the_variants(driver, experiment, sign_in):
    sign_in(driver)
    driver.get(experiment.url("/console/agents"))
    driver.find_element(By.LINK_TEXT, "Experiments").click()
    wait(driver).until(EC.presence_of_element_located((By.ID, "variants-table")))
    base = _cells(driver.find_element(By.CSS_SELECTOR, "tr[data-variant='base']"))
    tiny = _cells(driver.find_element(By.CSS_SELECTOR, "tr[data-variant='tiny']"))
    # base: 6 and 9 s of recognition for 30 s calls -> (0.2 + 0.3) / 2; tiny: 3 s, and one call failed.
    assert (base["Calls"], base["Failed"], base["Failure rate"], base["Real-time factor"]) == ("2", "0", "0%", "0.250")
    assert (tiny["Calls"], tiny["Failed"], tiny["Failure rate"], tiny["Real-time factor"]) == ("2", "1", "50%", "0.100")
    assert base["Confidence"] == tiny["Confidence"] == "0.900"  # every stored word has 0.9
    assert base["ASR s, mean / p95"].startswith("7.50 / ")
    canvases = [c.get_attribute("id") for c in driver.find_elements(By.CSS_SELECTOR, "#variant-charts canvas")]
    assert {"chart-calls", "chart-failure-rate", "chart-confidence", "chart-rtf", "chart-latency"} <= set(canvases)
    for canvas in canvases:  # a bar per variant
        wait(driver).until(lambda d, c=canvas: _drawn_points(d, c) == 2)
    assert driver.execute_script(
        "return Chart.getChart(document.getElementById('chart-failure-rate')).data.datasets[0].data") == [0, 0.5]
    screenshot(driver, "experiments")
    driver.set_window_size(390, 844)
    driver.refresh()
    wait(driver).until(lambda d: _drawn_points(d, "chart-calls") == 2)
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the experiments page scrolls sideways by {overflow}px at phone width"
    screenshot(driver, "experiments-phone")


def test_without_variant_calls_the_page_says_no_experiment_ran(driver, experiment, sign_in):
    sign_in(driver, "globex")
    driver.get(experiment.url("/console/experiments"))
    empty = driver.find_element(By.ID, "no-experiment")
    assert "No experiment has run yet" in empty.text and "api.variants" in empty.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#variants-table, canvas")
    screenshot(driver, "experiments-empty")
