//! OpenMP's runtime routines without a `&Ctx`: `omp_get_thread_num()` and
//! friends, callable from helper code deep below a region. Each member of a
//! region records where it is in a thread-local when it starts running the
//! region and restores the previous value when it leaves (`run_member`), as
//! an OpenMP runtime does with its per-thread ICVs.

use super::GLOBAL;
use crate::config::Config;
use std::cell::Cell;
use std::sync::OnceLock;

/// Where the calling thread is: the innermost region it runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Here {
    /// Thread number in the innermost region.
    tid: usize,
    /// Threads of the innermost region.
    n: usize,
    /// Regions around the calling code, active (more than one thread) or not.
    level: usize,
    /// Of those, the active ones.
    active_level: usize,
}

/// Outside every region: the initial thread of a one-thread "region".
const OUTSIDE: Here = Here { tid: 0, n: 1, level: 0, active_level: 0 };

thread_local! {
    static HERE: Cell<Here> = const { Cell::new(OUTSIDE) };
}

/// Restores the thread's previous position when the member leaves the region.
pub(crate) struct Entered {
    outer: Here,
    /// What `nesting::pop` restores.
    pushed: super::nesting::Pushed,
}

impl Drop for Entered {
    fn drop(&mut self) {
        super::nesting::pop(&self.pushed);
        HERE.with(|h| h.set(self.outer));
    }
}

/// Record that the calling thread runs as member `tid` of a region of `n`
/// threads of the team sharing `outer`, until the returned value drops. A
/// worker of a team forked inside a region takes the forking thread's levels
/// first (`nesting.rs`).
pub(crate) fn enter(outer_chain: &super::nesting::Outer, tid: usize, n: usize) -> Entered {
    let outer = HERE.with(Cell::get);
    let (pushed, level, active_level) = super::nesting::push(outer_chain, tid, n);
    HERE.with(|h| h.set(Here { tid, n, level, active_level }));
    Entered { outer, pushed }
}

/// `omp_get_thread_num()`: the calling thread's number in the innermost
/// region it runs in (`0..num_threads()`), the same as `ctx.thread_num()`;
/// 0 outside every region. A task reports the thread that runs it.
///
/// ```
/// fn helper() -> usize { phalanx::thread_num() }   // no ctx in sight
/// let team = phalanx::Team::builder().num_threads(3).build().unwrap();
/// team.parallel(|ctx| assert_eq!(helper(), ctx.thread_num()));
/// assert_eq!(helper(), 0);
/// ```
pub fn thread_num() -> usize {
    HERE.with(Cell::get).tid
}

/// `omp_get_num_threads()`: threads in the innermost region the caller
/// runs in; 1 outside every region (and in a nested region, which runs on
/// one thread).
pub fn num_threads() -> usize {
    HERE.with(Cell::get).n
}

/// `omp_in_parallel()`: whether the caller runs inside a region of more
/// than one thread, at any nesting level.
///
/// ```
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// assert!(!phalanx::in_parallel());
/// team.parallel(|_| assert!(phalanx::in_parallel()));
/// ```
pub fn in_parallel() -> bool {
    HERE.with(Cell::get).active_level > 0
}

/// `omp_get_level()`: how many regions (of any size) enclose the caller; 0
/// outside, 1 in a region, 2 in a region nested in it, ...
pub fn level() -> usize {
    HERE.with(Cell::get).level
}

/// `omp_get_active_level()`: how many of the enclosing regions have more
/// than one thread.
pub fn active_level() -> usize {
    HERE.with(Cell::get).active_level
}

/// `omp_get_max_threads()`: threads the next `phalanx::parallel` from here
/// would use. Inside a region 1 (the global team is busy there, so a nested
/// `phalanx::parallel` runs on the calling thread);
/// outside, the global team's size if it exists, else what it would be built
/// with (`OMP_NUM_THREADS`, else [`num_procs`]).
///
/// # Panics
/// Outside a region, before the global team exists, if the environment is
/// invalid: with the same message the global team would panic with.
pub fn max_threads() -> usize {
    if level() > 0 {
        return 1;
    }
    if let Some(t) = GLOBAL.get() {
        return t.num_threads();
    }
    match Config::from_env() {
        Ok(c) => c.threads_or_default(),
        Err(e) => panic!("phalanx: cannot build the global team: {e}"),
    }
}

/// `omp_get_num_procs()`: processors available to the program
/// (`std::thread::available_parallelism`, 1 if unknown).
pub fn num_procs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `omp_get_wtick()`: the resolution of [`wtime`](super::wtime) in seconds:
/// the smallest non-zero step between two readings of the clock, measured
/// once (the clock's nominal resolution is finer than what a reading can
/// show: on Linux `CLOCK_MONOTONIC` ticks in 1 ns, and reading it costs
/// about 20 ns).
pub fn wtick() -> f64 {
    static TICK: OnceLock<f64> = OnceLock::new();
    *TICK.get_or_init(|| {
        let mut best = f64::INFINITY;
        for _ in 0..64 {
            let t0 = std::time::Instant::now();
            let mut t1 = std::time::Instant::now();
            while t1 == t0 {
                t1 = std::time::Instant::now();
            }
            best = best.min((t1 - t0).as_secs_f64());
        }
        best
    })
}
