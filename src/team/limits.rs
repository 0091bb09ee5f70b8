//! How many more threads this process can start, checked before a team
//! spawns its workers.
//!
//! Why: on Linux every thread std starts maps its stack (plus a guard page)
//! and, in the new thread itself, an alternate signal stack (plus a guard
//! page). When the process reaches `vm.max_map_count` mappings, the second
//! `mmap` fails *inside the new thread, before any user code*: std panics
//! there ("failed to set up alternative stack guard page"), the panic cannot
//! unwind out of the thread's start routine, and the whole process aborts
//! ("fatal runtime error: failed to initiate panic"). `OMP_NUM_THREADS=200000`
//! did exactly that. `pthread_create` failing (no memory for a stack, the
//! thread limits) is reported by `spawn` as an error and needs no check.
//! So the builder refuses, up front, a team that would need more mappings
//! than are left.

/// Memory mappings one started thread adds (stack + guard, signal stack +
/// guard), counted as separate areas in the worst case.
pub(crate) const MAPS_PER_THREAD: usize = 4;
/// Mappings left for everything else the process does meanwhile.
pub(crate) const MAPS_RESERVE: usize = 1024;

/// Threads this process can still start before it runs out of memory
/// mappings; `None` where the limit is not known (not Linux, no `/proc`).
pub(crate) fn threads_left() -> Option<usize> {
    if !cfg!(target_os = "linux") || cfg!(miri) {
        return None;
    }
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()?;
    let used = std::fs::read_to_string("/proc/self/maps").ok()?.lines().count();
    Some(max.saturating_sub(used).saturating_sub(MAPS_RESERVE) / MAPS_PER_THREAD)
}

/// The error of a team refused by `threads_left`.
pub(crate) fn too_many(workers: usize, left: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::OutOfMemory,
        format!(
            "{workers} worker threads would exceed the process's memory-mapping limit (vm.max_map_count): \
             at most {left} more threads can start"
        ),
    )
}
