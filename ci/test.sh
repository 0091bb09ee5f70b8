#!/usr/bin/env bash
# Debug and release tests. Two test threads at most: many tests spin, and the
# reference machine has 2 cores (STYLE.md §13; parking_lot sets
# RUST_TEST_THREADS=1 for the same reason). Runs locally as is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "test.sh: cargo test -- --test-threads=2"
cargo test -- --test-threads=2
echo "test.sh: cargo test --release -- --test-threads=2"
cargo test --release -- --test-threads=2
