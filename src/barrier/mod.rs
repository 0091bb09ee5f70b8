//! Barriers: every party waits until all `n` have arrived, then all go on.
//!
//! The protocols (word layouts, who writes what, how breaking releases every
//! waiter) are in `src/barrier/README.md`. One file per algorithm:
//! `central.rs` (sense-reversing counter), `tree.rs` (combining tree),
//! `condvar.rs` (mutex + condvar, the `std::sync::Barrier` design).
//!
//! **Breaking.** A barrier whose episode cannot complete is *broken*: a party
//! panicked ([`PartyGuard`] dropped while unwinding), left ([`PartyGuard::leave`]),
//! or a [`Barrier::wait_timeout`] expired (as Java's `CyclicBarrier` does). Every
//! current and future waiter then gets `Err(BarrierError::Broken(reason))`
//! instead of hanging, until [`Barrier::reset`]. We return errors rather than
//! panic so a caller (the team) can turn them into one region error.

mod central;
mod condvar;
mod tree;

pub use tree::FAN_IN as TREE_FAN_IN;

use crate::primitive::{sleep, AtomicU32, Mutex, Ordering};
use crate::wait::{
    deadline_after, record_immediate_wait, Backoff, Step, WaitCell, WaitPolicy, WaitStats, WaitStrategy,
};
use std::fmt;
use std::time::{Duration, Instant};

/// What a barrier waiter does besides waiting: a team's barrier is a task
/// scheduling point (OpenMP), so its waiters run queued tasks until the
/// episode ends. Implemented by the team (`src/tasks/spawn.rs`); the
/// protocol is "Barriers that run tasks" in `README.md` beside this file.
///
/// Contract: within one barrier, either every arrival passes a helper or
/// none does (helping waiters block on the helper's event word, so the
/// barrier's own wake-ups are replaced by [`Helper::wake`]), and whoever
/// breaks the barrier calls [`Helper::wake`] afterwards.
#[doc(hidden)]
pub trait Helper {
    /// A cheap hint that a task is queued somewhere.
    fn has_work(&self) -> bool;
    /// Run queued tasks until none is found.
    fn help(&self);
    /// Block until `ready()` holds: announce, then wait on the event word
    /// (see `TaskEvents::wait`). `ready` is re-checked after announcing.
    fn block_until(&self, ready: &mut dyn FnMut() -> bool);
    /// Wake the threads blocked in [`block_until`](Self::block_until), after
    /// a change of a word their `ready` reads.
    fn wake(&self);
    /// We stop waiting while a task is still queued (the episode ended as
    /// the push's wake-up reached us): hand that wake-up on to another
    /// blocked thread, since a push wakes only one.
    fn pass_on(&self);
}

/// Wait on `cell` until `done(word)`: with a helper, [`wait_helping`];
/// without one, or for a timed wait (no team uses them), the cell's own loop.
pub(crate) fn wait_on<W, F>(
    cell: &WaitCell,
    strategy: &W,
    parties: usize,
    at: Option<Instant>,
    done: F,
    help: Option<&dyn Helper>,
) -> Result<u32, crate::wait::WaitTimedOut>
where
    W: WaitStrategy + ?Sized,
    F: FnMut(u32) -> bool,
{
    match help.filter(|_| at.is_none()) {
        Some(h) => Ok(wait_helping(cell.word(), strategy, parties, done, h)),
        None => cell.wait_until(strategy, parties, at, done),
    }
}

