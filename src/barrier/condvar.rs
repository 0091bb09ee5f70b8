//! Mutex + condvar barrier: the `std::sync::Barrier` design (a count and a
//! generation under one mutex, waiters sleep on one condvar), with the wait
//! policy's spin / yield / sleep-poll phase run first on an atomic mirror of
//! the generation. See `README.md` beside this file for the protocol.
//!
//! Why not wait on a [`WaitCell`](crate::wait::WaitCell) for the whole wait?
//! Because then the condvar would be dead weight and this kind would measure
//! the same thing as the central barrier with a mutex in front. Keeping the
//! condvar for the blocking phase lets the benchmarks compare what
//! `std::sync::Barrier` costs against the futex barriers, under every policy.

use super::central::{EpochWord, BROKEN, GEN_ONE};
use super::{wait_helping, Algorithm, BreakReason, Deadline, Helper, Shared, Timeout};
use crate::primitive::{sleep, AtomicU32, Condvar, Mutex, MutexGuard, Ordering};
use crate::wait::{record_immediate_wait, Backoff, Step, WaitStats, WaitStrategy, CLOCK_EVERY};
use crossbeam_utils::CachePadded;
use std::time::Instant;

/// What the mutex protects.
#[derive(Debug)]
struct State {
    /// Parties arrived in the current episode, `0..n`; reset by the leader.
    count: u32,
    /// The authoritative epoch word, same layout as the central barrier's:
    ///
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`BROKEN`]) | broken: every waiter leaves with an error |
    /// | 1..=31 | generation: +[`GEN_ONE`] per completed episode |
    epoch: u32,
    /// Waiters inside `Condvar::wait`; the leader notifies only if non-zero.
    sleepers: u32,
}

/// The condvar barrier's state.
pub(crate) struct CondvarBarrier {
    state: Mutex<State>,
    cond: Condvar,
    /// A copy of `State::epoch`, stored (only under the mutex, so it never
    /// goes backwards) every time the epoch changes. Waiters in the policy's
    /// spin phase watch it without taking the lock. Its own cache line: the
    /// mutex line bounces with every arrival.
    mirror: CachePadded<AtomicU32>,
    n: u32,
}

/// How the lock-free phase of a wait ended.
enum Watch {
    /// The mirror changed: the episode passed or the barrier broke.
    Changed(u32),
    /// The plan asks to block: go to the condvar.
    Block,
    /// The deadline passed: decide under the lock.
    Expired,
}

impl CondvarBarrier {
    pub(crate) fn new(n: usize) -> Self {
        let n = u32::try_from(n).expect("barrier parties must fit in u32");
        CondvarBarrier {
            state: Mutex::new(State { count: 0, epoch: 0, sleepers: 0 }),
            cond: Condvar::new(),
            mirror: CachePadded::new(AtomicU32::new(0)),
            n,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but a poisoned lock would
        // still hold a consistent state: every update is a single assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Copy the epoch to the mirror. Called under the lock after every
    /// change of `State::epoch`.
    fn publish(&self, st: &State) {
        // Release: a spinning waiter that loads the new value with Acquire
        // sees everything the lock holder saw, i.e. every arriver's writes
        // (each released the lock after arriving, and we acquired it since).
        self.mirror.store(st.epoch, Ordering::Release);
    }

    /// Unlock, then wake the condvar sleepers if there are any. Waiters count
    /// themselves and check the epoch under the same lock, so a waiter not
    /// counted here has not checked yet and will see the change.
    fn unlock_and_notify(&self, st: MutexGuard<'_, State>) {
        let sleepers = st.sleepers;
        drop(st);
        if sleepers > 0 {
            self.cond.notify_all();
        }
    }

    /// The policy's lock-free phase: spin, yield or sleep-poll on the mirror
    /// until it leaves `e`, the plan says block, or the deadline passes.
    fn watch(&self, backoff: &mut Backoff, e: u32, deadline: Option<Instant>, rec: &mut WaitStats) -> Watch {
        let mut steps: u32 = 0;
        loop {
            let step = backoff.snooze();
            steps = steps.wrapping_add(1);
            // As in `WaitCell::wait_until`: read the clock before every yield
            // or sleep, and every CLOCK_EVERY spins.
            let check_clock = !matches!(step, Step::Spun) || steps % CLOCK_EVERY == 0;
            let mut remaining = None;
            if let (Some(d), true) = (deadline, check_clock) {
                match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => remaining = Some(r),
                    _ => return Watch::Expired,
                }
            }
            match step {
                Step::Spun | Step::Yielded => {}
                Step::ShouldBlock => return Watch::Block,
                Step::ShouldNap(nap) => {
                    // Planned to end before the expected release.
                    let nap = remaining.map_or(nap, |r| r.min(nap));
                    sleep(nap);
                    backoff.napped(nap);
                    rec.sleeps += 1;
                }
                Step::ShouldSleep(interval) => {
                    sleep(remaining.map_or(interval, |r| r.min(interval)));
                    rec.sleeps += 1;
                }
            }
            // Acquire: pairs with `publish`.
            let w = self.mirror.load(Ordering::Acquire);
            if w != e {
                return Watch::Changed(w);
            }
        }
    }

    /// The blocking phase, and the final decision of a wait whose deadline
    /// passed: under the lock, so "completed", "broken" and "we break it" are
    /// decided against one consistent state.
    fn wait_locked(
        &self,
        e: u32,
        deadline: Option<Deadline>,
        shared: &Shared,
        rec: &mut WaitStats,
    ) -> Result<bool, Timeout> {
        let mut st = self.lock();
        loop {
            if st.epoch & !BROKEN != e {
                // Completed, even if broken right after: we passed.
                return Ok(false);
            }
            if st.epoch & BROKEN != 0 {
                return Err(Timeout::Broken);
            }
            let timeout = match deadline {
                None => None,
                Some(d) => match d.at.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => {
                        // The decision is final under our lock: record why
                        // before the bit becomes visible (lock order: state,
                        // then reason; nothing takes them the other way).
                        shared.set_reason(BreakReason::TimedOut { after: d.after });
                        st.epoch |= BROKEN;
                        self.publish(&st);
                        self.unlock_and_notify(st);
                        rec.timeouts = 1;
                        return Err(Timeout::Expired);
                    }
                },
            };
            st.sleepers += 1;
            rec.parks += 1;
            st = match timeout {
                None => self.cond.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(r) => self.cond.wait_timeout(st, r).unwrap_or_else(|p| p.into_inner()).0,
            };
            st.sleepers -= 1;
        }
    }
}

