//! Wait policies and the one wait loop every phalanx primitive waits through.
//!
//! The protocol (how a waiter decides to block and why no wake-up is lost) is
//! explained in `src/wait/README.md`; read it before changing `cell.rs`.
//!
//! Two things are kept apart, as `parking_lot` and `crossbeam-utils` do:
//! *how long to spin or yield* (a [`Plan`] walked by a [`Backoff`]) and *how to
//! block* (the futex or condvar backend in `block/`). A [`WaitStrategy`] only
//! chooses the plan; [`WaitCell::wait_until`] runs it.

mod backoff;
mod block;
mod cell;
pub mod colocate;
mod stats;
mod strategies;

pub use backoff::{Backoff, Step, CLOCK_EVERY, CLOCK_FREE_SPINS, NOMINAL_PAUSE};
pub use cell::{WaitCell, WaitTimedOut};
pub(crate) use stats::{record as record_wait, record_immediate as record_immediate_wait};
pub use stats::{reset_stats, stats, WaitStats};
pub use strategies::{
    spin_then_yield, Adaptive, Block, Hybrid, Predictive, SleepPoll, Spin, SpinYield, ADAPTIVE_CLAMP,
    ADAPTIVE_MAX_SPIN, ADAPTIVE_MIN_SPIN, PREDICTIVE_MIN_NAP,
};

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The deadline `timeout` from now, or `None` (no deadline) when it lies
/// beyond what an `Instant` can hold: `wait_timeout(Duration::MAX)` then waits
/// like `wait()` instead of panicking on the overflow of `now + timeout`
/// (`parking_lot_core`'s Linux parker treats an overflowing deadline the same
/// way). Every `*_timeout` in the crate computes its deadline here.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Default spin budget of [`WaitPolicy::Hybrid`]: 50 µs.
///
/// On the reference machine (2-vCPU KVM guest, see `src/wait/README.md`) a
/// futex wake takes about 22 µs median and 50 µs at p99 from `FUTEX_WAKE` to the
/// waiter running again. Spinning for as long as a block-and-wake costs is the
/// classic 2-competitive choice (Karlin et al., "Competitive randomized
/// algorithms for nonuniform problems", 1990): a waiter never spends more than
/// twice what an oracle would. We take the p99 wake cost, so that a wait which
/// would have been released during one blocking round trip is not blocked.
pub const DEFAULT_HYBRID_SPIN: Duration = Duration::from_micros(50);

/// How long an oversubscribed waiter under `Hybrid` or `Adaptive` keeps
/// yielding before it blocks: 200 µs.
///
/// With more waiters than cores a spinner steals the CPU from the thread it
/// waits for; a yield hands it over. Measured here: 8 threads on 2 cores cross
/// a yield barrier in 2.5–5.4 µs, a futex barrier in 23–51 µs. The budget covers
/// many such crossings yet caps the CPU burnt by a long wait at 0.02 %.
pub const OVERSUBSCRIBED_YIELD: Duration = Duration::from_micros(200);

/// How much of a `Hybrid` or `Adaptive` spin budget is pure `PAUSE`: 4 µs.
/// The rest of the budget spins with `sched_yield` instead.
///
/// A waiter whose partner thread is runnable but has no CPU (other processes
/// load the cores) cannot be released by spinning: a pure 50 µs spin then
/// cost every barrier crossing the whole budget plus a futex wake (83–111 µs
/// per crossing here at load 25, against 3.5–29 µs for `Block`). A yield hands
/// the CPU to the partner when one is waiting and returns in about 0.5 µs when
/// none is. 4 µs of pure spinning (about 40 cache-line round trips) first
/// keeps the latency of short waits — a barrier episode, a fork — at spin
/// speed.
pub const PURE_SPIN: Duration = Duration::from_micros(4);

/// Spin budget of `SpinYield` before it switches to `yield_now`: 2 µs (about
/// 80 `PAUSE`s at 25 ns, enough for a cache-line round trip of 0.09 µs many
/// times over).
pub const SPIN_YIELD_SPIN: Duration = Duration::from_micros(2);

