//! [`WaitCell`]: a 32-bit word that threads wait on, and the one wait loop.
//!
//! Protocol (full version with the proof sketch in `src/wait/README.md`):
//!
//! * A **waker** changes the word, then calls [`WaitCell::wake_all`], which does
//!   `fence(SeqCst)` (F_w) and reads `sleepers`; if it is non-zero it wakes the
//!   parked threads.
//! * A **waiter** about to park increments `sleepers`, does `fence(SeqCst)`
//!   (F_p), re-reads the word and parks only if it still holds the value it
//!   saw. The futex re-checks that value atomically with queueing.
//!
//! F_w and F_p are ordered one way or the other in the single total order of
//! SeqCst fences. If F_w comes first, the waiter's re-read sees the change and
//! it does not park; if F_p comes first, the waker's read of `sleepers` sees the
//! increment and it wakes. Either way no wake-up is lost.

use super::backoff::{Backoff, Step, CLOCK_EVERY};
use super::block::Parker;
use super::stats::{self, WaitStats};
use super::WaitStrategy;
use crate::primitive::{fence, sleep, AtomicU32, Ordering};
use std::fmt;
use std::time::Instant;

/// A wait ended because its deadline passed; `last` is the word's value then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimedOut {
    /// The value of the word when the wait gave up.
    pub last: u32,
}

impl fmt::Display for WaitTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wait timed out (word = {:#x})", self.last)
    }
}

impl std::error::Error for WaitTimedOut {}

/// A 32-bit word plus what it takes to block on it. Every phalanx primitive
/// keeps the state its waiters watch in one of these and waits through
/// [`wait_until`](Self::wait_until).
pub struct WaitCell {
    /// The state the primitive's waiters watch. Its meaning belongs to the
    /// primitive (barrier epoch, gate state, latch count, queue length).
    word: AtomicU32,
    /// Threads between "about to park" and "back from park". Read by wakers
    /// to skip the wake syscall when it is zero.
    sleepers: AtomicU32,
    parker: Parker,
}

impl fmt::Debug for WaitCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitCell")
            .field("word", &format_args!("{:#x}", self.word.load(Ordering::Relaxed)))
            .field("sleepers", &self.sleepers.load(Ordering::Relaxed))
            .finish()
    }
}

impl WaitCell {
    /// A cell whose word starts at `value`.
    pub fn new(value: u32) -> Self {
        WaitCell { word: AtomicU32::new(value), sleepers: AtomicU32::new(0), parker: Parker::new() }
    }

    /// The word itself, for the primitive's own atomic operations. Any change
    /// that can end a wait must be followed by [`wake_all`](Self::wake_all).
    #[inline]
    pub fn word(&self) -> &AtomicU32 {
        &self.word
    }

