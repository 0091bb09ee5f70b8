#!/usr/bin/env bash
# Seeded random fault trials, long version (issue 7): 10 000 trials in release.
# A trial that hangs aborts the run with its seed and parameters; a wrong error,
# a lost or a duplicated item fails it with the seeds to replay.
#   PHALANX_FAULT_TRIALS=N   number of trials (default 10000)
#   PHALANX_FAULT_SEED=S     replay the one trial S (printed by a failure)
# Run from the repository root: ci/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PHALANX_FAULT_TRIALS="${PHALANX_FAULT_TRIALS:-10000}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --release --test faults -- --nocapture --test-threads=1 2>&1 | tee "$log"

echo "== fault trials summary =="
grep -E '^faults' "$log"
