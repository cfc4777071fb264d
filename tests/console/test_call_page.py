"""The call page in a real browser: waveform and speaker lanes, sentiment per party, quality
charts, summary and flags, downloads, redactions masked, and a failed call retried for real."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from callytics_ray.api.console.transcript_view import PII_NAMES
from callytics_ray.api.deps import KEY_COOKIE
from callytics_ray.api.stored import StoredRequest, load_call_request
from callytics_ray.errors import StageError
from callytics_ray.export import FORMATS, MEDIA_TYPES
from callytics_ray.pipeline import STAGES, run_call
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus
from callytics_ray.storage.keys import create_api_key
from tests.console.conftest import screenshot, wait
from tests.synth import build_dialogue

pytestmark = pytest.mark.models

# A customer reads out an account number and a phone number (espeak-ng voices; Whisper writes
# both as digits, which redaction masks as "account_number" and "phone").
PII_CALL = [
    ("agent", "Can I have your account number please?"),
    ("customer", "Sure. My account number is seven three four one, two two five six, nine nine zero one."),
    ("agent", "Thank you. And your phone number?"),
    ("customer", "Yes, my phone number is five five five, one two three, four five six seven."),
]
FAILED_REASON = "the speech recognizer's replica stopped answering"


def _js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def _open(driver, gateway, sign_in, call_id: str, tenant: str = "acme") -> None:
    sign_in(driver, tenant)
    driver.get(gateway.url(f"/console/calls/{call_id}"))
    wait(driver).until(EC.presence_of_element_located((By.ID, "call-page")))


def _label(segment_or_party: dict) -> str:
    role, key = segment_or_party.get("role"), segment_or_party["speaker"]
    return f"{role.capitalize()} ({key})" if role else key


# --- the analysed call -----------------------------------------------------------------------


def test_the_waveform_is_drawn_with_one_lane_region_per_turn(driver, gateway, sign_in):
    call = gateway.call
    _open(driver, gateway, sign_in, call["id"])
    wait(driver, 30).until(lambda d: _js(d, "return document.getElementById('waveform').dataset.drawn") == "1")
    # wavesurfer draws into canvases in its own shadow root.
    canvases = _js(driver, """
        const host = document.querySelector('#waveform > div');
        return [...host.shadowRoot.querySelectorAll('canvas')].map(c => {
          const r = c.getBoundingClientRect(); return [c.width, c.height, r.width, r.height]; });""")
    assert any(w > 0 and h > 0 and rw > 0 and rh > 0 for w, h, rw, rh in canvases), canvases
    # The page has one player: wavesurfer plays through it, not through an <audio> of its own.
    assert _js(driver, "return document.querySelectorAll('audio').length") == 1
    segments = call["result"]["segments"]
    speakers = list(dict.fromkeys(s["speaker"] for s in segments))
    lanes = driver.find_elements(By.CSS_SELECTOR, "#timeline .lane")
    assert [lane.get_attribute("data-speaker") for lane in lanes] == speakers
    track = driver.find_element(By.ID, "waveform").rect
    for lane, speaker in zip(lanes, speakers, strict=True):
        own = [s for s in segments if s["speaker"] == speaker]
        turns = lane.find_elements(By.CSS_SELECTOR, ".turn")
        assert [float(t.get_attribute("data-seek")) for t in turns] == [s["start"] for s in own]
        label = lane.find_element(By.CSS_SELECTOR, ".tl-label").text.lower()
        assert own[0]["role"] in label and speaker.lower() in label.replace("\n", " ")
        # Each region sits where its turn is on the waveform's time axis.
        lane_track = lane.find_element(By.CSS_SELECTOR, ".lane-track").rect
        assert lane_track["x"] == pytest.approx(track["x"], abs=1) and lane_track["width"] == pytest.approx(track["width"], abs=1)
        for t, s in zip(turns, own, strict=True):
            expected = track["x"] + track["width"] * s["start"] / call["duration_s"]
            assert t.rect["x"] == pytest.approx(expected, abs=2)
    # A speaker's lane and transcript have one colour; the two parties have two.
    colours = {}
    for lane in lanes:
        speaker = lane.get_attribute("data-speaker")
        region = lane.find_element(By.CSS_SELECTOR, ".turn").value_of_css_property("background-color")
        utterance = driver.find_element(By.CSS_SELECTOR, f"#transcript li.utt[data-speaker='{speaker}']")
        assert region == utterance.value_of_css_property("border-left-color")
        colours[speaker] = region
    assert len(set(colours.values())) == len(speakers)
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, "call-page-top")


def test_clicking_a_lane_region_plays_from_that_turn(driver, gateway, sign_in):
    call = gateway.call
    _open(driver, gateway, sign_in, call["id"])
    wait(driver).until(lambda d: _js(d, "return document.getElementById('player').readyState") >= 1)
    customer = next(s for s in call["result"]["segments"] if s["role"] == "customer")
    later = [s for s in call["result"]["segments"] if s["speaker"] == customer["speaker"]][1]
    region = driver.find_element(
        By.CSS_SELECTOR, f".lane[data-speaker='{later['speaker']}'] .turn[data-seek='{later['start']}']")
    _js(driver, "arguments[0].scrollIntoView({block: 'center'})", region)
    region.click()
    wait(driver).until(lambda d: _js(d, "return document.getElementById('player').currentTime") >= later["start"] - 0.01)
    now = _js(driver, "const p = document.getElementById('player'); p.pause(); return p.currentTime")
    assert later["start"] - 0.01 <= now < later["start"] + 5
    # The cursor over the lanes follows the player.
    progress = float(_js(driver, "return getComputedStyle(document.getElementById('timeline')).getPropertyValue('--progress')"))
    assert progress == pytest.approx(now / call["duration_s"], abs=0.05)


def test_the_sentiment_chart_has_one_line_per_party_aligned_with_the_audio(driver, gateway, sign_in):
    call = gateway.call
    parties = [p for p in call["result"]["sentiment"]["speakers"] if p.get("trajectory")]
    assert len(parties) == 2
    _open(driver, gateway, sign_in, call["id"])
    wait(driver).until(lambda d: _js(d, "return !!Chart.getChart(document.getElementById('sentiment-chart'))"))
    drawn = _js(driver, """
        const chart = Chart.getChart(document.getElementById('sentiment-chart'));
        return chart.data.datasets.map((d, i) => [d.label, chart.getDatasetMeta(i).data.length,
                                                  d.data.map(p => [p.x, p.y])]);""")
    assert [(label, n) for label, n, _ in drawn] == [(_label(p), len(p["trajectory"])) for p in parties]
    for (_, _, points), party in zip(drawn, parties, strict=True):
        assert points == [[pytest.approx((w["start"] + w["end"]) / 2, abs=1e-3), w["score"]] for w in party["trajectory"]]
    # The chart's x axis is the call: its area has the waveform's left and right edges.
    area = _js(driver, """
        const canvas = document.getElementById('sentiment-chart'), chart = Chart.getChart(canvas);
        const box = canvas.getBoundingClientRect(), wave = document.getElementById('waveform').getBoundingClientRect();
        return [box.left + chart.chartArea.left, box.left + chart.chartArea.right, wave.left, wave.right,
                chart.scales.x.min, chart.scales.x.max];""")
    assert area[0] == pytest.approx(area[2], abs=3) and area[1] == pytest.approx(area[3], abs=3), area
    assert area[4] == 0 and area[5] == pytest.approx(call["duration_s"], abs=0.01)
    alt = driver.find_element(By.ID, "sentiment-alt").text
    assert all(_label(p) in alt for p in parties)


def test_the_quality_panel_is_small_charts_with_their_numbers_in_words(driver, gateway, sign_in):
    call = gateway.call
    quality = call["result"]["quality"]
    _open(driver, gateway, sign_in, call["id"])
    figures = driver.find_elements(By.CSS_SELECTOR, "#quality figure.mini-chart")
    titles = [f.find_element(By.TAG_NAME, "h3").text for f in figures]
    assert titles == ["Talk share", "Silence and overtalk", "Interruptions made", "Speaking rate", "Response latency",
                      "Talk speed over the call", "Loudness"]
    bar_figures, line_figures = figures[:5], figures[5:]
    for figure in bar_figures:
        canvas = figure.find_element(By.TAG_NAME, "canvas")
        bars = wait(driver).until(lambda d: _js(d, """
            const chart = Chart.getChart(arguments[0]); if (!chart) return null;
            return chart.data.datasets.map((d, i) => chart.getDatasetMeta(i).data.length);""", canvas))
        labels = _js(driver, "return Chart.getChart(arguments[0]).data.labels.length", canvas)
        assert bars and all(n == labels > 0 for n in bars), (figure.text, bars, labels)
        assert canvas.size["width"] > 100 and canvas.size["height"] > 100
        assert figure.find_element(By.CSS_SELECTOR, "p.alt").text in canvas.get_attribute("aria-label")
    alts = {t: f.find_element(By.CSS_SELECTOR, "p.alt").text for t, f in zip(titles, figures, strict=True)}
    for party in quality["speakers"]:
        assert f"{_label(party)} {round(100 * party['talk_share'], 1):g}%" in alts["Talk share"]
        made = party["interruptions_made"]
        assert f"{_label(party)} interrupted {made} time" in alts["Interruptions made"]
        assert f"{_label(party)} {party['speaking_rate_wpm']:.0f} words per minute" in alts["Speaking rate"]
    assert f"the longest {quality['longest_silence_s']:.1f} s" in alts["Silence and overtalk"]
    for row in quality["response_latency"]:
        assert f"max {row['max_s']:.2f} s" in alts["Response latency"]
    assert f"non-talk time {quality['non_talk_time_s']:.1f} s" in alts["Silence and overtalk"]
    # Talk speed and loudness over the call: one line per party, a point per window / utterance.
    for figure, field in zip(line_figures, ("talk_speed", "loudness"), strict=True):
        canvas = figure.find_element(By.TAG_NAME, "canvas")
        lines = wait(driver).until(lambda d: _js(d, """
            const chart = Chart.getChart(arguments[0]); if (!chart) return null;
            return chart.data.datasets.map((d, i) => [d.label, chart.getDatasetMeta(i).data.length]);""", canvas))
        assert lines == [[_label(p), len(p[field])] for p in quality["speakers"]], (figure.text, lines)
        assert all(n > 0 for _, n in lines) and canvas.size["width"] > 100 and canvas.size["height"] > 100
    for party in quality["speakers"]:
        assert f"{_label(party)} {party['loudness_lufs']:.1f} LUFS" in alts["Loudness"]
    # Response latency: mean, median and max per direction.
    latency = figures[4].find_element(By.TAG_NAME, "canvas")
    assert _js(driver, "return Chart.getChart(arguments[0]).data.datasets.map(d => d.label)", latency) == ["mean", "median", "max"]
    _js(driver, "document.getElementById('quality').scrollIntoView()")
    screenshot(driver, "call-page-quality")


def test_the_summary_panel_and_the_flags(driver, gateway, sign_in):
    call = gateway.call
    analysis = call["result"]["analysis"]
    _open(driver, gateway, sign_in, call["id"])
    summary = driver.find_element(By.ID, "summary")
    assert summary.find_element(By.CSS_SELECTOR, ".summary-text").text == analysis["summary"]
    assert [c.text for c in summary.find_elements(By.CSS_SELECTOR, "#topics .chip")] == analysis["topics"]
    assert driver.find_element(By.ID, "resolved").text == {True: "yes", False: "no"}.get(analysis.get("resolved"), "unknown")
    if analysis.get("satisfaction"):
        assert driver.find_element(By.ID, "satisfaction").text.endswith(f"{analysis['satisfaction']} of 5")
    assert driver.find_element(By.ID, "conflict").text == ("yes" if analysis["conflict"]["flag"] else "no")
    evidence = summary.find_elements(By.CSS_SELECTOR, "#conflict-evidence li")
    assert [e.text for e in evidence] == analysis["conflict"]["evidence"]
    if analysis["action_items"]:
        assert [li.text for li in summary.find_elements(By.CSS_SELECTOR, "#action-items li")] == analysis["action_items"]
    else:
        assert driver.find_element(By.ID, "action-items").text == "None."
    by = driver.find_element(By.ID, "analyzer").text
    assert analysis["analyzer"] in by and analysis["model"] in by
    badges = driver.find_elements(By.CSS_SELECTOR, "#call-flags .flag")
    assert [b.get_attribute("data-flag") for b in badges] == call["flags"] and call["flags"]
    assert all(b.text for b in badges)


def test_every_download_answers_with_its_content_type(driver, gateway, sign_in):
    call = gateway.call
    _open(driver, gateway, sign_in, call["id"])
    links = driver.find_elements(By.CSS_SELECTOR, "#downloads a")
    assert all(a.get_attribute("download") is not None for a in links)
    hrefs = [a.get_attribute("href") for a in links]
    expected = {gateway.url(f"/v1/calls/{call['id']}/transcript?format={f}"): MEDIA_TYPES[f] for f in FORMATS}
    expected[gateway.url(f"/v1/calls/{call['id']}")] = "application/json"
    expected[gateway.url(f"/v1/calls/{call['id']}/audio")] = "audio/wav"
    assert sorted(hrefs) == sorted(expected)
    # The browser's own session cookie is what authorizes these GETs.
    cookie = {c["name"]: c["value"] for c in driver.get_cookies()}[KEY_COOKIE]
    with httpx.Client(cookies={KEY_COOKIE: cookie}, timeout=30) as client:
        for href in hrefs:
            response = client.get(href)
            assert response.status_code == 200, href
            assert response.headers["content-type"] == expected[href], href
            assert response.content, href
        result = client.get(gateway.url(f"/v1/calls/{call['id']}/transcript?format=json")).text
        audio = client.get(gateway.url(f"/v1/calls/{call['id']}/audio")).content
    assert CallAnalysis.model_validate_json(result).segments == CallAnalysis.model_validate(call["result"]).segments
    assert audio[:4] == b"RIFF"
    screenshot(driver, "call-page-downloads")


def test_the_transcript_at_desktop_and_the_page_at_phone_width(driver, gateway, sign_in):
    call = gateway.call
    _open(driver, gateway, sign_in, call["id"])
    _js(driver, "document.getElementById('transcript-h').scrollIntoView()")
    screenshot(driver, "call-page-transcript")
    driver.set_window_size(390, 844)
    driver.get(gateway.url(f"/console/calls/{call['id']}"))
    wait(driver, 30).until(lambda d: _js(d, "return document.getElementById('waveform').dataset.drawn") == "1")
    overflow = _js(driver, "return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the call page scrolls sideways by {overflow}px at phone width"
    # The lanes and the chart still line up with the waveform.
    wave = driver.find_element(By.ID, "waveform").rect
    for track in driver.find_elements(By.CSS_SELECTOR, ".lane-track"):
        assert track.rect["x"] == pytest.approx(wave["x"], abs=1)
    screenshot(driver, "call-page-phone")


# --- a failed call, retried ------------------------------------------------------------------


@pytest.fixture()
def failed_call(gateway, data_dir) -> str:
    """A real recording stored as submitted, whose run failed at ASR, recorded as run_call does."""
    audio = (data_dir / "stereo_diarization.wav").read_bytes()
    store = gateway.store
    record, _ = store.create_call(
        tenant="acme", source_name="stereo_diarization.wav", audio=audio, content_type="audio/wav",
        request_json=StoredRequest(content_type="audio/wav").model_dump_json(exclude_none=True), stages=STAGES,
    )
    store.set_status(record.id, CallStatus.PROCESSING)
    store.set_stage(record.id, "audio", "running")
    store.set_stage(record.id, "audio", "done", seconds=0.04)
    store.set_stage(record.id, "diarization", "running")
    store.set_stage(record.id, "diarization", "done", seconds=0.6)
    message = str(StageError("asr", FAILED_REASON))
    for _ in range(3):  # the retry policy's three attempts
        store.set_stage(record.id, "asr", "running")
    store.set_stage(record.id, "asr", "failed", error=message, seconds=7.5)
    # As run_call's _finish: the stages' errors joined "stage: message", the analysis so far.
    store.save_analysis(CallAnalysis(call_id=record.id, source="stereo_diarization.wav", errors={"asr": message},
                                     timings={"audio": 0.04, "diarization": 0.6}),
                        tenant="acme", status=CallStatus.FAILED, error=f"asr: {message}")
    return record.id


def test_a_key_without_submit_sees_the_failure_but_no_retry(driver, gateway, sign_in, failed_call):
    if "acme_reader" not in gateway.keys:
        gateway.keys["acme_reader"], _ = create_api_key(gateway.store.engine, tenant="acme", scopes=("read",))
    _open(driver, gateway, sign_in, failed_call, tenant="acme_reader")
    assert FAILED_REASON in driver.find_element(By.ID, "call-error").text
    assert not driver.find_elements(By.ID, "retry")
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        refused = client.post(f"/v1/calls/{failed_call}/retry", headers={"Authorization": f"Bearer {gateway.keys['acme_reader']}"})
    assert refused.status_code == 403
    # Another tenant does not see the call at all.
    sign_in(driver, "globex")
    driver.get(gateway.url(f"/console/calls/{failed_call}"))
    assert driver.find_elements(By.ID, "not-found") and not driver.find_elements(By.ID, "retry")


def test_a_failed_call_shows_its_reason_and_retries_until_it_completes(driver, gateway, sign_in, failed_call):
    _open(driver, gateway, sign_in, failed_call)
    assert driver.find_element(By.ID, "call-status").text == "failed"
    assert FAILED_REASON in driver.find_element(By.ID, "call-error").text
    asr = driver.find_element(By.CSS_SELECTOR, "#stages li[data-stage='asr']")
    assert "failed" in asr.find_element(By.CSS_SELECTOR, ".stage-status").text
    assert asr.find_element(By.CSS_SELECTOR, ".stage-attempts").text == "3 attempts"
    assert FAILED_REASON in asr.find_element(By.CSS_SELECTOR, ".stage-error").text
    assert driver.find_element(By.CSS_SELECTOR, "#stages li[data-stage='audio'] .stage-secs").text == "0.04 s"
    assert not driver.find_elements(By.ID, "transcript")
    screenshot(driver, "call-failed")
    driver.find_element(By.ID, "retry").click()
    # The retry's answer (queued) shows at once; the page then follows the run.
    wait(driver).until(lambda d: d.find_element(By.ID, "call-status").text in ("queued", "processing"))
    assert not driver.find_elements(By.ID, "call-error")
    # ...and reloads with the result once the call is done (the pipeline runs on the stored audio).
    utterances = wait(driver, 300).until(
        EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#transcript li.utt")))
    assert driver.find_element(By.ID, "call-status").text == "completed"
    assert not driver.find_elements(By.ID, "retry")
    assert len({u.get_attribute("data-speaker") for u in utterances}) == 2  # one speaker per channel
    states = [li.find_element(By.CSS_SELECTOR, ".stage-status").get_attribute("textContent")
              for li in driver.find_elements(By.CSS_SELECTOR, "#stages li")]
    assert states and all(s in ("done", "skipped") for s in states), states
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        body = client.get(f"/v1/calls/{failed_call}", headers={"Authorization": f"Bearer {gateway.keys['acme']}"}).json()
    assert body["status"] == "completed" and body["result"]["segments"]
    screenshot(driver, "call-retried")


def test_a_running_call_shows_its_stages_live_and_loads_the_result(driver, gateway, sign_in, data_dir,
                                                                   local_stages, model_cache):
    audio = (data_dir / "stereo_diarization.wav").read_bytes()
    record, _ = gateway.store.create_call(
        tenant="acme", source_name="live.wav", audio=audio, content_type="audio/wav",
        request_json=StoredRequest(content_type="audio/wav").model_dump_json(exclude_none=True), stages=STAGES)
    _open(driver, gateway, sign_in, record.id)
    assert driver.find_element(By.ID, "call-status").text == "queued"
    assert "this page follows its stages" in driver.find_element(By.ID, "progress-note").text
    # A worker (here: this test, as another replica would) runs the call; the page follows the database.
    worker = threading.Thread(target=asyncio.run, args=(run_call(
        load_call_request(gateway.store, record.id), local_stages,
        settings=Settings(cache_dir=model_cache, _env_file=None), store=gateway.store),))
    worker.start()
    try:
        wait(driver, 60).until(lambda d: d.find_element(By.ID, "call-status").text == "processing")
        assert not driver.find_elements(By.ID, "transcript")
        utterances = wait(driver, 300).until(
            EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#transcript li.utt")))
    finally:
        worker.join(timeout=300)
    assert utterances and driver.find_element(By.ID, "call-status").text == "completed"
    assert gateway.store.get_call(record.id).status == "completed"


# --- redactions ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pii_calls(gateway, data_dir, local_stages, model_cache, tmp_path_factory) -> dict[str, dict]:
    """The same real dialogue analysed twice with redaction on: as the gateway stores it (masked
    text), and by a deployment that stores the original text and only the spans."""
    path = tmp_path_factory.mktemp("pii") / "account_and_phone.wav"
    build_dialogue(PII_CALL, path)
    headers = {"Authorization": f"Bearer {gateway.keys['acme']}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=600) as client:
        response = client.post("/v1/calls", params={"wait": "true", "timeout_s": 590},
                               files={"file": (path.name, path.read_bytes(), "audio/wav")})
        assert response.status_code in (200, 202), response.text
        masked_id = response.json()["id"]
        raw = Settings(cache_dir=model_cache, _env_file=None)
        raw = raw.model_copy(update={"redaction": raw.redaction.model_copy(update={"before_storage": False})})
        record, _ = gateway.store.create_call(tenant="acme", source_name="unmasked_" + path.name, audio=path.read_bytes(),
                                              content_type="audio/wav", stages=STAGES)
        asyncio.run(run_call(load_call_request(gateway.store, record.id), local_stages, settings=raw, store=gateway.store))
        calls = {}
        for name, call_id in (("masked", masked_id), ("raw", record.id)):
            deadline = time.monotonic() + 600
            while (body := client.get(f"/v1/calls/{call_id}").json())["status"] not in ("completed", "partial", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert body["status"] == "completed", body
            calls[name] = body
    return calls


def _hidden(call: dict) -> list[str]:
    """What each redaction span covers in the stored text."""
    segments = call["result"]["segments"]
    return [segments[r["segment"]]["text"][r["start"]:r["end"]] for r in call["result"].get("redactions", [])]


@pytest.mark.parametrize("stored", ["masked", "raw"])
def test_redacted_spans_are_masked_in_text_and_words(driver, gateway, sign_in, pii_calls, stored):
    call = pii_calls[stored]
    spans = call["result"].get("redactions", [])
    assert {r["type"] for r in spans} >= {"phone"}, f"the recognizer wrote no phone number: {call['result']['segments']}"
    hidden = _hidden(call)
    if stored == "raw":  # the stored text has the digits: only the page masks them
        assert all(any(ch.isdigit() for ch in h) for h in hidden), hidden
    else:
        assert all(h.startswith("[") and h.endswith("]") for h in hidden), hidden
    _open(driver, gateway, sign_in, call["id"])
    transcript = driver.find_element(By.ID, "transcript")
    text = driver.find_element(By.TAG_NAME, "body").text
    for h in hidden:
        assert h not in text and h not in driver.page_source
    # Nor any digit of a word the spans cover (the words carry them when the text was not masked).
    digits = [w["text"].strip(" .,") for s in call["result"]["segments"] for w in s["words"]
              if any(ch.isdigit() for ch in w["text"])]
    shown = [w.text for w in transcript.find_elements(By.CSS_SELECTOR, ".w")]
    assert not any(any(ch.isdigit() for ch in w) for w in shown), shown
    masks = transcript.find_elements(By.CSS_SELECTOR, ".redacted")
    assert len(masks) == len(spans)
    assert [m.get_attribute("title") for m in masks] == [f"{PII_NAMES[r['type']]} redacted" for r in spans]
    assert all(m.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)" for m in masks)
    # A mask is a word of the transcript: it seeks to when the span was said.
    first = masks[0]
    assert float(first.get_attribute("data-seek")) == pytest.approx(spans[0]["start_s"], abs=0.01)
    if stored == "raw":
        assert digits, "the unmasked words hold the digits the page must hide"
        assert "pii" in [b.get_attribute("data-flag") for b in driver.find_elements(By.CSS_SELECTOR, "#call-flags .flag")]
    _js(driver, "arguments[0].scrollIntoView()", transcript)
    screenshot(driver, f"call-redacted-{stored}")


def test_the_scorecard_shows_each_item_with_evidence_that_plays_the_call(driver, gateway, sign_in):
    call_id = gateway.call["id"]
    admin, _ = create_api_key(gateway.store.engine, tenant="acme", scopes=("read", "submit", "admin"))
    rubric = {"description": "console test", "items": [
        {"id": "trail", "description": "Mentions the danger trail", "check": {"kind": "rule", "rule": {
            "kind": "phrase", "phrases": ["danger trail"]}}},
        {"id": "refund", "description": "Offers a refund", "check": {"kind": "rule", "rule": {
            "kind": "phrase", "speaker": "agent", "phrases": ["refund"]}}},
    ]}
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {admin}"}, timeout=60) as client:
        assert client.put("/v1/rubrics/console-test", json=rubric).status_code in (200, 201)
        rescored = client.post(f"/v1/calls/{call_id}/scorecard:rescore")
        assert rescored.status_code == 200, rescored.text
        card = next(c for c in rescored.json()["scorecards"] if c["rubric"] == "console-test")
        categories = client.get(f"/v1/calls/{call_id}/categories").json()["categories"]
    statuses = {i["id"]: i["status"] for i in card["items"]}
    assert statuses == {"trail": "pass", "refund": "fail"}, card
    _open(driver, gateway, sign_in, call_id)
    panel = driver.find_element(By.CSS_SELECTOR, "#scorecard .rubric[data-rubric='console-test']")
    shown = {li.get_attribute("data-item"): li.find_element(By.CSS_SELECTOR, ".item-status").text
             for li in panel.find_elements(By.CSS_SELECTOR, "li.item")}
    assert shown == {"trail": "PASS", "refund": "FAIL"}
    assert panel.find_element(By.CSS_SELECTOR, ".rubric-score").text.startswith(f"{card['score']:.0f}")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#categories li.category")) == len(categories)
    # The passing item's evidence is the words as said, and plays the call from them.
    evidence = panel.find_element(By.CSS_SELECTOR, "li.item[data-item='trail'] .evidence-list button[data-seek]")
    start = next(i for i in card["items"] if i["id"] == "trail")["evidence"][0]["start"]
    assert "danger trail" in panel.find_element(By.CSS_SELECTOR, "li.item[data-item='trail'] .evidence-list").text.lower()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", evidence)
    evidence.click()
    wait(driver).until(lambda d: abs(_js(d, "return document.getElementById('player').currentTime") - start) < 0.3)
    screenshot(driver, "call-page-scorecard")
