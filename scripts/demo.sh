#!/usr/bin/env bash
# The main job: set up, then analyse a shared sample call and print the result.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
SAMPLE=${1:-$ROOT/../shared/data/stereo_diarization.wav}
export CALLYTICS_DATABASE_URL=${CALLYTICS_DATABASE_URL:-sqlite:///$ROOT/callytics.db}
log "analysing $SAMPLE in-process (results stored in $CALLYTICS_DATABASE_URL)"
callytics analyze "$SAMPLE" --format txt