/// The outcome of a wait in episode `e` that saw the epoch word `w != e`.
fn outcome(w: u32, e: u32) -> Result<bool, Timeout> {
    if w & !BROKEN != e {
        Ok(false)
    } else {
        Err(Timeout::Broken)
    }
}

impl Algorithm for CondvarBarrier {
    fn arrive_and_wait<W: WaitStrategy + ?Sized>(
        &self,
        _id: Option<usize>,
        strategy: &W,
        deadline: Option<Deadline>,
        shared: &Shared,
        help: Option<&dyn Helper>,
    ) -> Result<bool, Timeout> {
        let mut st = self.lock();
        if st.epoch & BROKEN != 0 {
            return Err(Timeout::Broken);
        }
        st.count += 1;
        debug_assert!(st.count <= self.n, "{} arrivals for {} parties, {:?}", st.count, self.n, EpochWord(st.epoch));
        if st.count == self.n {
            st.count = 0;
            st.epoch = st.epoch.wrapping_add(GEN_ONE);
            self.publish(&st);
            self.unlock_and_notify(st);
            if let Some(h) = help {
                h.wake();
            }
            return Ok(true);
        }
        let e = st.epoch;
        drop(st);
        if let Some(h) = help.filter(|_| deadline.is_none()) {
            // A team member: the condvar is bypassed; we watch the mirror and
            // block on the helper's word, which the last arriver and every
            // breaker wake after publishing the mirror.
            let w = wait_helping(&self.mirror, strategy, self.n as usize, |w| w != e, h);
            return outcome(w, e);
        }

        // Acquire: pairs with `publish`.
        let w = self.mirror.load(Ordering::Acquire);
        if w != e {
            record_immediate_wait();
            return outcome(w, e);
        }
        let mut backoff = Backoff::new(strategy.plan(self.n as usize));
        let mut rec = WaitStats { waits: 1, ..WaitStats::default() };
        let result = match self.watch(&mut backoff, e, deadline.map(|d| d.at), &mut rec) {
            Watch::Changed(w) => outcome(w, e),
            Watch::Block | Watch::Expired => self.wait_locked(e, deadline, shared, &mut rec),
        };
        // Site 0: this wait learns per thread, not per place (`plan` above).
        backoff.conclude(strategy, 0, self.n as usize, None, rec);
        result
    }

    fn break_now<W: WaitStrategy + ?Sized>(&self, _strategy: &W) {
        let mut st = self.lock();
        st.epoch |= BROKEN;
        self.publish(&st);
        self.unlock_and_notify(st);
    }

    fn is_broken(&self) -> bool {
        // Acquire: the break reason was stored before the bit was published.
        self.mirror.load(Ordering::Acquire) & BROKEN != 0
    }

    fn reset(&self) {
        let mut st = self.lock();
        debug_assert_eq!(st.sleepers, 0, "reset with waiters inside, {:?}", EpochWord(st.epoch));
        st.count = 0;
        st.epoch &= !BROKEN;
        self.publish(&st);
    }
}
