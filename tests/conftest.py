"""Shared fixtures: the shared recordings, offline settings, session-wide models, databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A missed download must fail at once instead of hanging on a network that isn't there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA_DIR = Path(os.environ.get("CALLYTICS_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.fail(f"shared recordings not found at {DATA_DIR}; set CALLYTICS_TEST_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def stereo_call_path(data_dir: Path) -> Path:
    return data_dir / "stereo_diarization.wav"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One cache for the whole run so the bundled Whisper base is assembled once."""
    shared = os.environ.get("CALLYTICS_TEST_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("model-cache")


@pytest.fixture()
def settings(tmp_path: Path, model_cache: Path):
    from callytics_ray.settings import Settings

    return Settings(database_url=f"sqlite:///{tmp_path / 'callytics.db'}", cache_dir=model_cache, _env_file=None)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory, model_cache: Path):
    from callytics_ray.settings import Settings

    db = tmp_path_factory.mktemp("db") / "callytics.db"
    return Settings(database_url=f"sqlite:///{db}", cache_dir=model_cache, _env_file=None)


@pytest.fixture(scope="session")
def transcriber(session_settings):
    """The default multilingual Whisper base, loaded once per test session."""
    from callytics_ray.asr import Transcriber

    return Transcriber.from_settings(session_settings)


@pytest.fixture(scope="session")
def local_stages(session_settings, transcriber):
    """In-process stages sharing the session's loaded models."""
    from callytics_ray.pipeline import LocalStages

    return LocalStages(session_settings, transcriber=transcriber)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server (.ci/run starts one and exports CALLYTICS_TEST_POSTGRES_URL)."""
    url = os.environ.get("CALLYTICS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CALLYTICS_TEST_POSTGRES_URL is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("no PostgreSQL server: set CALLYTICS_TEST_POSTGRES_URL (scripts/test.sh starts one)")
    return url
