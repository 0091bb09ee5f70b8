#!/usr/bin/env bash
# Run every loom model (tests/loom_*.rs) in release mode with --cfg loom.
#
# * LOOM_MAX_PREEMPTIONS=2 bounds the search, as crossbeam's ci/crossbeam-epoch-loom.sh
#   does; override it from the environment for a deeper run.
# * The cfg changes every crate's build, so it gets its own target directory
#   (target/loom) and does not throw away the normal build.
# * Each file is a whole-file `#![cfg(loom)]` model; files that do not exist are
#   simply not there to run, and no file at all is a skip, not a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

shopt -s nullglob
files=(tests/loom_*.rs)
if ((${#files[@]} == 0)); then
    echo "loom: skipped: no tests/loom_*.rs files"
    exit 0
fi
targets=()
for f in "${files[@]}"; do
    targets+=(--test "$(basename "$f" .rs)")
done
echo "loom: ${targets[*]} (LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-2})"
RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}" \
    LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}" \
    CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}" \
    cargo test --release "${targets[@]}" -- --test-threads=2
