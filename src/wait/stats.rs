//! Per-thread wait counters. Each wait adds to its own thread's counters once,
//! when it ends: no shared cache line is written on the hot path.

use std::cell::Cell;
use std::ops::{Add, AddAssign};
use std::time::Duration;

/// What the waits of one thread (or, summed, of a team) did.
///
/// `waited` is the measured time of waits that did not end at their first
/// check; waits that ended inside the clock-free prefix add an estimate of
/// [`NOMINAL_PAUSE`](super::NOMINAL_PAUSE) per spin (see `src/wait/README.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitStats {
    /// Waits started.
    pub waits: u64,
    /// Waits that ended at their first check, without spinning.
    pub immediate: u64,
    /// `PAUSE` instructions executed.
    pub spins: u64,
    /// `sched_yield` calls.
    pub yields: u64,
    /// Times a thread blocked in the OS (futex or condvar).
    pub parks: u64,
    /// Sleeps of the `SleepPoll` baseline.
    pub sleeps: u64,
    /// Waits that ended by timing out.
    pub timeouts: u64,
    /// Total time spent in waits that needed a plan.
    pub waited: Duration,
}

impl Add for WaitStats {
    type Output = WaitStats;
    fn add(mut self, o: WaitStats) -> WaitStats {
        self += o;
        self
    }
}

impl AddAssign for WaitStats {
    fn add_assign(&mut self, o: WaitStats) {
        self.waits += o.waits;
        self.immediate += o.immediate;
        self.spins += o.spins;
        self.yields += o.yields;
        self.parks += o.parks;
        self.sleeps += o.sleeps;
        self.timeouts += o.timeouts;
        self.waited += o.waited;
    }
}

thread_local! {
    static STATS: Cell<WaitStats> = const { Cell::new(WaitStats {
        waits: 0, immediate: 0, spins: 0, yields: 0, parks: 0, sleeps: 0, timeouts: 0,
        waited: Duration::ZERO,
    }) };
}

/// The calling thread's wait counters since it started (or since
/// [`reset_stats`]). A team collects its threads' counters with
/// `Team::wait_stats`.
pub fn stats() -> WaitStats {
    STATS.with(Cell::get)
}

/// Zero the calling thread's counters, returning what they held.
pub fn reset_stats() -> WaitStats {
    STATS.with(|s| s.replace(WaitStats::default()))
}

/// Add one finished wait to this thread's counters.
#[inline]
pub(crate) fn record(w: WaitStats) {
    STATS.with(|s| {
        let mut t = s.get();
        t += w;
        s.set(t);
    });
}

/// Count one wait that ended at its first check.
#[inline]
pub(crate) fn record_immediate() {
    STATS.with(|s| {
        let mut t = s.get();
        t.waits += 1;
        t.immediate += 1;
        s.set(t);
    });
}