    /// Wake every thread blocked on this cell, if any may be. Call it after
    /// every change of the word that can end a wait, with the strategy the
    /// waiters use.
    #[inline]
    pub fn wake_all<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        if !strategy.may_block() {
            // Spin, SpinYield and SleepPoll never park: nobody to wake.
            return;
        }
        // F_w: pairs with F_p in `park`. Orders our change of `word` (before
        // this fence) against the read of `sleepers` below, so that either a
        // parking waiter sees the change or we see its increment.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by F_w above; a stale non-zero only costs a syscall.
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.parker.unpark_all(&self.word);
        }
    }

    /// Wake one thread blocked on this cell, if any may be: for a change
    /// that only one waiter can use (one item pushed to a queue). Same
    /// protocol as [`wake_all`](Self::wake_all); a woken waiter that finds
    /// nothing to do goes back to waiting, so waking one never strands work
    /// as long as every such change wakes one.
    #[inline]
    pub fn wake_one<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        if !strategy.may_block() {
            return;
        }
        // F_w: as in `wake_all`.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by F_w above, as in `wake_all`.
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.parker.unpark_one(&self.word);
        }
    }

    /// Wait until `done(word)` holds, following `strategy`'s plan for an
    /// episode of `parties` threads, or until `deadline`. Returns the value
    /// that satisfied `done`. The load that reads it is `Acquire`, so what the
    /// waker wrote before changing the word (with `Release` or stronger) is
    /// visible to the caller.
    ///
    /// The deadline is checked about every 0.4 µs while spinning and before
    /// every yield, block and sleep; a wait that ends inside the first 1.6 µs
    /// is never timed (see `backoff.rs`).
    #[inline]
    pub fn wait_until<W, F>(
        &self,
        strategy: &W,
        parties: usize,
        deadline: Option<Instant>,
        mut done: F,
    ) -> Result<u32, WaitTimedOut>
    where
        W: WaitStrategy + ?Sized,
        F: FnMut(u32) -> bool,
    {
        // Acquire: pairs with the waker's Release (or stronger) change.
        let v = self.word.load(Ordering::Acquire);
        if done(v) {
            stats::record_immediate();
            return Ok(v);
        }
        self.wait_slow(strategy, parties, deadline, v, &mut done)
    }

    #[cold]
    fn wait_slow<W, F>(
        &self,
        strategy: &W,
        parties: usize,
        deadline: Option<Instant>,
        mut v: u32,
        done: &mut F,
    ) -> Result<u32, WaitTimedOut>
    where
        W: WaitStrategy + ?Sized,
        F: FnMut(u32) -> bool,
    {
        // The word's address: strategies that learn per place key on it.
        let site = self as *const WaitCell as usize;
        let mut backoff = Backoff::new(strategy.plan_at(site, parties));
        let mut rec = WaitStats { waits: 1, ..WaitStats::default() };
        let mut steps: u32 = 0;
        // Whether a nap ended by its timer (`Some(true)`) or by a release.
        let mut nap_timer: Option<bool> = None;
        let result = loop {
            let step = backoff.snooze();
            steps = steps.wrapping_add(1);
            let check_clock = !matches!(step, Step::Spun) || steps % CLOCK_EVERY == 0;
            let remaining = match deadline {
                Some(d) if check_clock => match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => {
                        // Past the deadline: one last look, so a release that
                        // raced with the timeout still counts as a release.
                        let last = self.word.load(Ordering::Acquire);
                        if done(last) {
                            break Ok(last);
                        }
                        rec.timeouts = 1;
                        break Err(WaitTimedOut { last });
                    }
                },
                _ => None,
            };
            match step {
                Step::Spun | Step::Yielded => {}
                Step::ShouldBlock => {
                    self.park(v, remaining);
                    rec.parks += 1;
                }
                Step::ShouldSleep(interval) => {
                    sleep(remaining.map_or(interval, |r| r.min(interval)));
                    rec.sleeps += 1;
                }
                Step::ShouldNap(nap) => {
                    let nap = remaining.map_or(nap, |r| r.min(nap));
                    let t = Instant::now();
                    self.park(v, Some(nap));
                    let slept = t.elapsed();
                    rec.parks += 1;
                    // Relaxed: only decides whether the timer (not a
                    // release) ended the nap, for the lateness estimate.
                    let timer = slept >= nap && self.word.load(Ordering::Relaxed) == v;
                    if timer {
                        strategy.observe_nap(site, slept - nap);
                    }
                    nap_timer = Some(timer);
                    backoff.napped(slept);
                }
            }
            // Acquire: as in `wait_until`.
            v = self.word.load(Ordering::Acquire);
            if done(v) {
                break Ok(v);
            }
        };
        // A park after the nap's own: the wait outlasted the spin window.
        let nap = nap_timer.map(|timer| backoff.nap_outcome(timer, rec.parks > 1));
        backoff.conclude(strategy, site, parties, nap, rec);
        result
    }

    /// Block while the word still holds `seen`, for at most `timeout`.
    fn park(&self, seen: u32, timeout: Option<std::time::Duration>) {
        // Relaxed: the increment is ordered before the re-read by F_p.
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // F_p: pairs with F_w in `wake_all` (see the module comment).
        fence(Ordering::SeqCst);
        // Relaxed: ordered by F_p; the caller re-reads with Acquire afterwards.
        if self.word.load(Ordering::Relaxed) == seen {
            self.parker.park(&self.word, seen, timeout);
        }
        // Relaxed: only makes a later waker's syscall unnecessary; no data
        // is published through it.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
    }
}
