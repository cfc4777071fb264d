#!/usr/bin/env bash
# The test command: installs what the tests need, starts a throwaway PostgreSQL, runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/audio -x`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh

pgdir=$(mktemp -d /tmp/callytics-pg.XXXXXX)
pgport=$("$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
cleanup() {
  scripts/postgres.sh stop "$pgdir" || true
  rm -rf "$pgdir"
  # Ray leaves per-session runtime_env copies (~1 GB each) behind.
  rm -rf /tmp/ray/session_*/runtime_resources 2>/dev/null || true
}
trap cleanup EXIT
CALLYTICS_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pgdir" "$pgport")
export CALLYTICS_TEST_POSTGRES_URL
export CALLYTICS_TEST_CACHE=${CALLYTICS_TEST_CACHE:-$ROOT/.cache/models}
mkdir -p "$CALLYTICS_TEST_CACHE"

if [ $# -eq 0 ]; then
  # CI runs on 2 cores within 40 minutes: the slow set (below) runs with `bash scripts/test.sh -m slow`.
  set -- -m "not slow"
elif [ "$*" = "-m slow" ]; then
  # The slow set: the suites marked slow (runtime_env installs, the GPU and multi-node cluster
  # configs, Prometheus, rolling updates, the acceptance set) and the pyannote and NeMo backends.
  # Those conflict with the base environment (pyannote: torchaudio vs torch 2.13; NeMo 2.7:
  # transformers 4), so their tests run in their own venvs, each built like its Serve runtime_env
  # (about 5 minutes of installs, 12 GB). First, so pytest's summary stays the last line.
  log "diarization backend tests (pyannote, nemo) in .venvs/"
  bash scripts/test_diarization_backends.sh pyannote nemo
fi
log "running pytest $*"
"$PY" -m pytest -ra --durations=15 "$@"
