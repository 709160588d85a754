#!/bin/sh
# The trace benchmark: builds pharos and tracebench (release), runs under the shared
# benchmark lock so no two benchmarks overlap. Usage: tests/tracebench/run.sh [spans]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
spans=${1:-1000000}
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release -p pharos)
(cd "$here" && CARGO_TARGET_DIR="$target/tracebench" cargo build --release)
exec flock /tmp/pharos-bench.lock "$target/tracebench/release/pharos-tracebench" "$target/release/pharos" "$spans" "${TMPDIR:-/tmp}/pharos-tracebench"
