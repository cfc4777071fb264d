#!/usr/bin/env bash
# The main job: set up, start a local Ray cluster, deploy the CPU profile of the Serve app, upload a
# shared sample call over HTTP and print its summary, the Ray dashboard and the API docs.
# Arguments go to scripts/serve_demo.py (e.g. --file CALL.wav, --stop).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
log "starting the Serve app and submitting a sample call (first start loads every model: a few minutes)"
exec "$PY" scripts/serve_demo.py "$@"
