//! The C functions of `c/epcc.c` and their safe callers. Under
//! `cfg(omp_missing)` nothing is linked and every caller reports
//! "unavailable" (the delay falls back to a Rust loop).

use crate::{Construct, OmpError};

/// Return codes of the kernels (`EPCC_*` in `c/epcc.c`); a time is `>= 0`.
const BAD_ARG: f64 = -1.0;
const TEAM_SIZE: f64 = -2.0;
const WRONG_SUM: f64 = -3.0;
/// The task kernels keep one counter per thread in a static array of this
/// many (`EPCC_MAX_TASK_THREADS`).
const MAX_TASK_THREADS: usize = 256;

/// Whether the kernels are linked in.
pub(crate) const AVAILABLE: bool = cfg!(not(omp_missing));

/// Checked arguments in the C types (unread without OpenMP: nothing to call).
#[cfg_attr(omp_missing, allow(dead_code))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Args {
    threads: i32,
    inner_reps: i64,
    delay_len: i32,
}

impl Args {
    /// Converts and range-checks; the error names the bad setting.
    pub(crate) fn check(threads: usize, inner_reps: u64, delay_len: u32) -> Result<Args, OmpError> {
        let bad = |setting: &'static str, value: String| OmpError::InvalidArgument { setting, value };
        let threads_c =
            i32::try_from(threads).ok().filter(|&t| t >= 1).ok_or_else(|| bad("threads", threads.to_string()))?;
        let inner_reps = i64::try_from(inner_reps).map_err(|_| bad("inner_reps", inner_reps.to_string()))?;
        let delay_len = i32::try_from(delay_len).map_err(|_| bad("delay_len", delay_len.to_string()))?;
        Ok(Args { threads: threads_c, inner_reps, delay_len })
    }
}

/// What a kernel's return value means.
pub(crate) enum Status {
    Elapsed(f64),
    BadArg,
    TeamSize,
    WrongResult,
}

impl Status {
    pub(crate) fn of(secs: f64) -> Status {
        if secs >= 0.0 {
            Status::Elapsed(secs)
        } else if secs == TEAM_SIZE {
            Status::TeamSize
        } else if secs == WRONG_SUM {
            Status::WrongResult
        } else {
            debug_assert_eq!(secs, BAD_ARG, "unknown kernel return code");
            Status::BadArg
        }
    }
}

#[cfg(not(omp_missing))]
mod sys {
    use std::os::raw::{c_char, c_double, c_int, c_long};

