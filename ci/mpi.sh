#!/usr/bin/env bash
# phalanx-mpi: the MPI workspace member. `ci/mpi.sh deps` makes sure the
# Debian packages rsmpi builds against are there (apt-get install when
# missing, as root) and exits 3 with one `mpi: skipped: <reason>` line when
# they cannot be had; `ci/mpi.sh` (no argument) then runs clippy on the
# crate and its tests, which start every program under `mpirun` on
# loopback (2 and 3 ranks x 2 threads) and as a plain process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PKGS=(libopenmpi-dev openmpi-bin libclang-dev)

have_deps() {
    command -v mpirun >/dev/null 2>&1 &&
        command -v mpicc >/dev/null 2>&1 &&
        compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null
}

deps() {
    have_deps && return 0
    local why="OpenMPI or libclang missing (${PKGS[*]})"
    if [[ $(id -u) -ne 0 ]]; then
        echo "mpi: skipped: $why, and not root to apt-get install them"
        return 3
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "mpi: skipped: $why, and no apt-get"
        return 3
    fi
    echo "mpi: apt-get install ${PKGS[*]}"
    local t=$SECONDS
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PKGS[@]}"; } >/tmp/phalanx-mpi-apt.log 2>&1; then
        tail -5 /tmp/phalanx-mpi-apt.log
        echo "mpi: skipped: apt-get could not install ${PKGS[*]} (log: /tmp/phalanx-mpi-apt.log)"
        return 3
    fi
    echo "mpi: installed in $((SECONDS - t)) s"
    have_deps || { echo "mpi: skipped: installed ${PKGS[*]}, still no mpirun/mpicc/libclang"; return 3; }
}

case "${1:-run}" in
    deps) deps ;;
    run)
        echo "mpi.sh: cargo clippy -p phalanx-mpi --all-targets -- -D warnings"
        cargo clippy -p phalanx-mpi --all-targets -- -D warnings
        echo "mpi.sh: cargo test -p phalanx-mpi"
        cargo test -p phalanx-mpi
        ;;
    *)
        echo "usage: ci/mpi.sh [deps|run]" >&2
        exit 2
        ;;
esac
