"""Redacted audio end to end: a real dual-channel recording with a card number read out goes
through the real local pipeline (once), and no sample of a PII span survives in the copy the API
serves by default.

No shared recording has spoken PII, so one is made: `stereo_diarization.wav` (real speech, one
speaker per channel, 16 kHz PCM16) followed by an espeak-ng customer reading a card number on the
right channel, joined with sox. The copy is lossless (FLAC), so every sample is checked, on both
channels: inside each padded span it is exactly the documented bleep, outside it is exactly the
original (both decoded with libsndfile, not the code under test).
"""

from __future__ import annotations

import asyncio
import io
import math
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.api.retention import RetentionSweep
from callytics_ray.audio.redact import AudioSpan, redact_recording
from callytics_ray.settings import AudioRedactionOptions, Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import create_api_key

pytestmark = pytest.mark.models

PHRASE = ("My card number is four five three nine, one four eight eight, zero three four three, six four six "
          "seven.")  # 4539 1488 0343 6467 passes the card check; varied digits, so no loop guard drops them
PII_TYPES = {"card", "account_number", "number_sequence"}


def _build_recording(real: Path, out: Path) -> tuple[float, float]:
    """`real` then, after 0.6 s, the espeak-ng phrase on the right channel; (phrase start, end) s."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.fail("espeak-ng and sox are needed (scripts/setup.sh installs them)")
    spoken, phrase = out.with_name("spoken.wav"), out.with_name("phrase.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(spoken), PHRASE], check=True, capture_output=True)
    # 16 kHz PCM16 like the recording; left channel silent (remix 0), the voice on the right.
    subprocess.run(["sox", str(spoken), "-r", "16000", "-b", "16", "-e", "signed-integer", str(phrase),
                    "remix", "0", "1", "pad", "0.6", "0.5"], check=True, capture_output=True)
    subprocess.run(["sox", str(real), str(phrase), str(out)], check=True, capture_output=True)
    real_s = sf.info(str(real)).duration
    return real_s + 0.6, sf.info(str(out)).duration - 0.5


@pytest.fixture(scope="module")
def pii_call(tmp_path_factory, stereo_call_path, model_cache, local_stages):
    """One pipeline run, shared by the tests here: the client, the keys, the call and the bytes."""
    folder = tmp_path_factory.mktemp("redacted-audio")
    recording = folder / "pii_call.wav"
    phrase_s = _build_recording(stereo_call_path, recording)
    settings = Settings(database_url=f"sqlite:///{folder / 'calls.db'}", cache_dir=model_cache, _env_file=None)
    settings = settings.model_copy(update={"api": settings.api.model_copy(
        update={"reconcile_interval_s": 3600.0, "rate_limit_per_minute": 0})})
    store = CallStore.from_url(settings.database_url)
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, store, LocalRunner(local_stages, store, settings))) as client:
        keys = {scopes: {"Authorization": f"Bearer {create_api_key(store.engine, tenant='acme', scopes=scopes)[0]}"}
                for scopes in (("submit", "read"), ("read", "admin"))}
        data = recording.read_bytes()
        response = client.post("/v1/calls", headers=keys[("submit", "read")], params={"wait": "true"},
                               files={"file": ("pii_call.wav", data, "audio/wav")})
        assert response.status_code == 200, response.text
        yield {"client": client, "store": store, "read": keys[("submit", "read")], "admin": keys[("read", "admin")],
               "call": response.json(), "original": data, "phrase_s": phrase_s,
               "options": local_stages.settings.audio.redaction}
    store.engine.dispose()


def _pcm(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    return samples.T, rate  # shape: (num_channels, num_samples)


def _span_mask(spans: list[dict], pad_s: float, rate: int, n: int) -> np.ndarray:
    """The samples the documented rule covers: floor((start - pad) * rate) to ceil((end + pad) * rate)."""
    mask = np.zeros(n, dtype=bool)
    for span in spans:
        first = max(0, math.floor(max(0.0, span["start_s"] - pad_s) * rate))
        stop = min(n, math.ceil(min(n / rate, span["end_s"] + pad_s) * rate))
        mask[first:stop] = True
    return mask


def _bleep(options: AudioRedactionOptions, rate: int, n: int) -> np.ndarray:
    """The documented bleep at every sample of the call (one phase from sample 0), as int16."""
    t = np.arange(n, dtype=np.float64)
    return np.round(options.tone_level * 32767.0 * np.sin(2.0 * np.pi * options.tone_hz * t / rate)).astype(np.int16)


def test_the_card_number_is_found_in_the_read_out_phrase(pii_call):
    call = pii_call["call"]
    assert call["status"] == "completed", call.get("error")
    assert {s["stage"]: s["status"] for s in call["stages"]}["audio_redaction"] == "done"
    redactions = call["result"]["redactions"]
    assert redactions and {r["type"] for r in redactions} <= PII_TYPES, redactions
    start_s, end_s = pii_call["phrase_s"]
    for found in redactions:
        # Whisper's word times are good to about half a second; the span lies in the phrase.
        assert start_s - 0.5 <= found["start_s"] < found["end_s"] <= end_s + 0.5, (found, pii_call["phrase_s"])
    redacted = call["recording"]["redacted"]
    assert call["recording"]["original"] == "stored"
    assert redacted["state"] == "redacted" and redacted["mode"] == "bleep"
    assert [(s["start_s"], s["end_s"]) for s in redacted["spans"]] == [(r["start_s"], r["end_s"]) for r in redactions]
    assert redacted["content_type"] == "audio/flac" and redacted["channels"] == 2 and redacted["sample_rate_hz"] == 16000


def test_no_sample_of_a_redacted_span_survives_in_the_served_copy(pii_call):
    client, call = pii_call["client"], pii_call["call"]
    response = client.get(f"/v1/calls/{call['id']}/audio", headers=pii_call["read"])
    assert response.status_code == 200
    assert response.headers["x-callytics-audio"] == "redacted" and response.headers["content-type"] == "audio/flac"
    redacted, rate = _pcm(response.content)
    original, original_rate = _pcm(pii_call["original"])
    assert (rate, redacted.shape) == (original_rate, original.shape) and original.shape[0] == 2
    options = pii_call["options"]
    mask = _span_mask(call["result"]["redactions"], options.pad_s, rate, original.shape[1])
    assert mask.sum() > rate, "a read-out card number lasts seconds"
    bleep = _bleep(options, rate, original.shape[1])
    for channel in range(2):  # the bleep is on every channel, not only the speaker's
        assert np.array_equal(redacted[channel, mask], bleep[mask]), f"channel {channel}: a sample in a span survived"
        assert np.array_equal(redacted[channel, ~mask], original[channel, ~mask]), f"channel {channel} changed outside"
    # The spans held speech, which is gone: the right channel spoke the digits there.
    assert np.abs(original[1, mask].astype(np.int32) - bleep[mask]).max() > 1000


def test_silence_mode_zeroes_every_sample_of_the_same_spans(pii_call):
    # The same real spans, made into a silenced copy (the core, no second model run).
    redactions = pii_call["call"]["result"]["redactions"]
    options = AudioRedactionOptions(mode="silence", pad_s=0.5)
    copy = redact_recording(pii_call["original"], [AudioSpan(r["start_s"], r["end_s"]) for r in redactions], options)
    silenced, rate = _pcm(copy.data)
    original, _ = _pcm(pii_call["original"])
    mask = _span_mask(redactions, options.pad_s, rate, original.shape[1])
    assert copy.mode == "silence" and copy.lossless_source
    assert not silenced[:, mask].any()
    assert np.array_equal(silenced[:, ~mask], original[:, ~mask])


def test_the_api_serves_redacted_by_default_the_original_to_admins_until_retention_deletes_it(pii_call):
    client, call_id, original = pii_call["client"], pii_call["call"]["id"], pii_call["original"]
    url = f"/v1/calls/{call_id}/audio"
    redacted = client.get(url, headers=pii_call["read"]).content
    ranged = client.get(url, headers={**pii_call["read"], "Range": "bytes=100-1099"})
    assert ranged.status_code == 206 and ranged.content == redacted[100:1100]
    assert ranged.headers["x-callytics-audio"] == "redacted"

    refused = client.get(url, headers=pii_call["read"], params={"original": "true"})
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    admin = client.get(url, headers=pii_call["admin"], params={"original": "true"})
    assert admin.status_code == 200 and admin.content == original
    assert admin.headers["x-callytics-audio"] == "original"
    # An admin without original=true gets the redacted copy too (the console player's case).
    assert client.get(url, headers=pii_call["admin"]).content == redacted

    sweep = RetentionSweep(pii_call["store"], retention_days=30)
    assert asyncio.run(sweep.sweep_once()) == []  # a call made today is kept
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert asyncio.run(sweep.sweep_once(now=later)) == [call_id]
    gone = client.get(url, headers=pii_call["admin"], params={"original": "true"})
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "original_deleted"
    assert "retention" in gone.json()["error"]["message"]
    assert client.get(url, headers=pii_call["read"]).content == redacted
    recording = client.get(f"/v1/calls/{call_id}", headers=pii_call["read"]).json()["recording"]
    assert recording["original"] == "deleted" and recording["original_deleted_at"]
    assert recording["redacted"]["state"] == "redacted"
