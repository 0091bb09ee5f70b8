//! Ordered loops: `Ctx::for_each_ordered`, whose [`Ordered`] token runs one
//! closure per iteration in iteration order (`#pragma omp for ordered` with
//! `#pragma omp ordered` inside). The hand-off word is [`OrderedTurns`]; its
//! protocol is "Ordered hand-off" in `README.md` beside this file.

use crate::primitive::Ordering;
use crate::team::Ctx;
use crate::wait::{WaitCell, WaitStrategy};
use crate::worksharing::Schedule;
use std::cell::Cell;
use std::fmt;
use std::ops::Range;
use std::panic::Location;
use std::time::{Duration, Instant};

/// Bit 31 of the turn word: a thread of the loop unwound; every waiter
/// gives up.
const POISON: u32 = 1 << 31;
/// Bits 0..=30: the iteration whose ordered part may run now.
const TURN_MASK: u32 = POISON - 1;
/// Longest ordered loop: turns are 31-bit iteration numbers.
pub(crate) const MAX_ORDERED_LEN: usize = TURN_MASK as usize;
/// How often a waiting thread looks for a failure elsewhere in the region
/// (a panic outside the loop, a thread that left): such a failure breaks
/// the region's barrier but does not touch the turn word.
const FAILURE_POLL: Duration = Duration::from_millis(1);

/// The turn word of ordered loops (see the module docs and README).
///
/// | bits | meaning |
/// |---|---|
/// | 31 (`POISON`) | a member unwound inside the loop: waiters give up |
/// | 0..=30 | the iteration whose turn it is; 0 between loops |
///
/// Only the thread whose turn it is changes bits 0..=30 (with an RMW that
/// keeps bit 31), so a waiter for iteration `i` sees exactly `i` before the
/// word can move on. Public (hidden) for the loom model only.
#[doc(hidden)]
pub struct OrderedTurns {
    cell: WaitCell,
}

impl fmt::Debug for OrderedTurns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a diagnostic snapshot.
        let w = self.cell.word().load(Ordering::Relaxed);
        f.debug_struct("OrderedTurns").field("turn", &(w & TURN_MASK)).field("poisoned", &(w & POISON != 0)).finish()
    }
}

impl Default for OrderedTurns {
    fn default() -> Self {
        OrderedTurns::new()
    }
}

/// Why a wait for a turn ended without the turn.
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub enum TurnLost<E> {
    /// The word is poisoned: another member unwound inside the loop.
    Poisoned,
    /// `on_timeout` reported a failure elsewhere.
    Failed(E),
}

impl OrderedTurns {
    /// A word at turn 0, not poisoned.
    pub fn new() -> Self {
        OrderedTurns { cell: WaitCell::new(0) }
    }

    /// Back to turn 0 and not poisoned. Called by the master between
    /// regions (a failed region may leave any value); the fork's Release
    /// store publishes it.
    pub(crate) fn reset_idle(&self) {
        // Relaxed: the workers are idle; the fork word's Release publishes it.
        if self.cell.word().load(Ordering::Relaxed) != 0 {
            // Relaxed: as above.
            self.cell.word().store(0, Ordering::Relaxed);
        }
    }

    /// Wait until it is iteration `i`'s turn. Every `slice` (if any) of
    /// waiting, `on_timeout()` may end the wait with a failure.
    pub fn wait_turn<W: WaitStrategy + ?Sized, E>(
        &self,
        policy: &W,
        parties: usize,
        i: u32,
        slice: Option<Duration>,
        mut on_timeout: impl FnMut() -> Result<(), E>,
    ) -> Result<(), TurnLost<E>> {
        debug_assert!(i <= TURN_MASK, "turn {i} out of range");
        loop {
            let deadline = slice.and_then(|s| Instant::now().checked_add(s));
            // Acquire (inside `wait_until`): pairs with the Release RMW in
            // `pass` of iteration i - 1, so everything its ordered part did
            // happens before ours.
            match self.cell.wait_until(policy, parties, deadline, |w| w == i || w & POISON != 0) {
                Ok(w) if w & POISON != 0 => return Err(TurnLost::Poisoned),
                Ok(_) => return Ok(()),
                Err(_) => on_timeout().map_err(TurnLost::Failed)?,
            }
        }
    }

    /// Iteration `i` is done with its turn: hand it to `i + 1`, or back to
    /// 0 after the loop's `last` iteration.
    pub fn pass<W: WaitStrategy + ?Sized>(&self, policy: &W, i: u32, last: bool) {
        if last {
            // Release: as below; the next loop's iteration 0 acquires it
            // (after a barrier, which orders it anyway). The subtraction
            // keeps POISON.
            self.cell.word().fetch_sub(i, Ordering::Release);
        } else {
            // Release: publishes this ordered part to the next one, which
            // loads the word with Acquire. An RMW, not a store, so a POISON
            // set meanwhile is kept.
            self.cell.word().fetch_add(1, Ordering::Release);
        }
        self.cell.wake_all(policy);
    }

    /// A member unwound inside the loop: release every waiter for good.
    pub fn poison<W: WaitStrategy + ?Sized>(&self, policy: &W) {
        // Relaxed: the waiters only give up; nothing is published.
        self.cell.word().fetch_or(POISON, Ordering::Relaxed);
        self.cell.wake_all(policy);
    }
}

