//! Walks a [`Plan`]: spin, then yield, then the final phase. Time-based, not
//! count-based, except for a short clock-free prefix (see [`CLOCK_FREE_SPINS`]).

use super::{Finally, Plan};
use crate::primitive::{spin_loop, yield_now};
use std::time::{Duration, Instant};

/// Spins done before the first clock read: 64 × `PAUSE` ≈ 1.6 µs here.
///
/// Reading `Instant::now` costs about 23 ns on the reference machine, as much
/// as one `PAUSE` (25 ns); a two-thread barrier crossing takes about 0.1 µs.
/// Waits that end inside the prefix therefore never touch the clock.
pub const CLOCK_FREE_SPINS: u32 = 64;

/// After the prefix, read the clock once per this many spins (≈ 0.4 µs).
pub const CLOCK_EVERY: u32 = 16;

/// Nominal cost of one `PAUSE` on the reference machine (measured: 25 ns).
/// Only used to estimate the length of waits that ended in the clock-free
/// prefix, for [`super::Adaptive`] and the statistics.
pub const NOMINAL_PAUSE: Duration = Duration::from_nanos(25);

/// What one [`Backoff::snooze`] did, or what the caller must do now.
#[must_use = "ShouldBlock and ShouldSleep ask the caller to block or sleep"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// One `PAUSE` was executed.
    Spun,
    /// One `sched_yield` was executed.
    Yielded,
    /// The spin and yield budgets are spent: block in the OS.
    ShouldBlock,
    /// Sleep this long, then check again (`SleepPoll`).
    ShouldSleep(Duration),
    /// Park on the word for at most this long, woken early by a release,
    /// then check again and go on with the plan (`Predictive`'s nap). The
    /// caller reports the time it really slept with [`Backoff::napped`].
    ShouldNap(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Nap,
    Spin,
    Yield,
    Finally,
}

/// The per-wait state of a [`Plan`]. Create one when a wait's first check fails
/// and call [`snooze`](Self::snooze) between checks.
#[derive(Debug)]
pub struct Backoff {
    plan: Plan,
    phase: Phase,
    started: Option<Instant>,
    spins: u64,
    yields: u64,
    /// Time spent in the nap (before the clock of the spin phase started).
    napped: Duration,
    /// Clock time (since `started`) before the last yield of the yield
    /// phase: the next step times that yield (`colocate.rs`).
    last_yield: Option<Duration>,
}

impl Backoff {
    /// Start walking `plan`.
    pub fn new(plan: Plan) -> Self {
        if !plan.nap.is_zero() {
            return Backoff {
                plan,
                phase: Phase::Nap,
                started: None,
                spins: 0,
                yields: 0,
                napped: Duration::ZERO,
                last_yield: None,
            };
        }
        Self::after_nap(plan)
    }

    /// The state at the start of the plan's spin phase.
    fn after_nap(plan: Plan) -> Self {
        let phase = if !plan.spin.is_zero() {
            Phase::Spin
        } else if !plan.yield_for.is_zero() {
            Phase::Yield
        } else {
            Phase::Finally
        };
        // A plan with no spin phase starts its clock at once (yields and blocks
        // cost far more than a clock read).
        let started = (phase != Phase::Spin).then(Instant::now);
        Backoff { plan, phase, started, spins: 0, yields: 0, napped: Duration::ZERO, last_yield: None }
    }

    /// The caller's nap ended after `slept`: go on with the spin phase, its
    /// budget counted from now.
    pub fn napped(&mut self, slept: Duration) {
        let before = self.napped + slept;
        *self = Self::after_nap(self.plan);
        self.napped = before;
    }

