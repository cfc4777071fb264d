#!/usr/bin/env bash
# Idempotent setup shared by scripts/demo.sh and scripts/test.sh:
# system packages (ffmpeg, espeak-ng, sox, PostgreSQL, Prometheus, Chromium and its driver for the
# console's browser tests, npm), the pinned .venv and the console's browser libraries.
# Source it: `source scripts/setup.sh`; afterwards $PY is the venv's python.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox libsox-fmt-mp3)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need_apt+=(postgresql)
command -v promtool >/dev/null || need_apt+=(prometheus)
"$PYTHON" -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  log "installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts a cluster on install; the tests run their own throwaway server instead.
  command -v pg_ctlcluster >/dev/null && $SUDO service postgresql stop >/dev/null 2>&1 || true
  command -v prometheus >/dev/null && $SUDO service prometheus stop >/dev/null 2>&1 || true
fi

VENV="$ROOT/.venv"
stamp="$VENV/.callytics-installed"
want=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing callytics-ray and its pinned dependencies into .venv (a few minutes the first time)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e "$ROOT[serve,dev]"
  echo "$want" > "$stamp"
fi
# The console's browser libraries: the pinned npm packages of package-lock.json, copied into the
# Python package's static folder (the gateway serves them; no CDN at run time).
vendor="$ROOT/callytics_ray/api/console/static/vendor"
want_assets=$(cat "$ROOT/package-lock.json" "$ROOT/scripts/setup.sh" | sha256sum | cut -c1-16)
if [ "$(cat "$vendor/.installed" 2>/dev/null)" != "$want_assets" ]; then
  log "installing the console's browser libraries (npm ci) into $vendor"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  rm -rf "$vendor" && mkdir -p "$vendor"
  cp "$ROOT/node_modules/htmx.org/dist/htmx.min.js" "$vendor/"
  cp "$ROOT/node_modules/htmx.org/LICENSE" "$vendor/htmx.LICENSE"
  cp "$ROOT/node_modules/wavesurfer.js/dist/wavesurfer.min.js" "$vendor/"
  cp "$ROOT/node_modules/wavesurfer.js/dist/plugins/regions.min.js" "$vendor/wavesurfer.regions.min.js"
  cp "$ROOT/node_modules/wavesurfer.js/LICENSE" "$vendor/wavesurfer.LICENSE"
  cp "$ROOT/node_modules/chart.js/dist/chart.umd.min.js" "$vendor/chart.umd.min.js"
  cp "$ROOT/node_modules/chart.js/LICENSE.md" "$vendor/chart.LICENSE.md"
  echo "$want_assets" > "$vendor/.installed"
fi

PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
# Ray 2.60 turns token auth on by default; say so explicitly so `serve` CLI calls agree with the cluster.
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
