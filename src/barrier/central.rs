//! Sense-reversing central barrier (Mellor-Crummey & Scott 1991, §3.1, with
//! the "sense" generalised to a generation number so waiters never confuse
//! two episodes). See `README.md` in this folder for the protocol.

use super::{wait_on, Algorithm, Deadline, Helper, Shared, Timeout};
use crate::primitive::{AtomicU32, Ordering};
use crate::wait::{WaitCell, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::Duration;

/// Bit 0 of the epoch word: the barrier is broken.
pub(crate) const BROKEN: u32 = 1;
/// One episode in the epoch word: the generation lives in bits 1..=31 and
/// wraps at 2^31 episodes without touching [`BROKEN`].
pub(crate) const GEN_ONE: u32 = 2;

/// Decodes an epoch word for `Debug` and assertion messages.
pub(crate) struct EpochWord(pub(crate) u32);

impl fmt::Debug for EpochWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {{ generation: {}, broken: {} }}", self.0 / GEN_ONE, self.0 & BROKEN != 0)
    }
}

/// The central barrier's state. Two cache lines: arrivals are written by every
/// party, the epoch is read by every waiter, and keeping them apart stops the
/// arrivals from invalidating the line the waiters spin on.
pub(crate) struct Central {
    /// Parties arrived in the current episode, `0..n`. Reset to 0 by the last
    /// arriver before it releases the episode.
    count: CachePadded<AtomicU32>,
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`BROKEN`]) | broken: every waiter leaves with an error |
    /// | 1..=31 | generation: +[`GEN_ONE`] per completed episode |
    epoch: CachePadded<WaitCell>,
    n: u32,
}

impl Central {
    pub(crate) fn new(n: usize) -> Self {
        let n = u32::try_from(n).expect("barrier parties must fit in u32");
        Central { count: CachePadded::new(AtomicU32::new(0)), epoch: CachePadded::new(WaitCell::new(0)), n }
    }
}

impl Algorithm for Central {
    #[inline]
    fn arrive_and_wait<W: WaitStrategy + ?Sized>(
        &self,
        _id: Option<usize>,
        strategy: &W,
        deadline: Option<Deadline>,
        shared: &Shared,
        help: Option<&dyn Helper>,
    ) -> Result<bool, Timeout> {
        // Acquire: pairs with the Release that ended the previous episode, so
        // we also see the `count` reset made before it. Read *before* arriving:
        // this episode cannot end until we arrive, so `e` is its generation.
        let e = self.epoch.word().load(Ordering::Acquire);
        if e & BROKEN != 0 {
            return Err(Timeout::Broken);
        }
        // AcqRel: Release publishes our pre-barrier writes along the RMW chain
        // on `count`; Acquire lets the last arriver see everybody's.
        let arrived = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        debug_assert!(arrived <= self.n, "{arrived} arrivals for {} parties, {:?}", self.n, EpochWord(e));
        if arrived == self.n {
            // Relaxed: published by the Release on the epoch just below, which
            // every party of the next episode acquires before arriving.
            self.count.store(0, Ordering::Relaxed);
            // Release: hands every party's pre-barrier writes (acquired above)
            // to the waiters, who load the epoch with Acquire. An add keeps a
            // concurrent BROKEN bit; the episode still completed.
            self.epoch.word().fetch_add(GEN_ONE, Ordering::Release);
            match help {
                // Helping waiters block on the helper's word, not ours.
                Some(h) => h.wake(),
                None => self.epoch.wake_all(strategy),
            }
            return Ok(true);
        }
        let passed = |w: u32| w & !BROKEN != e;
        let at = deadline.map(|d| d.at);
        match wait_on(&self.epoch, strategy, self.n as usize, at, |w| passed(w) || w & BROKEN != 0, help) {
            Ok(w) if passed(w) => Ok(false),
            Ok(_) => Err(Timeout::Broken),
            Err(_) => {
                // Only a timed wait can time out.
                let after = deadline.map_or(Duration::ZERO, |d| d.after);
                // AcqRel / Acquire: breaking only if the episode is still the
                // one we wait for; if it completed meanwhile we passed. Under
                // the reason lock, so waiters that see the bit find the reason.
                let cas = || self.epoch.word().compare_exchange(e, e | BROKEN, Ordering::AcqRel, Ordering::Acquire);
                match shared.break_on_timeout(after, cas) {
                    Ok(_) => {
                        self.epoch.wake_all(strategy);
                        Err(Timeout::Expired)
                    }
                    Err(w) if passed(w) => Ok(false),
                    Err(_) => Err(Timeout::Broken),
                }
            }
        }
    }

    fn break_now<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        // Release: the break reason was stored (under a mutex) before this;
        // a waiter that acquires the bit finds it.
        self.epoch.word().fetch_or(BROKEN, Ordering::Release);
        self.epoch.wake_all(strategy);
    }

    fn is_broken(&self) -> bool {
        // Acquire: as in `break_now`.
        self.epoch.word().load(Ordering::Acquire) & BROKEN != 0
    }

    fn reset(&self) {
        // Relaxed: `reset` runs under `&mut Barrier`; whoever uses the barrier
        // next gets it through a synchronising hand-over.
        self.count.store(0, Ordering::Relaxed);
        self.epoch.word().fetch_and(!BROKEN, Ordering::Relaxed);
    }
}
