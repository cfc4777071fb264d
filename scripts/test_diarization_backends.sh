#!/usr/bin/env bash
# Test the pyannote / NeMo diarization backends, each in its own virtual environment under
# .venvs/<backend> (their pins conflict with the base environment: runtime_envs/diarization-*.txt).
# Usage: scripts/test_diarization_backends.sh [pyannote] [nemo]     (default: pyannote)
# Measured here: pyannote venv install about 140 s (7.4 GB: torch 2.9.1 CUDA build + torchaudio);
# nemo about 155 s, then 35 s of tests.
set -euo pipefail
cd "$(dirname "$0")/.."
backends=("${@:-pyannote}")
python=${PYTHON:-python3.11}
for backend in "${backends[@]}"; do
  venv=".venvs/${backend}"
  reqs="runtime_envs/diarization-${backend}.txt"
  start=$(date +%s)
  if [[ ! -x "${venv}/bin/python" ]] || ! cmp -s "${reqs}" "${venv}/.installed-requirements"; then
    rm -rf "${venv}"
    "${python}" -m venv "${venv}"
    # Build the environment the way a Serve runtime_env is built: the base environment first
    # (this package and its pins), then the stage's own pins on top of it.
    "${venv}/bin/pip" install -q -e ".[dev]"
    "${venv}/bin/pip" install -q -r "${reqs}"
    cp "${reqs}" "${venv}/.installed-requirements"
  fi
  echo "${backend}: environment ready in $(( $(date +%s) - start )) s"
  HF_HUB_OFFLINE=1 "${venv}/bin/python" -m pytest -q -p no:cacheprovider "tests/diarization/test_backend_${backend}.py"
done