/// Wait until `done(word)` and run queued tasks meanwhile: the policy's spin
/// and yield (or sleep) steps poll both `done` and [`Helper::has_work`];
/// where the plan would block, block in [`Helper::block_until`] instead, so
/// that a task push wakes us as well as the release. Finding work runs it,
/// then the plan starts over. Returns the word that satisfied `done`.
pub(crate) fn wait_helping<W, F>(word: &AtomicU32, strategy: &W, parties: usize, mut done: F, h: &dyn Helper) -> u32
where
    W: WaitStrategy + ?Sized,
    F: FnMut(u32) -> bool,
{
    // Acquire (every load of `word` here): pairs with the Release change
    // that satisfies `done`, as in `WaitCell::wait_until`.
    let w = word.load(Ordering::Acquire);
    if done(w) {
        record_immediate_wait();
        return w;
    }
    // The word's address: strategies that learn per place key on it.
    let site = word as *const AtomicU32 as usize;
    let mut backoff = Backoff::new(strategy.plan_at(site, parties));
    let mut rec = WaitStats { waits: 1, ..WaitStats::default() };
    let mut nap_timer: Option<bool> = None;
    let w = loop {
        if h.has_work() {
            h.help();
            backoff = Backoff::new(strategy.plan_at(site, parties));
        } else {
            match backoff.snooze() {
                Step::Spun | Step::Yielded => {}
                Step::ShouldSleep(interval) => {
                    sleep(interval);
                    rec.sleeps += 1;
                }
                Step::ShouldNap(nap) => {
                    // A plain sleep: a helper cannot park on two words. The
                    // nap was planned to end before the expected release.
                    sleep(nap);
                    backoff.napped(nap);
                    rec.sleeps += 1;
                    // Released while asleep: the nap was too long.
                    nap_timer = Some(!done(word.load(Ordering::Acquire)));
                }
                Step::ShouldBlock => {
                    h.block_until(&mut || done(word.load(Ordering::Acquire)) || h.has_work());
                    rec.parks += 1;
                    if done(word.load(Ordering::Acquire)) {
                        h.pass_on();
                    }
                }
            }
        }
        let w = word.load(Ordering::Acquire);
        if done(w) {
            break w;
        }
    };
    // The nap was a sleep: any park means the wait outlasted the window.
    let nap = nap_timer.map(|timer| backoff.nap_outcome(timer, rec.parks > 0));
    backoff.conclude(strategy, site, parties, nap, rec);
    w
}

/// Which barrier algorithm to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BarrierKind {
    /// Sense-reversing central counter: one atomic increment per arrival, one
    /// word that all waiters watch. Best up to a few dozen threads.
    #[default]
    Central,
    /// Combining tree (fan-in [`TREE_FAN_IN`]) for arrival, one word for
    /// release: contention-free arrivals for many threads. Parties need
    /// distinct ids ([`Barrier::wait_as`]); plain [`Barrier::wait`] takes one
    /// ticket from a shared counter per episode instead. Within one episode
    /// either every party uses `wait_as` or none does.
    Tree,
    /// Mutex + condition variable, the `std::sync::Barrier` design, with the
    /// wait policy applied before it sleeps on the condvar.
    Condvar,
}

impl BarrierKind {
    /// Every kind, for tests and benchmarks.
    pub const ALL: [BarrierKind; 3] = [BarrierKind::Central, BarrierKind::Tree, BarrierKind::Condvar];

    /// `central`, `tree` or `condvar`.
    pub fn name(self) -> &'static str {
        match self {
            BarrierKind::Central => "central",
            BarrierKind::Tree => "tree",
            BarrierKind::Condvar => "condvar",
        }
    }
}

impl fmt::Display for BarrierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a barrier broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// A party panicked while holding a [`PartyGuard`] (or the owner reported it).
    Panicked {
        /// The party's id, when known.
        party: Option<usize>,
    },
    /// A party left for good while others may still wait for it.
    Left {
        /// The party's id, when known.
        party: Option<usize>,
    },
    /// A `wait_timeout` ran out before every party arrived.
    TimedOut {
        /// The timeout that expired.
        after: Duration,
    },
    /// Broken by its owner through [`Barrier::break_barrier`], with a reason.
    Other(String),
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakReason::Panicked { party: Some(p) } => write!(f, "party {p} panicked"),
            BreakReason::Panicked { party: None } => write!(f, "a party panicked"),
            BreakReason::Left { party: Some(p) } => write!(f, "party {p} left"),
            BreakReason::Left { party: None } => write!(f, "a party left"),
            BreakReason::TimedOut { after } => write!(f, "a wait timed out after {after:?}"),
            BreakReason::Other(s) => f.write_str(s),
        }
    }
}

/// Error from a barrier wait or from building a barrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarrierError {
    /// The barrier is broken; nobody passes it until [`Barrier::reset`].
    Broken(BreakReason),
    /// `Barrier::builder(0)`: a barrier needs at least one party.
    ZeroParties,
    /// `wait_timeout(Duration::ZERO)`: it would break the barrier at once.
    ZeroTimeout,
    /// `wait_as(id)` with `id >= parties`.
    BadPartyId {
        /// The id given.
        id: usize,
        /// The number of parties.
        parties: usize,
    },
}

impl fmt::Display for BarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierError::Broken(r) => write!(f, "barrier is broken: {r}"),
            BarrierError::ZeroParties => f.write_str("invalid barrier parties = 0: a barrier needs at least one party"),
            BarrierError::ZeroTimeout => {
                f.write_str("invalid barrier timeout = 0s: it would break the barrier before anyone could arrive")
            }
            BarrierError::BadPartyId { id, parties } => {
                write!(f, "invalid barrier party id = {id}: ids run from 0 to {} for {parties} parties", parties - 1)
            }
        }
    }
}

