"""The calls table and the upload page in a real browser: filters, sort, pages and the back button
on calls stored for the purpose; one real recording uploaded through the page and followed to its
call page; a refused file; a read-only key."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from callytics_ray.api.console.flags import FLAG_LABELS
from callytics_ray.headline import CallFlag
from callytics_ray.result import (
    AnalysisResult,
    AudioResult,
    CallAnalysis,
    CallSentimentResult,
    ConflictResult,
    QualityResult,
    SegmentResult,
    SpeakerQualityResult,
)
from callytics_ray.storage import CallStatus
from tests.console.conftest import screenshot, wait

pytestmark = pytest.mark.models

# The table's own calls, in German ("de") so that `?language=de` shows exactly these, whatever else
# the session's gateway holds: id -> (agent, duration s, agent talk share, longest silence s, status).
# Saved in this order, so newest first is this order reversed.
TABLE_CALLS = {
    "de-1": ("ana", 95.0, 0.62, 2.0, CallStatus.COMPLETED),
    "de-2": ("ben", 20.0, 0.35, 14.0, CallStatus.COMPLETED),
    "de-3": ("ana", 310.0, 0.48, 1.0, CallStatus.PARTIAL),
    "de-4": ("cem", 45.0, 0.71, 11.5, CallStatus.COMPLETED),
    "de-5": ("ben", 150.0, 0.55, 3.0, CallStatus.PARTIAL),
    "de-6": ("ana", 5.0, 0.20, 0.5, CallStatus.COMPLETED),
    "de-7": ("cem", 62.0, 0.44, 25.0, CallStatus.COMPLETED),
    "de-8": ("ben", 200.0, 0.58, 4.0, CallStatus.COMPLETED),
}
NEWEST_FIRST = list(TABLE_CALLS)[::-1]
LONG_SILENCE = {k for k, v in TABLE_CALLS.items() if v[3] >= 10.0}
PARTIAL = {k for k, v in TABLE_CALLS.items() if v[4] == CallStatus.PARTIAL}


def _analysis(call_id: str, duration_s: float, agent_share: float, longest_silence_s: float, *,
              language: str = "de") -> CallAnalysis:
    speakers = [
        SpeakerQualityResult(speaker="SPEAKER_00", role="agent", talk_time_s=duration_s * agent_share,
                             talk_share=agent_share, words=40, speaking_rate_wpm=150.0, interruptions_made=0),
        SpeakerQualityResult(speaker="SPEAKER_01", role="customer", talk_time_s=duration_s * (1 - agent_share),
                             talk_share=1 - agent_share, words=30, speaking_rate_wpm=130.0, interruptions_made=0),
    ]
    return CallAnalysis(
        call_id=call_id, source=f"{call_id}.wav", language=language, language_probability=0.97,
        audio=AudioResult(duration_s=duration_s, sample_rate_hz=8000, channels=2, codec="pcm_s16le", layout="dual",
                          snr_db=28, speech_ratio=0.7, noise_reduced=False, gain_db=0.0),
        segments=[SegmentResult(start=0.0, end=3.0, text="Guten Tag, wie kann ich helfen?", speaker="SPEAKER_00",
                                role="agent")],
        sentiment=CallSentimentResult(label="neutral", score=0.05, method="test"),
        quality=QualityResult(duration_s=duration_s, talk_share_by_role={"agent": agent_share, "customer": 1 - agent_share},
                              silence_ratio=0.1, longest_silence_s=longest_silence_s, overtalk_s=0.0, overtalk_ratio=0.0,
                              speakers=speakers),
        analysis=AnalysisResult(summary="Anfrage", conflict=ConflictResult(flag=False), analyzer="offline", model="rules"),
    )


@pytest.fixture(scope="module")
def table_calls(gateway) -> dict[str, tuple]:
    """TABLE_CALLS stored for tenant acme through the store (fast: no audio, no models)."""
    store = gateway.store
    for call_id, (agent, duration, share, silence, status) in TABLE_CALLS.items():
        store.create_call(tenant="acme", call_id=call_id, source_name=f"{call_id}.wav", agent_id=agent,
                          customer_id=f"cust-{call_id[-1]}")
        store.save_analysis(_analysis(call_id, duration, share, silence), tenant="acme", status=status)
        time.sleep(0.002)  # distinct created_at, so that newest first is the order above
    return TABLE_CALLS


def _shown(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#calls-table tbody tr[data-call-id]')].map(r => r.dataset.callId)")


def _until_shown(driver, expected: list[str], timeout_s: float = 20) -> None:
    try:
        wait(driver, timeout_s).until(lambda d: _shown(d) == expected)
    except Exception:
        raise AssertionError(f"the table shows {_shown(driver)}, expected {expected}") from None


def _count(driver) -> str:
    return driver.find_element(By.ID, "call-count").text


def test_filters_narrow_the_table_and_the_back_button_restores_them(driver, gateway, sign_in, table_calls):
    sign_in(driver)
    driver.get(gateway.url("/console/calls?language=de"))
    _until_shown(driver, NEWEST_FIRST)
    assert _count(driver).startswith("1–8 of 8 calls")
    Select(driver.find_element(By.ID, "status")).select_by_value("partial")
    _until_shown(driver, [c for c in NEWEST_FIRST if c in PARTIAL])
    assert "status=partial" in driver.current_url and "language=de" in driver.current_url
    length = driver.find_element(By.ID, "min_duration_s")
    length.send_keys("200", Keys.TAB)
    _until_shown(driver, [c for c in NEWEST_FIRST if c in PARTIAL and TABLE_CALLS[c][1] >= 200])
    assert "min_duration_s=200" in driver.current_url
    screenshot(driver, "calls-filtered")
    # Back: the previous table, and the form as it was for it.
    driver.back()
    _until_shown(driver, [c for c in NEWEST_FIRST if c in PARTIAL])
    assert driver.find_element(By.ID, "min_duration_s").get_attribute("value") == ""
    assert Select(driver.find_element(By.ID, "status")).first_selected_option.get_attribute("value") == "partial"
    driver.back()
    _until_shown(driver, NEWEST_FIRST)
    assert Select(driver.find_element(By.ID, "status")).first_selected_option.get_attribute("value") == ""
    # A shared link shows the same table.
    driver.get(gateway.url("/console/calls?language=de&status=partial&min_duration_s=200"))
    _until_shown(driver, ["de-3"])


def test_the_flag_filter_and_the_flag_badges(driver, gateway, sign_in, table_calls):
    sign_in(driver)
    driver.get(gateway.url("/console/calls?language=de"))
    _until_shown(driver, NEWEST_FIRST)
    label = FLAG_LABELS[CallFlag.LONG_SILENCE.value]
    Select(driver.find_element(By.ID, "flag")).select_by_visible_text(label.label)
    _until_shown(driver, [c for c in NEWEST_FIRST if c in LONG_SILENCE])
    assert "flag=long_silence" in driver.current_url
    for row in driver.find_elements(By.CSS_SELECTOR, "#calls-table tbody tr[data-call-id]"):
        badge = row.find_element(By.CSS_SELECTOR, "td[data-label='Flags'] .flag")
        assert badge.text == label.label and badge.get_attribute("title") == label.explanation
        share = row.find_element(By.CSS_SELECTOR, "td[data-label='Agent talk']")
        expected = round(TABLE_CALLS[row.get_attribute("data-call-id")][2] * 100)
        assert share.text == f"{expected} %"
        assert float(share.find_element(By.TAG_NAME, "meter").get_attribute("value")) == pytest.approx(expected / 100, abs=0.01)
    screenshot(driver, "calls-flagged")


def test_sorting_by_duration_reorders_the_rows(driver, gateway, sign_in, table_calls):
    sign_in(driver)
    driver.get(gateway.url("/console/calls?language=de"))
    _until_shown(driver, NEWEST_FIRST)
    by_length = sorted(TABLE_CALLS, key=lambda c: TABLE_CALLS[c][1])
    driver.find_element(By.ID, "sort-duration_s").click()
    _until_shown(driver, by_length)
    header = driver.find_element(By.ID, "sort-duration_s").find_element(By.XPATH, "..")
    assert header.get_attribute("aria-sort") == "ascending" and "sort=duration_s" in driver.current_url
    # From the keyboard: the focused header link (kept focused across the swap), Enter reverses it.
    assert driver.switch_to.active_element.get_attribute("id") == "sort-duration_s"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    _until_shown(driver, by_length[::-1])
    header = driver.find_element(By.ID, "sort-duration_s").find_element(By.XPATH, "..")
    assert header.get_attribute("aria-sort") == "descending" and "sort=-duration_s" in driver.current_url
    # The filters keep the sort: narrowing the table does not reorder it.
    Select(driver.find_element(By.ID, "status")).select_by_value("completed")
    _until_shown(driver, [c for c in by_length[::-1] if c not in PARTIAL])
    assert "sort=-duration_s" in driver.current_url


def test_pages_of_a_small_size_show_their_range(driver, gateway, sign_in, table_calls):
    sign_in(driver)
    driver.get(gateway.url("/console/calls?language=de&limit=3"))
    _until_shown(driver, NEWEST_FIRST[:3])
    assert _count(driver).startswith("1–3 of 8 calls")
    driver.find_element(By.CSS_SELECTOR, ".pager a[rel=next]").click()
    _until_shown(driver, NEWEST_FIRST[3:6])
    assert _count(driver).startswith("4–6 of 8") and "offset=3" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, ".pager a[rel=next]").click()
    _until_shown(driver, NEWEST_FIRST[6:])
    assert driver.find_element(By.CSS_SELECTOR, ".page-range").text == "7–8 of 8"
    assert not driver.find_elements(By.CSS_SELECTOR, ".pager a[rel=next]")  # the last page
    driver.find_element(By.CSS_SELECTOR, ".pager a[rel=prev]").click()
    _until_shown(driver, NEWEST_FIRST[3:6])
    # Sorting starts again from the first page.
    driver.find_element(By.ID, "sort-duration_s").click()
    _until_shown(driver, sorted(TABLE_CALLS, key=lambda c: TABLE_CALLS[c][1])[:3])


def test_a_running_call_updates_in_place_until_it_finishes(driver, gateway, sign_in, table_calls):
    store = gateway.store
    store.create_call(tenant="acme", call_id="live-1", source_name="live.wav", agent_id="live-agent")
    store.set_status("live-1", CallStatus.PROCESSING)
    try:
        sign_in(driver)
        driver.get(gateway.url("/console/calls?agent_id=live-agent"))
        _until_shown(driver, ["live-1"])
        status = "#calls-table tr[data-call-id='live-1'] td[data-label='Status']"
        assert driver.find_element(By.CSS_SELECTOR, status).text == "processing"
        assert driver.find_elements(By.ID, "live-poll")
        driver.execute_script("window.__notReloaded = true")
        store.save_analysis(_analysis("live-1", 33.0, 0.5, 1.0, language="fr"), tenant="acme", status=CallStatus.COMPLETED)
        wait(driver, 15).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, status), "completed"))
        assert driver.execute_script("return window.__notReloaded === true")  # htmx swapped the rows
        assert not driver.find_elements(By.ID, "live-poll")  # and stopped polling
        assert "agent_id=live-agent" in driver.current_url and "offset" not in driver.current_url
    finally:
        if store.get_call("live-1").status == CallStatus.PROCESSING:
            store.set_status("live-1", CallStatus.FAILED, error="test ended")


def test_uploading_a_recording_follows_it_to_its_call_page(driver, gateway, sign_in, data_dir: Path):
    sign_in(driver)
    driver.find_element(By.LINK_TEXT, "Upload").click()
    wait(driver).until(EC.url_contains("/console/upload"))
    driver.find_element(By.ID, "opt-agent_id").send_keys("uploader")
    driver.find_element(By.ID, "opt-language").send_keys("en")
    driver.find_element(By.ID, "files").send_keys(str(data_dir / "stereo_diarization.wav"))
    row = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#uploads li.upload")))
    assert row.find_element(By.CSS_SELECTOR, ".upload-name").text == "stereo_diarization.wav"
    wait(driver).until(lambda d: row.find_element(By.CSS_SELECTOR, ".upload-progress").get_attribute("value") == "100")
    assert row.find_element(By.CSS_SELECTOR, ".upload-percent").text == "100 %"
    wait(driver).until(lambda d: row.get_attribute("data-call-id"))
    screenshot(driver, "upload-progress")
    wait(driver, 600).until(lambda d: row.get_attribute("data-state") in ("completed", "partial", "failed"))
    assert row.get_attribute("data-state") == "completed", row.text
    stages = row.find_elements(By.CSS_SELECTOR, ".stages li.stage")
    assert stages and {s.get_attribute("data-status") for s in stages} <= {"done", "skipped"}
    assert "done" in {s.get_attribute("data-status") for s in stages}
    assert not row.find_element(By.CSS_SELECTOR, ".upload-error").is_displayed()
    screenshot(driver, "upload-done")
    call_id = row.get_attribute("data-call-id")
    # The options went with the file.
    call = httpx.get(gateway.url(f"/v1/calls/{call_id}"), params={"include_result": "false"},
                     headers={"Authorization": f"Bearer {gateway.keys['acme']}"}).json()
    assert call["agent_id"] == "uploader" and [s["stage"] for s in call["stages"]] == \
        [s.get_attribute("data-stage") for s in stages]
    row.find_element(By.CSS_SELECTOR, "a.upload-link").click()
    wait(driver).until(EC.url_contains(f"/console/calls/{call_id}"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "stereo_diarization.wav"
    assert driver.find_elements(By.CSS_SELECTOR, "#transcript li.utt")


def test_a_file_that_is_not_audio_shows_the_apis_reason(driver, gateway, sign_in, tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_text("this is not a recording\n")
    # What the API answers for these bytes: the page must show exactly its message.
    refused = httpx.post(gateway.url("/v1/calls"), headers={"Authorization": f"Bearer {gateway.keys['acme']}"},
                         files={"file": ("x.wav", bad.read_bytes(), "audio/wav")})
    assert refused.status_code == 422
    reason = refused.json()["error"]["message"]
    sign_in(driver)
    driver.get(gateway.url("/console/upload"))
    driver.find_element(By.ID, "files").send_keys(str(bad))
    error = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#uploads li.upload .upload-error")))
    assert error.text == reason
    row = driver.find_element(By.CSS_SELECTOR, "#uploads li.upload")
    assert row.get_attribute("data-state") == "failed" and not row.get_attribute("data-call-id")
    assert not row.find_element(By.CSS_SELECTOR, "a.upload-link").is_displayed()
    screenshot(driver, "upload-refused")


def test_a_read_only_key_sees_no_upload_form(driver, gateway, sign_in):
    sign_in(driver, "globex")
    driver.get(gateway.url("/console/upload"))
    note = driver.find_element(By.ID, "upload-forbidden")
    assert note.is_displayed() and "submit" in note.text and "globex" in note.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#upload-form, input[type=file]")
    screenshot(driver, "upload-read-only")


def test_the_file_picker_is_reachable_by_keyboard_and_pages_fit_a_phone(driver, gateway, sign_in, table_calls):
    sign_in(driver)
    driver.get(gateway.url("/console/upload"))
    picker = driver.find_element(By.ID, "files")
    for _ in range(40):  # Tab through the page until the picker has the focus
        if driver.switch_to.active_element == picker:
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element == picker
    zone = driver.find_element(By.ID, "dropzone")
    assert zone.value_of_css_property("outline-style") != "none"  # the drop zone shows the focus
    for name, path in (("upload-phone", "/console/upload"), ("calls-filtered-phone", "/console/calls?language=de&flag=long_silence")):
        driver.set_window_size(390, 844)
        driver.get(gateway.url(path))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width"
        screenshot(driver, name)
