"""The Ray-free dev gateway and the core's independence from Ray."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from callytics_ray.api import build_local_app
from callytics_ray.asr import Transcriber
from callytics_ray.pipeline import LocalStages
from callytics_ray.settings import AsrVariant
from tests.api.conftest import with_api


def test_the_gateway_imports_without_ray():
    code = "import callytics_ray.api, sys; assert 'ray' not in sys.modules, 'ray was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_local_app_routes_variants_through_one_backend(api_settings, monkeypatch):
    built: list[str] = []
    monkeypatch.setattr(Transcriber, "from_settings", classmethod(lambda cls, s: built.append(s.asr.model) or s.asr.model))
    settings = with_api(api_settings, variants=[
        AsrVariant(name="base", weight=0.5),
        AsrVariant(name="tiny", weight=0.5, asr_model="bundled:whisper-tiny.en"),
    ])

    app = build_local_app(settings)

    stages = app.state.runner.backend
    assert isinstance(stages, LocalStages)
    # One backend: one diarizer, punctuator... for both arms; only "tiny" gets its own recognizer,
    # and it loads on the first call of that arm, not at start-up.
    assert set(stages._recognizers.by_variant) == {"tiny"} and built == []
    assert stages._recognizers.route("tiny").get() == "bundled:whisper-tiny.en"
    assert stages._recognizers.route("base").get() == settings.asr.model
    assert built == ["bundled:whisper-tiny.en", settings.asr.model]
    assert app.state.variant_picker.weights() == {"base": 0.5, "tiny": 0.5}
    with TestClient(app) as client:
        assert client.get("/readyz").json()["status"] == "ready"
    app.state.store.engine.dispose()
