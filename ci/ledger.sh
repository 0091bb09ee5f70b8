#!/usr/bin/env bash
# Exactly-once ledger, long version (issue 7): 10^7 items per wait policy
# through a TaskQueue with 4 producers, 8 consumers, random handler panics,
# random pop_timeouts and a close while producers still push, in release.
#   PHALANX_LEDGER_ITEMS=N   items per policy (default 10000000)
#   PHALANX_FAULT_SEED=S     base seed (printed by every run)
# Run from the repository root: ci/ledger.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PHALANX_LEDGER_ITEMS="${PHALANX_LEDGER_ITEMS:-10000000}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --release --test ledger -- --nocapture --test-threads=1 2>&1 | tee "$log"

echo "== ledger summary =="
grep -E '^ledger' "$log"