impl std::error::Error for BarrierError {}

/// Returned by a successful wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one party per episode, as
    /// `std::sync::BarrierWaitResult::is_leader`: the last to arrive for
    /// `Central` and `Condvar`, the party at the root (id 0, or the ticket
    /// that maps to slot 0) for `Tree`.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// State every algorithm shares: the first break reason.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    reason: Mutex<Option<BreakReason>>,
}

impl Shared {
    /// Record `reason` unless one is already recorded. Called before the
    /// algorithm sets its broken bit, so a waiter that sees the bit finds it.
    pub(crate) fn set_reason(&self, reason: BreakReason) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
    }

    /// A wait's deadline passed. Runs `try_break` (the algorithm's CAS that
    /// sets its broken bit only if the episode has neither completed nor
    /// broken) *while holding the reason lock*, and records
    /// `TimedOut { after }` if it succeeded. A waiter that sees the bit then
    /// asks for the reason under the same lock: its load of the bit cannot
    /// happen-before the CAS that set it, so its lock comes after ours and it
    /// finds the reason. (Recording after the CAS would let it find none;
    /// recording before it would be wrong when the CAS fails.)
    pub(crate) fn break_on_timeout(
        &self,
        after: Duration,
        try_break: impl FnOnce() -> Result<u32, u32>,
    ) -> Result<u32, u32> {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        let res = try_break();
        if res.is_ok() && r.is_none() {
            *r = Some(BreakReason::TimedOut { after });
        }
        res
    }

    fn reason(&self) -> BreakReason {
        let r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        r.clone().unwrap_or_else(|| BreakReason::Other("broken".into()))
    }

    fn clear(&self) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The error a waiter that found the barrier broken returns.
    pub(crate) fn broken(&self) -> BarrierError {
        BarrierError::Broken(self.reason())
    }
}

/// The operations every algorithm provides; `Barrier` dispatches to them.
pub(crate) trait Algorithm: Send + Sync {
    /// Arrive as party `id` (or anonymously) and wait for the episode to end.
    /// Returns whether this party was the leader. On timeout the algorithm
    /// breaks the barrier itself unless the episode completed meanwhile.
    fn arrive_and_wait<W: WaitStrategy + ?Sized>(
        &self,
        id: Option<usize>,
        strategy: &W,
        deadline: Option<Deadline>,
        shared: &Shared,
        help: Option<&dyn Helper>,
    ) -> Result<bool, Timeout>;
    /// Set the broken state and wake every waiter.
    fn break_now<W: WaitStrategy + ?Sized>(&self, strategy: &W);
    /// Whether the broken state is set.
    fn is_broken(&self) -> bool;
    /// Clear the broken state and the arrival counts.
    fn reset(&self);
}

/// When a timed wait gives up, and the timeout it came from (for the break
/// reason).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// Give up at this instant.
    pub(crate) at: Instant,
    /// The timeout the caller gave, reported in `BreakReason::TimedOut`.
    pub(crate) after: Duration,
}

/// Returned by `Algorithm::arrive_and_wait` when it did not pass: the
/// deadline ran out (the algorithm has broken the barrier) or the barrier
/// was found broken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// The barrier was or became broken.
    Broken,
    /// Our deadline ran out first; the barrier is now broken by us.
    Expired,
}

enum Imp {
    Central(central::Central),
    Tree(tree::Tree),
    Condvar(condvar::CondvarBarrier),
}

/// A reusable barrier for `n` parties, generic over its wait strategy.
///
/// ```
/// use phalanx::Barrier;
/// let b = Barrier::new(2);
/// std::thread::scope(|s| {
///     s.spawn(|| b.wait().unwrap());
///     b.wait().unwrap();
/// });
/// ```
pub struct Barrier<W: WaitStrategy = WaitPolicy> {
    imp: Imp,
    parties: usize,
    strategy: W,
    shared: Shared,
}

impl<W: WaitStrategy> fmt::Debug for Barrier<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("kind", &self.kind())
            .field("parties", &self.parties)
            .field("broken", &self.imp_is_broken())
            .finish()
    }
}

/// Builds a [`Barrier`]; `build` checks the settings.
#[derive(Clone, Debug)]
pub struct BarrierBuilder<W: WaitStrategy = WaitPolicy> {
    parties: usize,
    kind: BarrierKind,
    strategy: W,
}

