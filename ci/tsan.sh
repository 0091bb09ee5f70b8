#!/usr/bin/env bash
# ThreadSanitizer over the unit tests and the sync/barrier integration tests.
# Needs nightly with rust-src (std is rebuilt with the sanitizer, -Zbuild-std)
# and its own target directory (target/tsan). If nightly or rust-src is not
# available, print one "tsan: skipped: <reason>" line and succeed.
#
# TSAN does not model standalone fences (crossbeam's deque.rs swaps them for
# stronger operations under its sanitize cfg). phalanx publishes data through
# Release/Acquire on the wait word; its SeqCst fences only order the sleeper
# count, an atomic, so they cannot produce a report about plain data. Any
# suppression goes into ci/tsan.supp with a reason.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skip() {
    echo "tsan: skipped: $1"
    exit 0
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rustup component add rust-src --toolchain nightly >"$log" 2>&1 ||
    skip "rustup component add rust-src --toolchain nightly failed: $(tail -n1 "$log")"

host=$(rustc +nightly -vV | sed -n 's/^host: //p')
[[ "$host" == x86_64-unknown-linux-gnu ]] || skip "ThreadSanitizer is wired up for x86_64-unknown-linux-gnu only (host: $host)"

targets=(--lib)
for t in sync barriers; do
    if [[ -f "tests/$t.rs" ]]; then
        targets+=(--test "$t")
    else
        echo "tsan: tests/$t.rs does not exist (yet): not run"
    fi
done

supp=""
[[ -f ci/tsan.supp ]] && supp="suppressions=$PWD/ci/tsan.supp"
echo "tsan: ${targets[*]}"
RUSTFLAGS="-Zsanitizer=thread ${RUSTFLAGS:-}" \
    RUSTDOCFLAGS="-Zsanitizer=thread" \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $supp ${TSAN_OPTIONS:-}" \
    CARGO_TARGET_DIR="${TSAN_TARGET_DIR:-target/tsan}" \
    cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu "${targets[@]}" -- --test-threads=2
