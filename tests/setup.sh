#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, and nothing that is already there.
# Idempotent. Needs root (or sudo) for apt. Used by tests/run.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

apt_needed=()
# Prometheus: the real remote-write sender and the reference for PromQL answers.
command -v prometheus >/dev/null 2>&1 || apt_needed+=(prometheus)
# Chromium: the real browser for the UI end-to-end tests.
command -v chromium >/dev/null 2>&1 || apt_needed+=(chromium)
if [ ${#apt_needed[@]} -gt 0 ]; then
  echo "setup: installing ${apt_needed[*]} from Debian"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_needed[@]}" >/dev/null
  # The Debian package starts a Prometheus service; the tests start their own.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  pkill -x prometheus 2>/dev/null || true
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: Node.js and npm are needed to build the UI (apt-get install nodejs npm)" >&2
  exit 1
fi

# Python: the official OpenTelemetry SDK as a real trace sender.
if [ ! -x tests/.venv/bin/python ] || ! tests/.venv/bin/python -c 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http' 2>/dev/null; then
  echo "setup: creating tests/.venv with the OpenTelemetry SDK"
  python3 -m venv tests/.venv
  tests/.venv/bin/pip install -q -r tests/requirements.txt
fi

# Playwright (the library only; the browser is Debian's chromium).
if [ -f tests/e2e/package-lock.json ] && [ ! -d tests/e2e/node_modules ]; then
  echo "setup: installing the e2e suite's npm packages (locked versions)"
  (cd tests/e2e && npm install --no-save --no-audit --no-fund --loglevel=error)
fi
echo "setup: done"
