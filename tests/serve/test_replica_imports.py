"""What a replica process imports with its deployment's module: the stages that do not run a model
must not pay for one (torch alone is about 300 MB and seconds of start-up per process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

MODEL_RUNTIMES = {"torch", "transformers", "sentence_transformers", "onnxruntime", "ctranslate2"}
# Deployment module -> what its process must not import (beyond the model runtimes).
REPLICAS = {
    "deployments.gateway": MODEL_RUNTIMES | {"scipy", "noisereduce", "pyloudnorm"},
    "deployments.llm": MODEL_RUNTIMES | {"scipy", "av"},
    "deployments.database": MODEL_RUNTIMES | {"scipy", "av"},
    "deployments.nlp": {"torch", "transformers", "sentence_transformers", "ctranslate2"},
}


@pytest.mark.parametrize("module", sorted(REPLICAS))
def test_a_replica_imports_only_what_its_stage_runs(module: str):
    code = (f"import sys, json; import ray.serve, {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    imported = set(json.loads(done.stdout.splitlines()[-1]))
    assert not imported & REPLICAS[module], sorted(imported & REPLICAS[module])