impl BarrierBuilder<WaitPolicy> {
    /// Wait with `policy` (default [`WaitPolicy::default`]).
    pub fn wait_policy(mut self, policy: WaitPolicy) -> Self {
        self.strategy = policy;
        self
    }
}

impl<W: WaitStrategy> BarrierBuilder<W> {
    /// Use algorithm `kind` (default [`BarrierKind::Central`]).
    pub fn kind(mut self, kind: BarrierKind) -> Self {
        self.kind = kind;
        self
    }

    /// Wait through a concrete strategy type (static dispatch), e.g.
    /// `phalanx::wait::Spin`.
    pub fn strategy<V: WaitStrategy>(self, strategy: V) -> BarrierBuilder<V> {
        BarrierBuilder { parties: self.parties, kind: self.kind, strategy }
    }

    /// Check the settings and build.
    pub fn build(self) -> Result<Barrier<W>, BarrierError> {
        if self.parties == 0 {
            return Err(BarrierError::ZeroParties);
        }
        let n = self.parties;
        let imp = match self.kind {
            BarrierKind::Central => Imp::Central(central::Central::new(n)),
            BarrierKind::Tree => Imp::Tree(tree::Tree::new(n)),
            BarrierKind::Condvar => Imp::Condvar(condvar::CondvarBarrier::new(n)),
        };
        Ok(Barrier { imp, parties: n, strategy: self.strategy, shared: Shared::default() })
    }
}

impl Barrier<WaitPolicy> {
    /// A central barrier for `n` parties with the default wait policy.
    ///
    /// # Panics
    /// If `n == 0`, with the message of [`BarrierError::ZeroParties`]; use
    /// [`Barrier::builder`] to get an error instead.
    pub fn new(n: usize) -> Self {
        match Self::builder(n).build() {
            Ok(b) => b,
            Err(e) => panic!("Barrier::new({n}): {e}"),
        }
    }

    /// A builder for `n` parties.
    pub fn builder(n: usize) -> BarrierBuilder<WaitPolicy> {
        BarrierBuilder { parties: n, kind: BarrierKind::default(), strategy: WaitPolicy::default() }
    }
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $e:expr) => {
        match &$self.imp {
            Imp::Central($b) => $e,
            Imp::Tree($b) => $e,
            Imp::Condvar($b) => $e,
        }
    };
}

impl<W: WaitStrategy> Barrier<W> {
    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The algorithm.
    pub fn kind(&self) -> BarrierKind {
        match self.imp {
            Imp::Central(_) => BarrierKind::Central,
            Imp::Tree(_) => BarrierKind::Tree,
            Imp::Condvar(_) => BarrierKind::Condvar,
        }
    }

    /// The wait strategy.
    pub fn strategy(&self) -> &W {
        &self.strategy
    }

    /// Arrive and wait for the other parties.
    #[inline]
    pub fn wait(&self) -> Result<BarrierWaitResult, BarrierError> {
        self.arrive(None, None, None)
    }

    /// Arrive as party `id` (`0..parties`, distinct within an episode) and
    /// wait. The tree algorithm uses the id to pick its node without touching
    /// a shared counter; the others ignore it. For `Tree`, do not mix
    /// `wait_as` and [`wait`](Self::wait) within one episode: a ticket could
    /// map to a slot some id already holds.
    #[inline]
    pub fn wait_as(&self, id: usize) -> Result<BarrierWaitResult, BarrierError> {
        if id >= self.parties {
            return Err(BarrierError::BadPartyId { id, parties: self.parties });
        }
        self.arrive(Some(id), None, None)
    }

    /// [`wait_as`](Self::wait_as) for a team member: run queued tasks while
    /// waiting (see [`Helper`] for the contract).
    #[doc(hidden)]
    #[inline]
    pub fn wait_helping_as(&self, id: usize, help: &dyn Helper) -> Result<BarrierWaitResult, BarrierError> {
        debug_assert!(id < self.parties, "party {id} of {}", self.parties);
        self.arrive(Some(id), None, Some(help))
    }

