#!/usr/bin/env bash
# Run every example that checks its own result, in release, with small
# settings: each exits non-zero if its answer is wrong. The timing examples
# (epcc, region_overhead, compare_wait_strategies) run in their quick modes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

run() {
    echo "examples.sh: $*"
    cargo run -q --release --example "$@"
}

run master_worker_port -- --all
run ack_fifo
run heat_stencil
run mandelbrot
run npb_is -- --class S
[[ -f examples/fib_tasks.rs ]] && run fib_tasks -- --n 24
run region_overhead -- --quick
run task_spread -- --quick
run task_suite -- --quick
run gap_sweep -- --quick
run epcc -- --quick
echo "examples.sh: all examples passed their own checks"