/// Which waiting behaviour a primitive or a team uses. Parsed from
/// `OMP_WAIT_POLICY` / `PHALANX_WAIT_POLICY`, chosen once, then run through
/// [`WaitStrategy`].
///
/// | policy | first | then | good for |
/// |---|---|---|---|
/// | `Spin` | `PAUSE` loop | forever | dedicated cores, waits < 1 µs; **never oversubscribed** |
/// | `SpinYield` | `PAUSE` for [`SPIN_YIELD_SPIN`] | `sched_yield` forever | oversubscribed short waits |
/// | `Block` | futex at once | — | long waits, shared machines |
/// | `Hybrid { spin }` | `PAUSE` for `spin` (yield if oversubscribed) | futex | waits of unknown length |
/// | `Adaptive` | spin as long as recent waits lasted | futex | waits that change length |
/// | `Predictive` (default) | regular waits: timed futex nap until shortly before the expected release, then spin; else as `Hybrid` | futex | periodic forks (time-step loops); the default |
/// | `SleepPoll { interval }` | check, sleep `interval`, check | forever | nothing: the baseline |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Busy-wait with a CPU pause hint. Lowest latency with a core per thread;
    /// collapses when threads outnumber cores (the waiters eat the CPU the
    /// releasing thread needs). `OMP_WAIT_POLICY=active`.
    Spin,
    /// Spin for [`SPIN_YIELD_SPIN`], then `sched_yield` in a loop.
    SpinYield,
    /// Block on the OS wait-on-address (Linux futex) at once.
    /// `OMP_WAIT_POLICY=passive`.
    Block,
    /// Spin up to `spin`, then block; oversubscribed waiters yield instead of
    /// spinning. Like `KMP_BLOCKTIME`; the default's plan for irregular waits.
    Hybrid {
        /// How long to spin before blocking.
        spin: Duration,
    },
    /// Hybrid whose spin budget follows the waits this thread observed.
    Adaptive,
    /// Learns the length of the waits at each place it waits (a team's fork
    /// word, a barrier): when they come regularly (a time-step loop forking
    /// every few hundred µs), it sleeps through most of the expected gap with
    /// a timed futex wait, wakes shortly before the expected release and spins
    /// through it; on irregular waits it behaves as `Hybrid`. See
    /// [`Predictive`] and `src/wait/README.md`.
    Predictive,
    /// Check a flag, sleep `interval`, check again: the seed program's
    /// `system_sleep` loop. Correct (no data race, no missed release) but every
    /// release is seen up to `interval` late. Kept so benchmarks can show it.
    SleepPoll {
        /// Sleep between checks.
        interval: Duration,
    },
}

/// The default is [`WaitPolicy::Predictive`]: on irregular or short waits it
/// plans exactly as `Hybrid` (spin 50 µs, then block), and on regular waits
/// of 30 µs or more (a time-step loop's fork) it sleeps through most of the
/// gap instead of paying a futex wake per region. The gap sweep
/// (`examples/gap_sweep.rs`, BENCHMARKS.md) chose it: as fast as or faster
/// than `Hybrid` at every gap, 10–20× less overhead per region at 100 µs –
/// 1 ms gaps, and no C OpenMP setting both faster and cheaper.
impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy::Predictive
    }
}

impl WaitPolicy {
    /// Every policy, with default parameters, in table order (benchmarks
    /// iterate over this). `SleepPoll` uses a 1 ms interval, as the seed does.
    pub fn all() -> [WaitPolicy; 7] {
        [
            WaitPolicy::Spin,
            WaitPolicy::SpinYield,
            WaitPolicy::Block,
            WaitPolicy::Hybrid { spin: DEFAULT_HYBRID_SPIN },
            WaitPolicy::Adaptive,
            WaitPolicy::Predictive,
            WaitPolicy::SleepPoll { interval: Duration::from_millis(1) },
        ]
    }

    /// A short, stable name: `spin`, `spin-yield`, `block`, `hybrid`,
    /// `adaptive`, `sleep-poll`.
    pub fn name(&self) -> &'static str {
        match self {
            WaitPolicy::Spin => "spin",
            WaitPolicy::SpinYield => "spin-yield",
            WaitPolicy::Block => "block",
            WaitPolicy::Hybrid { .. } => "hybrid",
            WaitPolicy::Adaptive => "adaptive",
            WaitPolicy::Predictive => "predictive",
            WaitPolicy::SleepPoll { .. } => "sleep-poll",
        }
    }
}

impl fmt::Display for WaitPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitPolicy::Hybrid { spin } => write!(f, "hybrid({}us)", spin.as_micros()),
            WaitPolicy::SleepPoll { interval } => write!(f, "sleep-poll({}us)", interval.as_micros()),
            other => f.write_str(other.name()),
        }
    }
}

/// What one wait will do once its first check fails: spin for `spin`, then
/// yield for `yield_for`, then `finally`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// First sleep this long in the OS, woken early by a release (a timed
    /// park on the word): `Predictive`'s nap through an expected gap. Zero
    /// for every other policy.
    pub nap: Duration,
    /// Busy-wait this long (time, not iterations: `PAUSE` costs 25 ns on one
    /// CPU and 140 cycles on another).
    pub spin: Duration,
    /// Then `sched_yield` this long.
    pub yield_for: Duration,
    /// Then this, until the wait ends.
    pub finally: Finally,
}

/// How a wait that began with a nap ([`Plan::nap`]) ended, for
/// [`WaitStrategy::observe_nap_outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NapOutcome {
    /// The release came during the nap: the nap was too long.
    Released,
    /// The timer ended the nap and the release came this long after it,
    /// inside the spin window.
    Spun(Duration),
    /// The release came after the whole spin window (the wait blocked): the
    /// gap was longer than expected; says nothing about the nap.
    Overran,
}

