//! [`Gate`]: closed until opened; replaces the seed's shared `full` flag.

use crate::primitive::{AtomicU32, Ordering};
use crate::wait::{deadline_after, WaitCell, WaitPolicy, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::{Duration, Instant};

/// Bit 0 of the gate word: open.
const OPEN: u32 = 1;
/// One round in the gate word: bits 1..=31 count `reset`s.
const ROUND_ONE: u32 = 2;

/// A one-way signal with rounds: closed until [`open`](Self::open); every
/// [`wait`](Self::wait) then returns at once. [`reset`](Self::reset) closes it
/// for the next round without stranding late waiters of the last one: the
/// word carries a round number, and a waiter leaves as soon as the round it
/// arrived in has been opened, even if the gate was reset since.
///
/// ```
/// use phalanx::sync::Gate;
/// let gate = Gate::new();
/// let queue = std::sync::Mutex::new(Vec::new());
/// std::thread::scope(|s| {
///     s.spawn(|| { gate.wait(); assert_eq!(queue.lock().unwrap().len(), 3) });
///     queue.lock().unwrap().extend([1, 2, 3]); // the master fills...
///     gate.open();                             // ...then releases
/// });
/// ```
pub struct Gate<W: WaitStrategy = WaitPolicy> {
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`OPEN`]) | open |
    /// | 1..=31 | round: +[`ROUND_ONE`] per `reset` of an open gate |
    cell: CachePadded<WaitCell>,
    /// Threads inside `wait`, for the oversubscription hint.
    waiters: AtomicU32,
    strategy: W,
}

impl<W: WaitStrategy> fmt::Debug for Gate<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.cell.word().load(Ordering::Relaxed);
        f.debug_struct("Gate").field("open", &(w & OPEN != 0)).field("round", &(w / ROUND_ONE)).finish()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A closed gate with the default wait policy.
    pub fn new() -> Self {
        Self::with_strategy(WaitPolicy::default())
    }

    /// A closed gate waiting with `policy`.
    pub fn with_policy(policy: WaitPolicy) -> Self {
        Self::with_strategy(policy)
    }
}

impl<W: WaitStrategy> Gate<W> {
    /// A closed gate waiting through `strategy`.
    pub fn with_strategy(strategy: W) -> Self {
        Gate { cell: CachePadded::new(WaitCell::new(0)), waiters: AtomicU32::new(0), strategy }
    }

    /// Open the gate: every current and later waiter of this round passes.
    /// Everything written before `open` is visible to them.
    pub fn open(&self) {
        // Release: publishes what the opener wrote before opening to waiters,
        // who load the word with Acquire.
        let prev = self.cell.word().fetch_or(OPEN, Ordering::Release);
        if prev & OPEN == 0 {
            self.cell.wake_all(&self.strategy);
        }
    }

    /// Whether the gate is open now (the seed's *check*, as opposed to
    /// [`wait`](Self::wait)).
    pub fn is_open(&self) -> bool {
        // Acquire: a true answer lets the caller read what the opener wrote.
        self.cell.word().load(Ordering::Acquire) & OPEN != 0
    }

    /// Close an open gate for the next round. Waiters of the round that was
    /// open still pass; waiters arriving after `reset` wait for the next
    /// `open`. Resetting a closed gate does nothing.
    pub fn reset(&self) {
        // AcqRel: a reset orders after the open it undoes.
        let _ = self.cell.word().fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            (w & OPEN != 0).then(|| (w & !OPEN).wrapping_add(ROUND_ONE))
        });
    }

    /// Wait until the gate is open (or was opened in the round this call
    /// arrived in).
    pub fn wait(&self) {
        let _ = self.wait_deadline(None);
    }

    /// Wait at most `timeout`; `true` if the gate opened, `false` on timeout.
    /// A zero timeout only checks; one too large for an `Instant`
    /// (`Duration::MAX`) waits without a deadline.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(deadline_after(timeout))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        // Acquire: pairs with `open`'s Release.
        let w0 = self.cell.word().load(Ordering::Acquire);
        if w0 & OPEN != 0 {
            return true;
        }
        let round = w0 & !OPEN;
        // Relaxed: only a hint for the plan (how many threads share the CPU).
        let parties = self.waiters.fetch_add(1, Ordering::Relaxed) as usize + 2;
        let r = self.cell.wait_until(&self.strategy, parties, deadline, |w| w & OPEN != 0 || w & !OPEN != round);
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        r.is_ok()
    }
}
