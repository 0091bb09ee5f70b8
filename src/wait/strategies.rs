//! The concrete strategies. Each is a small value type; [`super::WaitPolicy`]
//! dispatches to them by matching once per wait.

use super::{oversubscribed, Finally, Plan, WaitStrategy, OVERSUBSCRIBED_YIELD, PURE_SPIN, SPIN_YIELD_SPIN};
use std::cell::Cell;
use std::time::Duration;

/// Busy-wait forever with a pause hint. **Unsuitable when threads outnumber
/// cores**: the spinners hold the CPUs the releasing thread needs (8 threads
/// on 2 cores took 12 ms per barrier crossing here).
#[derive(Clone, Copy, Debug, Default)]
pub struct Spin;

impl WaitStrategy for Spin {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { spin: Duration::MAX, yield_for: Duration::ZERO, finally: Finally::Spin }
    }
    fn may_block(&self) -> bool {
        false
    }
}

/// Spin for [`SPIN_YIELD_SPIN`], then `sched_yield` until released.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpinYield;

impl WaitStrategy for SpinYield {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { spin: SPIN_YIELD_SPIN, yield_for: Duration::ZERO, finally: Finally::Yield }
    }
    fn may_block(&self) -> bool {
        false
    }
}

/// Block in the OS at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct Block;

impl WaitStrategy for Block {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { spin: Duration::ZERO, yield_for: Duration::ZERO, finally: Finally::Block }
    }
    fn may_block(&self) -> bool {
        true
    }
}

/// The plan of a spin budget `spin` followed by blocking: pure `PAUSE` for
/// the first [`PURE_SPIN`] of it, `sched_yield` for the rest, then block.
#[inline]
pub fn spin_then_yield(spin: Duration) -> Plan {
    let pure = spin.min(PURE_SPIN);
    Plan { spin: pure, yield_for: spin - pure, finally: Finally::Block }
}

/// Spin up to `spin`, then block. The first [`PURE_SPIN`] of the budget is
/// pure `PAUSE`, the rest spins with `sched_yield` (see [`PURE_SPIN`] for
/// why). When the episode's parties outnumber the cores it does not spin at
/// all: it yields for [`OVERSUBSCRIBED_YIELD`], then blocks.
#[derive(Clone, Copy, Debug)]
pub struct Hybrid {
    /// Spin budget before blocking.
    pub spin: Duration,
}

impl Default for Hybrid {
    fn default() -> Self {
        Hybrid { spin: super::DEFAULT_HYBRID_SPIN }
    }
}

impl WaitStrategy for Hybrid {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        if oversubscribed(parties) {
            Plan { spin: Duration::ZERO, yield_for: OVERSUBSCRIBED_YIELD, finally: Finally::Block }
        } else {
            spin_then_yield(self.spin)
        }
    }
    fn may_block(&self) -> bool {
        true
    }
}

/// Shortest spin `Adaptive` will use: 2 µs (a few dozen cache-line round trips).
pub const ADAPTIVE_MIN_SPIN: Duration = Duration::from_micros(2);
/// Longest spin `Adaptive` will use: 100 µs, twice [`super::DEFAULT_HYBRID_SPIN`].
pub const ADAPTIVE_MAX_SPIN: Duration = Duration::from_micros(100);
/// Waits longer than this count as this long in the estimate, so one long
/// pause decays within a few waits: 10 ms.
pub const ADAPTIVE_CLAMP: Duration = Duration::from_millis(10);
/// Weight of a new observation in the moving estimate: 1 / 2^3.
const ADAPTIVE_SHIFT: u32 = 3;

thread_local! {
    /// Exponentially weighted moving average of this thread's recent wait
    /// lengths, in ns. Per thread, so observing writes no shared line.
    static ESTIMATE_NS: Cell<u64> = const { Cell::new(25_000) };
}

/// Hybrid whose spin budget follows the waits this thread observed.
///
/// It keeps a moving average `e` of how long its waits lasted. If `2e` fits in
/// [`ADAPTIVE_MAX_SPIN`], waits are short: spin `max(2e, ADAPTIVE_MIN_SPIN)`,
/// enough to catch a typical release without blocking. Otherwise waits are
/// long and spinning only burns CPU: spin [`ADAPTIVE_MIN_SPIN`], then block.
/// Oversubscribed, it behaves as [`Hybrid`] does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Adaptive;

impl Adaptive {
    /// This thread's current estimate of its wait length.
    pub fn estimate() -> Duration {
        Duration::from_nanos(ESTIMATE_NS.with(Cell::get))
    }

    /// The spin budget the current estimate gives.
    pub fn spin_budget() -> Duration {
        let twice = Self::estimate() * 2;
        if twice <= ADAPTIVE_MAX_SPIN {
            twice.max(ADAPTIVE_MIN_SPIN)
        } else {
            ADAPTIVE_MIN_SPIN
        }
    }
}

impl WaitStrategy for Adaptive {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        if oversubscribed(parties) {
            return Hybrid::default().plan(parties);
        }
        spin_then_yield(Self::spin_budget())
    }

    fn observe(&self, waited: Duration) {
        let w = waited.min(ADAPTIVE_CLAMP).as_nanos() as u64;
        ESTIMATE_NS.with(|e| {
            let old = e.get();
            // e += (w - e) / 8, in integers without underflow.
            let new = if w >= old { old + ((w - old) >> ADAPTIVE_SHIFT) } else { old - ((old - w) >> ADAPTIVE_SHIFT) };
            e.set(new);
        });
    }

    fn may_block(&self) -> bool {
        true
    }
}

/// Check, sleep `interval`, check again: the seed's `system_sleep` loop.
/// Correct, and slow by design: a release is seen up to `interval` late.
#[derive(Clone, Copy, Debug)]
pub struct SleepPoll {
    /// Sleep between checks.
    pub interval: Duration,
}

impl WaitStrategy for SleepPoll {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { spin: Duration::ZERO, yield_for: Duration::ZERO, finally: Finally::Sleep(self.interval) }
    }
    fn may_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn adaptive_shrinks_on_long_waits_and_grows_back() {
        std::thread::spawn(|| {
            for _ in 0..64 {
                Adaptive.observe(Duration::from_millis(5));
            }
            assert_eq!(Adaptive::spin_budget(), ADAPTIVE_MIN_SPIN, "long waits: minimal spin");
            for _ in 0..64 {
                Adaptive.observe(Duration::from_micros(10));
            }
            let b = Adaptive::spin_budget();
            assert!(b > Duration::from_micros(15) && b < Duration::from_micros(25), "short waits: spin ~2x, got {b:?}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn hybrid_does_not_spin_when_oversubscribed() {
        let p = Hybrid::default().plan(super::super::cores() + 1);
        assert_eq!(p.spin, Duration::ZERO);
        assert_eq!(p.yield_for, OVERSUBSCRIBED_YIELD);
        assert_eq!(p.finally, Finally::Block);
        let p = Hybrid::default().plan(1);
        assert_eq!(p.spin + p.yield_for, super::super::DEFAULT_HYBRID_SPIN);
        assert_eq!(p.spin, PURE_SPIN);
        let p = Hybrid { spin: Duration::from_micros(1) }.plan(1);
        assert_eq!((p.spin, p.yield_for), (Duration::from_micros(1), Duration::ZERO));
    }
}