    /// Take one step of the plan. Spins and yields are done here; blocking
    /// and sleeping are left to the caller, who knows the word and deadline.
    #[inline]
    pub fn snooze(&mut self) -> Step {
        loop {
            match self.phase {
                Phase::Nap => {
                    // Once: the caller naps, then calls `napped`; a caller
                    // that does not continues with the spin phase.
                    let nap = self.plan.nap;
                    let napped = self.napped;
                    *self = Self::after_nap(self.plan);
                    self.napped = napped;
                    return Step::ShouldNap(nap);
                }
                Phase::Spin => {
                    if self.spin_budget_left() {
                        spin_loop();
                        self.spins += 1;
                        return Step::Spun;
                    }
                    self.phase = if self.plan.yield_for.is_zero() { Phase::Finally } else { Phase::Yield };
                }
                Phase::Yield => {
                    let limit = self.plan.spin.saturating_add(self.plan.yield_for);
                    let now = self.elapsed_now();
                    if let Some(before) = self.last_yield.take() {
                        // The last yield (and one check) took this long; the
                        // wait went on, so nobody released us meanwhile.
                        super::colocate::timed_yield(now.saturating_sub(before));
                    }
                    if now < limit {
                        self.last_yield = Some(now);
                        yield_now();
                        self.yields += 1;
                        return Step::Yielded;
                    }
                    self.phase = Phase::Finally;
                }
                Phase::Finally => {
                    return match self.plan.finally {
                        Finally::Spin => {
                            spin_loop();
                            self.spins += 1;
                            Step::Spun
                        }
                        Finally::Yield => {
                            yield_now();
                            self.yields += 1;
                            Step::Yielded
                        }
                        Finally::Block => Step::ShouldBlock,
                        Finally::Sleep(d) => Step::ShouldSleep(d),
                    };
                }
            }
        }
    }

    #[inline]
    fn spin_budget_left(&mut self) -> bool {
        if self.plan.spin == Duration::MAX {
            return true;
        }
        if self.started.is_none() {
            if self.spins < u64::from(CLOCK_FREE_SPINS) {
                return true;
            }
            self.started = Some(Instant::now());
            return true;
        }
        if self.spins % u64::from(CLOCK_EVERY) != 0 {
            return true;
        }
        self.elapsed_now() < self.plan.spin
    }

    /// Time since the clock started (starting it now if it had not).
    fn elapsed_now(&mut self) -> Duration {
        let start = *self.started.get_or_insert_with(Instant::now);
        start.elapsed()
    }

    /// How long this wait has lasted so far: the clock time since it started,
    /// plus the clock-free prefix estimated at [`NOMINAL_PAUSE`] per spin.
    pub fn waited(&self) -> Duration {
        self.napped
            + match self.started {
                Some(t) => t.elapsed() + NOMINAL_PAUSE * CLOCK_FREE_SPINS.min(self.spins as u32),
                None => NOMINAL_PAUSE * (self.spins.min(u64::from(u32::MAX)) as u32),
            }
    }

    /// The wait (of an episode of `parties` threads) is over: tell the
    /// co-location detector (`colocate.rs`) whether it ended in the pure spin
    /// (the releaser ran on another CPU) or right after a yield, and how long
    /// that yield took. Oversubscribed episodes tell it nothing: there every
    /// yield switches to another member, by design.
    pub fn finish(&mut self, parties: usize) {
        if super::oversubscribed(parties) {
            return;
        }
        if self.phase == Phase::Spin && self.spins > 0 && self.yields == 0 {
            if self.plan.spin != Duration::MAX {
                super::colocate::ended_in_spin();
            }
        } else if let Some(before) = self.last_yield {
            let took = self.elapsed_now().saturating_sub(before);
            super::colocate::ended_after_yield(took);
        }
    }

    /// How a wait that napped ended: `timer` says whether the timer (not a
    /// release) ended the nap, `blocked` whether the wait blocked after the
    /// spin window. Call it when the wait is over.
    pub fn nap_outcome(&self, timer: bool, blocked: bool) -> super::NapOutcome {
        if !timer {
            super::NapOutcome::Released
        } else if blocked {
            super::NapOutcome::Overran
        } else {
            super::NapOutcome::Spun(self.waited().saturating_sub(self.napped))
        }
    }

