#!/usr/bin/env bash
# Browser end-to-end tests of the UI against a real `pharos serve` (release build, so the
# page-load benchmark measures what users get).
# Needs Node.js >= 20 with npm, and Debian's chromium (`apt-get install -y chromium`).
# Ends with `N passed, N failed`; exits non-zero when a test failed.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd ../.. && pwd)"
chromium_bin="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium_bin" ]; then
  echo "error: $chromium_bin not found; install it with: apt-get install -y chromium" >&2
  exit 1
fi
command -v node >/dev/null || { echo "error: node not found; install Node.js >= 20" >&2; exit 1; }
# PHAROS_BIN=<path> uses that binary instead of building the release one.
if [ -z "${PHAROS_BIN:-}" ]; then
  cargo build --release --locked -p pharos --manifest-path "$repo/Cargo.toml"
  PHAROS_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/pharos"
fi
# Unit tests of the front-end logic (variables, time, units, tables, heatmaps, traces).
(cd "$repo/crates/ui/web" && { [ -d node_modules ] || npm install --no-save --no-audit --no-fund; } && npm test)
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-save --no-audit --no-fund
fi
PHAROS_BIN="$PHAROS_BIN" CHROMIUM="$chromium_bin" node run.mjs
