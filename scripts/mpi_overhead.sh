#!/usr/bin/env bash
# The overhead target: distributed master-worker on 2 ranks x 1 thread vs
# single-process Team::master_worker with 2 threads, 100 µs tasks (and
# 10 µs, 1 ms). Interleaved pairs, so background load hits both sides
# alike; prints every pair and the median ratio per length. Each pair holds
# /tmp/phalanx-bench.lock. ROUNDS=5 by default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${ROUNDS:-5}
LENGTHS=${LENGTHS:-10,100,1000}
cargo build -q --release -p phalanx-mpi --bin mpi_bench
B=target/release/mpi_bench
MPIRUN=(mpirun --oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && MPIRUN+=(--allow-run-as-root)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
tmp=$(mktemp)
for r in $(seq 1 "$ROUNDS"); do
    flock /tmp/phalanx-bench.lock bash -c "
        $B baseline --threads 2 --lengths $LENGTHS --ms 300
        ${MPIRUN[*]} -np 2 $B tasks --threads 1 --lengths $LENGTHS --ms 300" | tee -a "$tmp"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(lambda: {"single": [], "mpi": []})
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.split("|")]
    if len(c) < 8:
        continue
    kind = "single" if c[1].startswith("single") else "mpi"
    rows[int(c[4])][kind].append(float(c[7]))
print("| task µs | single-process 2 threads, tasks/s (median) | 2 ranks x 1 thread (median) | ratio of medians |")
print("|---|---|---|---|")
for length in sorted(rows):
    s, m = statistics.median(rows[length]["single"]), statistics.median(rows[length]["mpi"])
    print(f"| {length} | {s:.0f} | {m:.0f} | {s / m:.3f}x |")
PY
rm -f "$tmp"