    /// Arrive and wait at most `timeout`. If it runs out before every party
    /// arrived, the barrier breaks (`BreakReason::TimedOut`) and every waiter,
    /// this one included, gets the error. A zero timeout is refused; one too
    /// large for an `Instant` (`Duration::MAX`) means no deadline.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BarrierError> {
        self.arrive_timeout(None, timeout)
    }

    /// `wait_timeout`, as party `id` when it is known (a [`PartyGuard`] made
    /// by `party_as`), so the tree never mixes ids and tickets.
    fn arrive_timeout(&self, id: Option<usize>, timeout: Duration) -> Result<BarrierWaitResult, BarrierError> {
        if timeout.is_zero() {
            return Err(BarrierError::ZeroTimeout);
        }
        if let Some(id) = id.filter(|&id| id >= self.parties) {
            return Err(BarrierError::BadPartyId { id, parties: self.parties });
        }
        // No deadline when `now + timeout` overflows (`Duration::MAX`).
        self.arrive(id, deadline_after(timeout).map(|at| Deadline { at, after: timeout }), None)
    }

    #[inline]
    fn arrive(
        &self,
        id: Option<usize>,
        deadline: Option<Deadline>,
        help: Option<&dyn Helper>,
    ) -> Result<BarrierWaitResult, BarrierError> {
        match dispatch!(self, b => b.arrive_and_wait(id, &self.strategy, deadline, &self.shared, help)) {
            Ok(leader) => Ok(BarrierWaitResult { leader }),
            // On Expired the algorithm has recorded `TimedOut` (unless another
            // reason came first) before its broken bit became visible.
            Err(Timeout::Broken | Timeout::Expired) => Err(self.shared.broken()),
        }
    }

    /// Break the barrier: every current and future waiter gets
    /// `Err(Broken(reason))` until [`reset`](Self::reset). The first reason
    /// given is kept.
    pub fn break_barrier(&self, reason: BreakReason) {
        self.shared.set_reason(reason);
        dispatch!(self, b => b.break_now(&self.strategy));
    }

    /// Why the barrier is broken, if it is.
    pub fn broken_reason(&self) -> Option<BreakReason> {
        self.imp_is_broken().then(|| self.shared.reason())
    }

    fn imp_is_broken(&self) -> bool {
        dispatch!(self, b => b.is_broken())
    }

    /// Make a broken (or idle) barrier usable again. Call it only when no
    /// party is inside a wait (for example after joining every party's
    /// thread); `&mut self` makes sure of that.
    pub fn reset(&mut self) {
        dispatch!(self, b => b.reset());
        self.shared.clear();
    }

    /// Crate-internal [`reset`](Self::reset) through `&self`, for the team:
    /// it resets a region's barrier while every worker is idle between
    /// regions, so no party is inside a wait and nobody breaks it meanwhile
    /// (see `src/team/README.md`).
    pub(crate) fn reset_idle(&self) {
        dispatch!(self, b => b.reset());
        self.shared.clear();
    }

    /// Register the calling thread as a party: waits go through the guard,
    /// and dropping it breaks the barrier (`Panicked` while unwinding, `Left`
    /// otherwise), so peers never hang on a party that is gone.
    pub fn party(&self) -> PartyGuard<'_, W> {
        PartyGuard { barrier: self, id: None }
    }

    /// As [`party`](Self::party), with a known id (used for `wait_as` and in
    /// break reasons).
    pub fn party_as(&self, id: usize) -> PartyGuard<'_, W> {
        PartyGuard { barrier: self, id: Some(id) }
    }
}

/// A party's membership in a barrier. Dropping it breaks the barrier:
/// a party that is gone can never arrive again.
#[must_use = "dropping the guard at once breaks the barrier"]
pub struct PartyGuard<'a, W: WaitStrategy = WaitPolicy> {
    barrier: &'a Barrier<W>,
    id: Option<usize>,
}

impl<W: WaitStrategy> PartyGuard<'_, W> {
    /// Wait at the barrier as this party.
    #[inline]
    pub fn wait(&self) -> Result<BarrierWaitResult, BarrierError> {
        match self.id {
            Some(id) => self.barrier.wait_as(id),
            None => self.barrier.wait(),
        }
    }

    /// Wait at most `timeout` (see [`Barrier::wait_timeout`]).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BarrierError> {
        self.barrier.arrive_timeout(self.id, timeout)
    }

    /// Leave for good: the barrier breaks with `BreakReason::Left`.
    pub fn leave(self) {
        // Drop does the work.
    }
}

impl<W: WaitStrategy> Drop for PartyGuard<'_, W> {
    fn drop(&mut self) {
        let reason = if std::thread::panicking() {
            BreakReason::Panicked { party: self.id }
        } else {
            BreakReason::Left { party: self.id }
        };
        self.barrier.break_barrier(reason);
    }
}

#[cfg(test)]
mod test;

impl<W: WaitStrategy> fmt::Debug for PartyGuard<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartyGuard").field("id", &self.id).finish_non_exhaustive()
    }
}
