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