    /// The end of every wait that walked a plan, for the wait loops
    /// (`WaitCell::wait_slow`, the barriers' helping and condvar waits): tell
    /// the co-location detector ([`finish`](Self::finish)), `strategy` how
    /// the nap ended (`nap`, if the wait napped) and how long the wait at
    /// `site` lasted, and record `rec` with this wait's spins, yields and
    /// length in the thread's statistics. Always inlined: as a call it made
    /// the 2-thread barrier crossing 0.06 → 0.115 µs (measured, the loops'
    /// code layout), which the copies it replaces did not.
    #[inline(always)]
    pub(crate) fn conclude<W: super::WaitStrategy + ?Sized>(
        &mut self,
        strategy: &W,
        site: usize,
        parties: usize,
        nap: Option<super::NapOutcome>,
        mut rec: super::WaitStats,
    ) {
        self.finish(parties);
        rec.spins = self.spins();
        rec.yields = self.yields();
        rec.waited = self.waited();
        if let Some(outcome) = nap {
            strategy.observe_nap_outcome(site, outcome);
        }
        strategy.observe_at(site, rec.waited);
        super::record_wait(rec);
    }

    /// `PAUSE`s executed so far.
    pub fn spins(&self) -> u64 {
        self.spins
    }

    /// `sched_yield`s executed so far.
    pub fn yields(&self) -> u64 {
        self.yields
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    // Miri's clock runs far faster than its interpreter: the 20 µs yield
    // phase is over before one yield, so the phases cannot all be observed.
    #[cfg_attr(miri, ignore)]
    fn spin_then_yield_then_block() {
        let mut b = Backoff::new(Plan {
            nap: Duration::ZERO,
            spin: Duration::from_micros(20),
            yield_for: Duration::from_micros(20),
            finally: Finally::Block,
        });
        let mut saw = [false; 3];
        for _ in 0..10_000_000 {
            match b.snooze() {
                Step::Spun => saw[0] = true,
                Step::Yielded => {
                    assert!(saw[0], "yielded before spinning");
                    saw[1] = true
                }
                Step::ShouldBlock => {
                    saw[2] = true;
                    break;
                }
                Step::ShouldSleep(_) | Step::ShouldNap(_) => panic!("plan has no sleep or nap"),
            }
        }
        assert_eq!(saw, [true, true, true], "phases seen: spin, yield, block");
        assert!(b.waited() >= Duration::from_micros(40), "waited {:?}", b.waited());
    }

    #[test]
    fn zero_plan_blocks_at_once() {
        let mut b = Backoff::new(Plan {
            nap: Duration::ZERO,
            spin: Duration::ZERO,
            yield_for: Duration::ZERO,
            finally: Finally::Block,
        });
        assert_eq!(b.snooze(), Step::ShouldBlock);
        assert_eq!(b.spins(), 0);
    }

    #[test]
    fn sleep_plan_asks_to_sleep() {
        let d = Duration::from_millis(1);
        let mut b = Backoff::new(Plan {
            nap: Duration::ZERO,
            spin: Duration::ZERO,
            yield_for: Duration::ZERO,
            finally: Finally::Sleep(d),
        });
        assert_eq!(b.snooze(), Step::ShouldSleep(d));
    }

    #[test]
    fn a_nap_comes_first_and_counts_in_the_wait() {
        let nap = Duration::from_micros(300);
        let mut b = Backoff::new(Plan {
            nap,
            spin: Duration::from_micros(5),
            yield_for: Duration::ZERO,
            finally: Finally::Block,
        });
        assert_eq!(b.snooze(), Step::ShouldNap(nap));
        b.napped(nap);
        assert!(b.waited() >= nap, "the nap counts: {:?}", b.waited());
        let mut spun = false;
        loop {
            match b.snooze() {
                Step::Spun => spun = true,
                Step::ShouldBlock => break,
                other => panic!("after the nap: spin, then block; got {other:?}"),
            }
        }
        assert!(spun, "the spin phase follows the nap");
    }
}
