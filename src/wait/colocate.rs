//! Co-location: notice, per thread, that the thread that will release our
//! waits runs on *our* CPU, and stop spinning first while it does.
//!
//! With a core per thread the kernel still sometimes puts two members of a
//! team on one CPU, for many milliseconds: a new thread starts on its
//! creator's CPU, or a futex wake pulls the woken thread over (2 of 5 fresh
//! 2-thread teams here began that way and stayed so for 8–16 ms; C OpenMP
//! runtimes suffer it too). Then every pure spin before a yield is wasted: the
//! releaser cannot run until we give the CPU up. Under `Hybrid` that cost each
//! hand-over the whole `PURE_SPIN` (4 µs), about 20 µs per empty region.
//!
//! Evidence, read from the yield phase of waits (`Backoff::finish`):
//! * **Together**: the wait ended right after a yield that *switched* — it
//!   took longer than `SWITCHED_FACTOR` × the fastest yield this thread has
//!   timed (a yield that finds nobody else runnable returns at once), capped
//!   at `SWITCHED_CAP`. Someone ran on our CPU meanwhile and we were released.
//! * **Apart**: the wait ended during its pure spin (the releaser ran while
//!   we held our CPU), or right after a yield that returned at once.
//!
//! A saturating per-thread score moves one step per wait (+1 together, −1
//! apart, within `0..=SCORE_MAX`); at `TOGETHER_AT` or more the hybrid family
//! plans no pure spin and yields at once (`pure_spin`). Two pieces of evidence
//! flip it either way. A thread-local: learning writes no shared line.

use std::cell::Cell;
use std::time::Duration;

/// Score at or above which waits skip their pure spin.
const TOGETHER_AT: u8 = 2;
/// Highest score.
const SCORE_MAX: u8 = 3;
/// A yield took this many times the fastest yield seen: it switched.
const SWITCHED_FACTOR: u32 = 3;
/// ... or at least this long, whatever the fastest yield (a thread whose
/// every yield so far switched has never timed a plain one).
const SWITCHED_CAP: Duration = Duration::from_micros(1);
/// ... but never less than this (clock granularity, a very fast syscall).
const SWITCHED_FLOOR: Duration = Duration::from_nanos(250);