/// The last phase of a [`Plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finally {
    /// Keep spinning.
    Spin,
    /// Keep yielding.
    Yield,
    /// Block in the OS until woken.
    Block,
    /// Sleep this long between checks; never blocks on the word.
    Sleep(Duration),
}

/// Chooses how a wait proceeds. Primitives are generic over it
/// (`Barrier<W = WaitPolicy>`), so a concrete strategy type is dispatched
/// statically; [`WaitPolicy`] implements it too, by matching once per wait.
pub trait WaitStrategy: Send + Sync {
    /// The plan for one wait that did not end at its first check. `parties`
    /// is how many threads take part in the episode (the waiters plus the
    /// thread that will release them); more parties than cores means
    /// oversubscribed.
    fn plan(&self, parties: usize) -> Plan;

    /// Feedback after a wait that needed a plan: how long it lasted.
    fn observe(&self, _waited: Duration) {}

    /// [`plan`](Self::plan) for a wait at `site` (the address of the word
    /// waited on), for strategies that learn per place. Defaults to `plan`.
    fn plan_at(&self, _site: usize, parties: usize) -> Plan {
        self.plan(parties)
    }

    /// [`observe`](Self::observe) for a wait at `site`. Defaults to `observe`.
    fn observe_at(&self, _site: usize, waited: Duration) {
        self.observe(waited)
    }

    /// A nap of the plan for `site` ended by its timer, `late` after the time
    /// asked for (timer slack, wake-up latency).
    fn observe_nap(&self, _site: usize, _late: Duration) {}

    /// How a wait at `site` that napped ended (see [`NapOutcome`]).
    fn observe_nap_outcome(&self, _site: usize, _outcome: NapOutcome) {}

    /// Whether any waiter may block in the OS, so a releaser must check for
    /// sleepers and wake them. `false` lets `Spin`, `SpinYield` and `SleepPoll`
    /// skip the wake-side fence.
    fn may_block(&self) -> bool;
}

impl WaitStrategy for WaitPolicy {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        match *self {
            WaitPolicy::Spin => Spin.plan(parties),
            WaitPolicy::SpinYield => SpinYield.plan(parties),
            WaitPolicy::Block => Block.plan(parties),
            WaitPolicy::Hybrid { spin } => Hybrid { spin }.plan(parties),
            WaitPolicy::Adaptive => Adaptive.plan(parties),
            WaitPolicy::Predictive => Predictive.plan(parties),
            WaitPolicy::SleepPoll { interval } => SleepPoll { interval }.plan(parties),
        }
    }

    #[inline]
    fn observe(&self, waited: Duration) {
        if let WaitPolicy::Adaptive = self {
            Adaptive.observe(waited);
        }
    }

    #[inline]
    fn plan_at(&self, site: usize, parties: usize) -> Plan {
        match self {
            WaitPolicy::Predictive => Predictive.plan_at(site, parties),
            other => other.plan(parties),
        }
    }

    #[inline]
    fn observe_at(&self, site: usize, waited: Duration) {
        match self {
            WaitPolicy::Predictive => Predictive.observe_at(site, waited),
            other => other.observe(waited),
        }
    }

    #[inline]
    fn observe_nap(&self, site: usize, late: Duration) {
        if let WaitPolicy::Predictive = self {
            Predictive.observe_nap(site, late);
        }
    }

    #[inline]
    fn observe_nap_outcome(&self, site: usize, outcome: NapOutcome) {
        if let WaitPolicy::Predictive = self {
            Predictive.observe_nap_outcome(site, outcome);
        }
    }

    #[inline]
    fn may_block(&self) -> bool {
        matches!(self, WaitPolicy::Block | WaitPolicy::Hybrid { .. } | WaitPolicy::Adaptive | WaitPolicy::Predictive)
    }
}

impl<W: WaitStrategy + ?Sized> WaitStrategy for &W {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        (**self).plan(parties)
    }
    #[inline]
    fn observe(&self, waited: Duration) {
        (**self).observe(waited)
    }
    #[inline]
    fn plan_at(&self, site: usize, parties: usize) -> Plan {
        (**self).plan_at(site, parties)
    }
    #[inline]
    fn observe_at(&self, site: usize, waited: Duration) {
        (**self).observe_at(site, waited)
    }
    #[inline]
    fn observe_nap(&self, site: usize, late: Duration) {
        (**self).observe_nap(site, late)
    }
    #[inline]
    fn observe_nap_outcome(&self, site: usize, outcome: NapOutcome) {
        (**self).observe_nap_outcome(site, outcome)
    }
    #[inline]
    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// Number of CPUs this process may run on, read once.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Whether `parties` threads taking part in one episode outnumber the cores.
#[inline]
pub fn oversubscribed(parties: usize) -> bool {
    parties > cores()
}
