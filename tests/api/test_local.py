"""The Ray-free dev gateway and the core's independence from Ray."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient

from callytics_ray.api import build_local_app
from callytics_ray.settings import AsrVariant
from tests.api.conftest import with_api


def test_the_gateway_imports_without_ray():
    code = "import callytics_ray.api, sys; assert 'ray' not in sys.modules, 'ray was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_local_app_builds_one_backend_per_variant_model(api_settings):
    settings = with_api(api_settings, variants=[
        AsrVariant(name="base", weight=0.5),
        AsrVariant(name="tiny", weight=0.5, asr_model="bundled:whisper-tiny.en"),
    ])

    app = build_local_app(settings)

    runner = app.state.runner
    assert set(runner.variant_backends) == {"tiny"}
    tiny = runner.variant_backends["tiny"]
    assert tiny._asr.settings.asr.model == "bundled:whisper-tiny.en"
    # Everything but recognition is the base backend's: one diarizer, punctuator... for both arms.
    assert tiny.diarize == runner.backend.diarize and tiny.settings is runner.backend.settings
    assert app.state.variant_picker.weights() == {"base": 0.5, "tiny": 0.5}
    with TestClient(app) as client:
        assert client.get("/readyz").json()["status"] == "ready"
    app.state.store.engine.dispose()