thread_local! {
    static SCORE: Cell<u8> = const { Cell::new(0) };
    /// Fastest yield this thread has timed, in ns (`u64::MAX`: none yet).
    static FASTEST_YIELD_NS: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Waits in a row that ended right after a switched yield.
    static RUN: Cell<u32> = const { Cell::new(0) };
    /// Times this thread stepped aside to another CPU.
    static STEPPED_ASIDE: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread's recent waits say its releaser shares its CPU.
#[inline]
pub fn together() -> bool {
    SCORE.with(Cell::get) >= TOGETHER_AT
}

/// The pure-spin part of a spin budget: `PURE_SPIN` (or less), or nothing
/// while the releaser shares our CPU.
#[inline]
pub(crate) fn pure_spin(budget: Duration) -> Duration {
    if together() {
        Duration::ZERO
    } else {
        budget.min(super::PURE_SPIN)
    }
}

/// One yield of a yield phase took `took` (the wait went on after it).
pub(crate) fn timed_yield(took: Duration) {
    let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
    FASTEST_YIELD_NS.with(|f| f.set(f.get().min(ns)));
}

/// How long a yield that switched to another thread takes at least.
fn switched() -> Duration {
    let fastest = FASTEST_YIELD_NS.with(Cell::get);
    let by_fastest = Duration::from_nanos(fastest.saturating_mul(u64::from(SWITCHED_FACTOR)));
    by_fastest.clamp(SWITCHED_FLOOR, SWITCHED_CAP)
}

/// A wait ended during its pure spin: the releaser ran on another CPU.
#[inline]
pub(crate) fn ended_in_spin() {
    SCORE.with(|s| {
        let v = s.get();
        if v > 0 {
            s.set(v - 1);
        }
    });
}

/// A wait ended right after a yield that took `took`.
pub(crate) fn ended_after_yield(took: Duration) {
    let switched = took >= switched();
    if !switched {
        timed_yield(took);
    }
    SCORE.with(|s| {
        let v = s.get();
        s.set(if switched { (v + 1).min(SCORE_MAX) } else { v.saturating_sub(1) });
    });
    let run = RUN.with(|r| {
        let n = if switched { r.get().saturating_add(1) } else { 0 };
        r.set(n);
        n
    });
    if run >= STEP_ASIDE_AFTER {
        RUN.with(|r| r.set(0));
        step_aside_rarely();
    }
}

/// Together this many waits in a row: move to another CPU.
const STEP_ASIDE_AFTER: u32 = 16;
/// At most one move per this many ms, process-wide.
#[cfg(not(loom))]
const STEP_ASIDE_EVERY_MS: u64 = 100;

/// Move this thread to another CPU of its mask (`places::step_aside`), at
/// most once per `STEP_ASIDE_EVERY_MS` in the whole process, so that two
/// threads that both see the other on their CPU do not both move (and swap).
///
/// Why: a waiter on the releaser's CPU yields at once (above), but the pair
/// still shares one CPU while the other idles, and the kernel can keep it so
/// for as long as the pair runs: a futex wake places the woken thread on the
/// waker's CPU (seen here: a 2-thread team kept on one CPU for a whole
/// 150 ms gap-sweep cell, 0.4–0.7 cores used, 20–60 µs per region).
#[cfg(not(loom))]
fn step_aside_rarely() {
    use crate::primitive::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    static LAST_MS: AtomicU64 = AtomicU64::new(0);
    let now_ms = ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64 + STEP_ASIDE_EVERY_MS;
    // Relaxed: a rate limit; the CAS makes one thread per period the mover.
    let last = LAST_MS.load(Ordering::Relaxed);
    if now_ms.saturating_sub(last) < STEP_ASIDE_EVERY_MS
        || LAST_MS.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_err()
    {
        return;
    }
    if crate::places::step_aside() {
        STEPPED_ASIDE.with(|c| c.set(c.get() + 1));
        // Evidence of the old CPU says nothing about the new one.
        SCORE.with(|s| s.set(0));
    }
}

/// Under loom threads have no CPUs to move between.
#[cfg(loom)]
fn step_aside_rarely() {}

/// How many times this thread moved itself to another CPU
/// (after 16 waits in a row that found its releaser on its own CPU; see
/// the module docs); for tests and diagnostics.
pub fn stepped_aside() -> u32 {
    STEPPED_ASIDE.with(Cell::get)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn two_switched_yields_flip_it_and_two_quick_ones_flip_it_back() {
        std::thread::spawn(|| {
            let us = Duration::from_micros;
            assert!(!together());
            assert_eq!(pure_spin(us(50)), super::super::PURE_SPIN);
            timed_yield(Duration::from_nanos(400));
            ended_after_yield(us(5));
            assert!(!together(), "one piece of evidence is not enough");
            ended_after_yield(us(5));
            assert!(together());
            assert_eq!(pure_spin(us(50)), Duration::ZERO);
            ended_after_yield(us(5));
            ended_in_spin();
            assert!(together(), "saturated at 3: one step back stays together");
            ended_after_yield(Duration::from_nanos(450));
            assert!(!together(), "a yield that returned at once: apart");
            ended_in_spin();
            ended_in_spin();
            assert!(!together());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn switch_threshold_follows_the_fastest_yield_within_bounds() {
        std::thread::spawn(|| {
            assert_eq!(switched(), SWITCHED_CAP, "nothing timed yet");
            timed_yield(Duration::from_nanos(100));
            assert_eq!(switched(), Duration::from_nanos(300));
            timed_yield(Duration::from_nanos(10));
            assert_eq!(switched(), SWITCHED_FLOOR);
        })
        .join()
        .unwrap();
    }
}