/// Mark construct `c` as an ordered loop for `cancel_for`.
fn shared_cancel_mark(ctx: &Ctx<'_>, c: u32) {
    let cancel = &ctx.shared().cancel;
    if cancel.enabled {
        // Relaxed: only read by threads inside construct `c`, each of which
        // wrote it itself on entry.
        cancel.ordered.store(c.wrapping_add(1), Ordering::Relaxed);
    }
}

/// One thread's side of one ordered loop: what an [`Ordered`] token calls.
struct Sequencer<'c, 'e> {
    ctx: &'c Ctx<'e>,
    at: &'static Location<'static>,
}

/// The two protocol steps, behind a trait object so that [`Ordered`] needs
/// no lifetime of the (invariant) region environment.
trait Turns {
    /// Wait for turn `i`; on a failure elsewhere, unwind as a released member.
    fn take(&self, i: u32);
    /// Hand turn `i` on.
    fn pass(&self, i: u32, last: bool);
}

impl Turns for Sequencer<'_, '_> {
    fn take(&self, i: u32) {
        let shared = self.ctx.shared();
        let r = shared.ordered.wait_turn(&shared.policy, shared.n, i, Some(FAILURE_POLL), || self.ctx.region_failure());
        match r {
            Ok(()) => {}
            Err(TurnLost::Poisoned) => self.ctx.release_member(None, self.at),
            Err(TurnLost::Failed(left)) => self.ctx.release_member(left, self.at),
        }
    }

    fn pass(&self, i: u32, last: bool) {
        let shared = self.ctx.shared();
        shared.ordered.pass(&shared.policy, i, last);
    }
}

impl Drop for Sequencer<'_, '_> {
    /// Poisons the turn word if the loop unwinds on this thread, so nobody
    /// waits for a turn this thread will never pass.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let shared = self.ctx.shared();
            shared.ordered.poison(&shared.policy);
        }
    }
}

/// The right to run this iteration's ordered part: one per iteration of
/// [`Ctx::for_each_ordered`], consumed by [`Ordered::ordered`], so no
/// iteration can run two ordered parts (OpenMP requires at most one).
pub struct Ordered<'o> {
    turns: &'o dyn Turns,
    i: u32,
    last: bool,
    used: &'o Cell<bool>,
}

impl fmt::Debug for Ordered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ordered").field("turn", &self.i).finish()
    }
}

impl Ordered<'_> {
    /// Run `f` once every earlier iteration of the loop has run its ordered
    /// part (or finished without one), and before any later iteration runs
    /// its own (`#pragma omp ordered`). Waiting follows the team's wait
    /// policy.
    ///
    /// # Panics
    /// If another thread of the region failed while this one waits (this
    /// thread is released; the region reports the original failure).
    pub fn ordered<R>(self, f: impl FnOnce() -> R) -> R {
        self.used.set(true);
        self.turns.take(self.i);
        let r = f();
        self.turns.pass(self.i, self.last);
        r
    }
}

impl Ctx<'_> {
    /// `#pragma omp for ordered schedule(...)`: run `f(i, ord)` for the
    /// indices of `range` this thread gets under `schedule` (any schedule);
    /// `ord.ordered(|| ...)` runs its closure in iteration order across the
    /// team. An iteration that does not call it simply passes its turn on.
    /// Ends with a barrier (an ordered loop has no `nowait` form here).
    ///
    /// ```
    /// use phalanx::{Schedule, Team};
    /// use std::sync::Mutex;
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// let log = Mutex::new(Vec::new());
    /// team.parallel(|ctx| {
    ///     ctx.for_each_ordered(0..10, Schedule::Dynamic(1), |i, ord| {
    ///         let sq = i * i;                                 // runs in parallel
    ///         ord.ordered(|| log.lock().unwrap().push(sq));   // runs in order
    ///     })
    /// });
    /// assert_eq!(log.into_inner().unwrap(), (0..10).map(|i| i * i).collect::<Vec<_>>());
    /// ```
    ///
    /// # Panics
    /// On a chunk of 0, and for ranges of 2^31 - 1 iterations or more
    /// (`invalid range length = ... for an ordered loop`). A panic in `f`
    /// releases the threads waiting for their turn; the region fails with it.
    #[track_caller]
    pub fn for_each_ordered<F>(&self, range: Range<usize>, schedule: Schedule, mut f: F)
    where
        F: FnMut(usize, Ordered<'_>),
    {
        let at = Location::caller();
        let c = self.next_construct();
        let start = range.start;
        let len = range.end.saturating_sub(range.start);
        assert!(
            len < MAX_ORDERED_LEN,
            "invalid range length = {len} for an ordered loop: at most {} iterations",
            MAX_ORDERED_LEN - 1
        );
        // Not cancellable (`cancel_for` refuses it): skipped iterations
        // would never pass their turns.
        shared_cancel_mark(self, c);
        // Poisons the turn word if this thread unwinds inside the loop.
        let seq = Sequencer { ctx: self, at };
        self.run_chunks(c, len, schedule, |r| {
            for i in r {
                let used = Cell::new(false);
                // `len < MAX_ORDERED_LEN` (checked above) fits in 31 bits.
                let turn_no = i as u32;
                let last = i + 1 == len;
                f(start + i, Ordered { turns: &seq, i: turn_no, last, used: &used });
                if !used.get() {
                    // No ordered part: still take and pass the turn, so
                    // later iterations do not wait for it forever.
                    seq.take(turn_no);
                    seq.pass(turn_no, last);
                }
            }
        });
        drop(seq);
        self.barrier_at(at);
    }
}