    // Every function is defined in c/epcc.c. None keeps a pointer or touches
    // Rust memory; all take plain integers, and each runs its OpenMP region
    // to completion before returning.
    extern "C" {
        pub(super) fn epcc_delay(len: c_int);
        pub(super) fn epcc_runtime_name() -> *const c_char;
        pub(super) fn epcc_max_threads() -> c_int;
        pub(super) fn epcc_reference(inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_gap_regions(threads: c_int, regions: c_long, gaps_us: *const c_double) -> c_double;
        pub(super) fn epcc_reference_team(
            threads: c_int,
            inner_reps: c_long,
            delay_len: c_int,
            turns: c_int,
        ) -> c_double;
        pub(super) fn epcc_parallel(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_for(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_parallel_for(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_barrier(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_single(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_critical(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_lock(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_atomic(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_reduction(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_ordered(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_schedule(
            kind: c_int,
            chunk: c_int,
            threads: c_int,
            inner_reps: c_long,
            delay_len: c_int,
        ) -> c_double;
        pub(super) fn epcc_master_task(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_parallel_task(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_task_wait(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_conditional_task(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_task_barrier(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_parallel_task_deps(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_master_task_deps(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_master_task_busy_slaves(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_nested_task(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_nested_master_task(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_branch_task_tree(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
        pub(super) fn epcc_leaf_task_tree(threads: c_int, inner_reps: c_long, delay_len: c_int) -> c_double;
    }
}

/// `c_long` is 32 bits on some targets (Windows); refuse what does not fit.
#[cfg(not(omp_missing))]
fn c_reps(inner_reps: i64) -> Result<std::os::raw::c_long, OmpError> {
    std::os::raw::c_long::try_from(inner_reps)
        .map_err(|_| OmpError::InvalidArgument { setting: "inner_reps", value: inner_reps.to_string() })
}

/// Runs one kernel; the raw return value (seconds or an error code).
#[cfg(not(omp_missing))]
pub(crate) fn run(construct: Construct, args: Args) -> Result<f64, OmpError> {
    use std::os::raw::c_int;
    if construct.is_task() && args.threads as usize > MAX_TASK_THREADS {
        return Err(OmpError::InvalidArgument {
            setting: "threads",
            value: format!("{} for {construct}", args.threads),
        });
    }
    let Args { threads: t, delay_len: d, .. } = args;
    let r = c_reps(args.inner_reps)?;
    // SAFETY: every kernel takes plain integers, checked above to be in its
    // range (threads >= 1, reps >= 0, at most MAX_TASK_THREADS for the task
    // kernels whose counters are a static array of that size), keeps no
    // pointer, and finishes its parallel region before returning. Kernel calls
    // are serialised by crate::RUN_LOCK (held by our caller), so the task
    // kernels' static counters are never shared by two calls.
    let secs = unsafe {
        match construct {
            Construct::Parallel => sys::epcc_parallel(t, r, d),
            Construct::For => sys::epcc_for(t, r, d),
            Construct::ParallelFor => sys::epcc_parallel_for(t, r, d),
            Construct::Barrier => sys::epcc_barrier(t, r, d),
            Construct::Single => sys::epcc_single(t, r, d),
            Construct::Critical => sys::epcc_critical(t, r, d),
            Construct::Lock => sys::epcc_lock(t, r, d),
            Construct::Atomic => sys::epcc_atomic(t, r, d),
            Construct::Reduction => sys::epcc_reduction(t, r, d),
            Construct::Ordered => sys::epcc_ordered(t, r, d),
            Construct::Schedule { kind, chunk } => {
                let chunk = c_int::try_from(chunk)
                    .map_err(|_| OmpError::InvalidArgument { setting: "chunk", value: chunk.to_string() })?;
                sys::epcc_schedule(kind.code(), chunk, t, r, d)
            }
            Construct::MasterTask => sys::epcc_master_task(t, r, d),
            Construct::ParallelTask => sys::epcc_parallel_task(t, r, d),
            Construct::TaskWait => sys::epcc_task_wait(t, r, d),
            Construct::ConditionalTask => sys::epcc_conditional_task(t, r, d),
            Construct::TaskBarrier => sys::epcc_task_barrier(t, r, d),
            Construct::ParallelTaskDeps => sys::epcc_parallel_task_deps(t, r, d),
            Construct::MasterTaskDeps => sys::epcc_master_task_deps(t, r, d),
            Construct::MasterTaskBusySlaves => sys::epcc_master_task_busy_slaves(t, r, d),
            Construct::NestedTask => sys::epcc_nested_task(t, r, d),
            Construct::NestedMasterTask => sys::epcc_nested_master_task(t, r, d),
            Construct::BranchTaskTree => sys::epcc_branch_task_tree(t, r, d),
            Construct::LeafTaskTree => sys::epcc_leaf_task_tree(t, r, d),
        }
    };
    Ok(secs)
}

#[cfg(omp_missing)]
pub(crate) fn run(construct: Construct, _args: Args) -> Result<f64, OmpError> {
    let _ = (construct, MAX_TASK_THREADS);
    Err(OmpError::Unavailable)
}

/// Seconds for `gaps.len()` regions of `threads`, each after its gap (µs) of
/// master-only busy work (`epcc_gap_regions`).
#[cfg(not(omp_missing))]
pub(crate) fn gap_regions(args: Args, gaps_us: &[f64]) -> Result<f64, OmpError> {
    let regions = c_reps(args.inner_reps)?;
    // SAFETY: `gaps_us` points at `regions` doubles, alive for the call; the
    // function only reads them and runs its regions to completion.
    Ok(unsafe { sys::epcc_gap_regions(args.threads, regions, gaps_us.as_ptr()) })
}

#[cfg(omp_missing)]
pub(crate) fn gap_regions(_args: Args, _gaps_us: &[f64]) -> Result<f64, OmpError> {
    Err(OmpError::Unavailable)
}

/// Seconds for `inner_reps` delays on this thread.
#[cfg(not(omp_missing))]
pub(crate) fn reference(args: Args) -> Option<f64> {
    let r = c_reps(args.inner_reps).ok()?;
    // SAFETY: plain integers, `r >= 0` (checked by Args::check); the function
    // only loops over the delay on the calling thread.
    Some(unsafe { sys::epcc_reference(r, args.delay_len) })
}

#[cfg(omp_missing)]
pub(crate) fn reference(_args: Args) -> Option<f64> {
    None
}

/// The team reference (`epcc_reference_team`): its raw return value
/// (seconds or an error code).
#[cfg(not(omp_missing))]
pub(crate) fn reference_team(args: Args, turns: bool) -> Result<f64, OmpError> {
    let r = c_reps(args.inner_reps)?;
    // SAFETY: plain integers, range-checked by Args::check (threads >= 1,
    // reps >= 0); the function runs one parallel region to completion and
    // keeps nothing.
    Ok(unsafe { sys::epcc_reference_team(args.threads, r, args.delay_len, i32::from(turns)) })
}

#[cfg(omp_missing)]
pub(crate) fn reference_team(_args: Args, _turns: bool) -> Result<f64, OmpError> {
    Err(OmpError::Unavailable)
}

#[cfg(not(omp_missing))]
pub(crate) fn runtime_name() -> Option<&'static str> {
    // SAFETY: epcc_runtime_name returns a pointer to a NUL-terminated string
    // literal with static storage, never freed or written.
    let name = unsafe { std::ffi::CStr::from_ptr(sys::epcc_runtime_name()) };
    name.to_str().ok()
}

#[cfg(omp_missing)]
pub(crate) fn runtime_name() -> Option<&'static str> {
    None
}

#[cfg(not(omp_missing))]
pub(crate) fn max_threads() -> Option<usize> {
    // SAFETY: omp_get_max_threads has no preconditions; the wrapper takes no
    // arguments.
    let n = unsafe { sys::epcc_max_threads() };
    usize::try_from(n).ok()
}

#[cfg(omp_missing)]
pub(crate) fn max_threads() -> Option<usize> {
    None
}

/// The delay body; see [`crate::delay`].
pub(crate) fn delay(len: u32) {
    #[cfg(not(omp_missing))]
    if let Ok(len) = i32::try_from(len) {
        // SAFETY: a plain integer; epcc_delay only loops on a local volatile.
        unsafe { sys::epcc_delay(len) };
        return;
    }
    let mut acc = 0.0f64;
    for i in 0..len {
        // SAFETY: `acc` is a live, aligned local; volatile accesses make each
        // addition happen, as the C loop's volatile does.
        unsafe { std::ptr::write_volatile(&mut acc, std::ptr::read_volatile(&acc) + f64::from(i)) };
    }
}
