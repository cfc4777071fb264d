"""The console in a real browser (headless Debian Chromium): what a reviewer sees and does."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from callytics_ray.api.console.format import clock
from tests.console.conftest import screenshot, wait

pytestmark = pytest.mark.models


def _runs(speakers: list[str]) -> list[str]:
    """Consecutive utterances of one speaker collapsed: who spoke, turn by turn."""
    return [s for i, s in enumerate(speakers) if i == 0 or speakers[i - 1] != s]


def test_no_key_shows_the_sign_in_page_never_data(driver, gateway):
    call = gateway.call
    for path in ("/console/calls", f"/console/calls/{call['id']}"):
        driver.get(gateway.url(path))
        wait(driver).until(EC.url_contains("/console/sign-in"))
        assert driver.find_elements(By.ID, "sign-in-form")
        assert not driver.find_elements(By.CSS_SELECTOR, "#calls-table, #transcript, audio")
        assert "danger" not in driver.page_source.lower()
    # Nor the API itself, read with the browser's (empty) session.
    driver.get(gateway.url(f"/v1/calls/{call['id']}"))
    assert '"unauthorized"' in driver.page_source
    driver.get(gateway.url("/console/calls"))
    driver.find_element(By.ID, "key").send_keys("cr_00000000_not-a-key")
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    assert "not valid" in wait(driver).until(EC.visibility_of_element_located((By.ID, "sign-in-error"))).text
    screenshot(driver, "sign-in")


def test_sign_in_lists_the_call_and_signs_out(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver)
    row = driver.find_element(By.CSS_SELECTOR, f"tr[data-call-id='{call['id']}']")
    cells = {td.get_attribute("data-label"): td.text for td in row.find_elements(By.TAG_NAME, "td")}
    assert cells["Call"].startswith("synthetic_stereo_call_bleed.wav")
    assert cells["Duration"] == clock(call["duration_s"])
    assert cells["Language"] == call["language"] == "en"
    assert cells["Status"] == "completed"
    assert cells["Sentiment"].split()[0] == (call.get("sentiment_label") or "–")
    assert cells["Date"].startswith(call["created_at"][:10])
    screenshot(driver, "calls")
    driver.find_element(By.ID, "sign-out").click()
    wait(driver).until(EC.url_contains("/console/sign-in"))
    driver.get(gateway.url("/console/calls"))
    wait(driver).until(EC.url_contains("/console/sign-in"))


def test_search_narrows_the_table_and_marks_the_hit(driver, gateway, sign_in):
    sign_in(driver)
    box = driver.find_element(By.ID, "q")
    box.send_keys("bless")
    mark = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#calls-table .hit mark")))
    assert mark.text.lower() == "bless"
    assert "q=bless" in driver.current_url  # shareable, and the back button has it
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("zebra crossing")
    wait(driver).until(EC.text_to_be_present_in_element((By.ID, "call-count"), "0 calls"))
    assert not driver.find_elements(By.CSS_SELECTOR, "#calls-table tr[data-call-id]")


def test_the_call_page_shows_both_speakers_in_order(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver)
    driver.find_element(By.CSS_SELECTOR, f"tr[data-call-id='{call['id']}'] a.call-link").click()
    utterances = wait(driver).until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#transcript li.utt")))
    segments = call["result"]["segments"]
    assert [u.get_attribute("data-speaker") for u in utterances] == [s.get("speaker", "") for s in segments]
    starts = [float(u.get_attribute("data-start")) for u in utterances]
    assert starts == sorted(starts)
    # The recording alternates agent and customer, three turns each (its RTTM).
    roles = _runs([u.get_attribute("data-role") for u in utterances])
    assert roles == ["agent", "customer"] * 3
    texts = [u.find_element(By.CSS_SELECTOR, ".text").text.lower() for u in utterances]
    assert "danger trail" in texts[0] and "bless" in " ".join(texts[-2:])
    # Speaker colours: the two parties' utterances are drawn differently.
    colours = {u.get_attribute("data-role"): u.value_of_css_property("border-left-color") for u in utterances}
    assert colours["agent"] != colours["customer"]
    screenshot(driver, "call")


def test_clicking_a_word_seeks_the_audio_and_highlights_it(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver)
    driver.get(gateway.url(f"/console/calls/{call['id']}"))
    wait(driver).until(lambda d: d.execute_script("return document.getElementById('player').readyState") >= 1)
    duration = driver.execute_script("return document.getElementById('player').duration")
    assert duration == pytest.approx(call["duration_s"], abs=0.5)
    # The range endpoint makes the whole recording seekable.
    assert driver.execute_script("const p = document.getElementById('player'); return p.seekable.end(0)") >= duration - 0.5
    words = driver.find_elements(By.CSS_SELECTOR, "#transcript .w")
    word = next(w for w in words if float(w.get_attribute("data-seek")) > 8.0)
    start = float(word.get_attribute("data-seek"))
    word.click()
    wait(driver).until(lambda d: d.execute_script("return document.getElementById('player').currentTime") >= start - 0.01)
    now = driver.execute_script("const p = document.getElementById('player'); p.pause(); return p.currentTime")
    assert start - 0.01 <= now < start + 5
    current = driver.find_elements(By.CSS_SELECTOR, "#transcript .w.current")
    assert len(current) == 1 and float(current[0].get_attribute("data-seek")) <= now + 0.01
    screenshot(driver, "call-word-seek")
    # The utterance's time button does the same from the keyboard.
    button = driver.find_elements(By.CSS_SELECTOR, "#transcript .ts")[1]
    button.send_keys(Keys.ENTER)
    target = float(button.get_attribute("data-seek"))
    wait(driver).until(lambda d: abs(d.execute_script("return document.getElementById('player').currentTime") - target) < 2)


def test_the_highlight_follows_playback(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver)
    driver.get(gateway.url(f"/console/calls/{call['id']}"))
    words = wait(driver).until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#transcript .w")))
    words[0].click()
    first = float(words[0].get_attribute("data-seek"))
    # A later word lights up while the audio plays on.
    wait(driver, 30).until(lambda d: d.execute_script(
        "const w = document.querySelector('#transcript .w.current'); return w && parseFloat(w.dataset.seek)") > first + 0.5)
    driver.execute_script("document.getElementById('player').pause()")


def test_another_tenants_call_is_not_found(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver, "globex")
    assert not driver.find_elements(By.CSS_SELECTOR, f"tr[data-call-id='{call['id']}']")
    driver.get(gateway.url(f"/console/calls/{call['id']}"))
    assert driver.find_element(By.ID, "not-found").is_displayed()
    assert not driver.find_elements(By.CSS_SELECTOR, "#transcript, audio")
    driver.get(gateway.url(f"/v1/calls/{call['id']}/audio"))
    assert '"not_found"' in driver.page_source


def test_keyboard_focus_is_visible_and_phone_width_fits(driver, gateway, sign_in):
    call = gateway.call
    sign_in(driver)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("class") == "skip"
    assert focused.value_of_css_property("outline-style") != "none"
    for name, path in (("calls-phone", "/console/calls"), ("call-phone", f"/console/calls/{call['id']}")):
        driver.set_window_size(390, 844)
        driver.get(gateway.url(path))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        wide = driver.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            "window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width: {wide}"
        screenshot(driver, name)
