#!/usr/bin/env bash
# Runs every test: the Rust unit and integration tests (which start the real binary and
# real peers), then the browser end-to-end suite. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
export PHAROS_TEST_PYTHON="$PWD/tests/.venv/bin/python"
cargo test --workspace --locked -- --test-threads 2
if [ -x tests/e2e/run.sh ]; then
  tests/e2e/run.sh
fi
