#!/usr/bin/env bash
# Oversubscription soak, full version (issue 7): 64 threads x 10 000 barrier
# episodes for every barrier kind and every wait policy but Spin, and 64
# consumers draining 100 000 items a master pushes through a TaskQueue, in
# release. Prints the time per episode (and per item) per policy.
#   PHALANX_SOAK_THREADS, PHALANX_SOAK_EPISODES, PHALANX_SOAK_ITEMS override.
# Run from the repository root: ci/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PHALANX_SOAK_THREADS="${PHALANX_SOAK_THREADS:-64}"
export PHALANX_SOAK_EPISODES="${PHALANX_SOAK_EPISODES:-10000}"
export PHALANX_SOAK_ITEMS="${PHALANX_SOAK_ITEMS:-100000}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --release --test soak -- --nocapture --test-threads=1 2>&1 | tee "$log"

echo "== soak summary (time per episode / per item) =="
grep -E '^soak' "$log"
