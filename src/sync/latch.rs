//! [`Latch`]: a count that opens a one-shot gate when it reaches zero;
//! replaces the seed's `:please_ack` message.

use crate::primitive::{AtomicU32, Ordering};
use crate::wait::{deadline_after, WaitCell, WaitPolicy, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::{Duration, Instant};

/// The latch word's value once every count has been counted down: open.
const DONE: u32 = 0;

/// A count-down latch: created with a count `n`, opened for good when `n`
/// [`count_down`](Self::count_down)s have happened. [`wait`](Self::wait)
/// returns once it is open. Everything a thread wrote before its
/// `count_down` is visible to every thread whose `wait` has returned.
///
/// This is the seed's `{:please_ack, pid}` message done as a primitive: the
/// master waits for `n` acknowledgements instead of sleeping and hoping.
/// A latch is one-shot (no reset); for rounds use a [`Gate`](super::Gate) or
/// a [`Barrier`](crate::Barrier).
///
/// Counting down past zero is a bug in the caller: [`count_down`](Self::count_down)
/// and [`count_down_by`](Self::count_down_by) panic with a message naming the
/// count, [`try_count_down_by`](Self::try_count_down_by) returns a
/// [`CountDownError`] instead. Either way the word is left unchanged.
///
/// ```
/// use phalanx::Latch;
/// let done = Latch::new(3);
/// let sum = std::sync::atomic::AtomicU32::new(0);
/// std::thread::scope(|s| {
///     for i in 1..=3 {
///         let (done, sum) = (&done, &sum);
///         s.spawn(move || { sum.fetch_add(i, std::sync::atomic::Ordering::Relaxed); done.count_down() });
///     }
///     done.wait(); // the master waits for three acks
///     assert_eq!(sum.load(std::sync::atomic::Ordering::Relaxed), 6);
/// });
/// ```
pub struct Latch<W: WaitStrategy = WaitPolicy> {
    /// | value | meaning |
    /// |---|---|
    /// | `k > 0` | closed: `k` count-downs still to come |
    /// | [`DONE`] (0) | open for good |
    cell: CachePadded<WaitCell>,
    /// Threads inside `wait`, for the oversubscription hint.
    waiters: AtomicU32,
    strategy: W,
}

/// A count-down that would take a [`Latch`] below zero (it was refused and
/// the latch left unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountDownError {
    /// The count the latch had.
    pub count: u32,
    /// How many count-downs were asked for.
    pub by: u32,
}

impl fmt::Display for CountDownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid latch count_down by {} with count = {}: a latch cannot count below zero \
             (more count-downs than the n given to Latch::new)",
            self.by, self.count
        )
    }
}

impl std::error::Error for CountDownError {}

impl<W: WaitStrategy> fmt::Debug for Latch<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch").field("count", &self.count()).finish()
    }
}

impl Latch {
    /// A latch that opens after `n` count-downs, with the default wait
    /// policy. `Latch::new(0)` is open from the start.
    pub fn new(n: u32) -> Self {
        Self::with_strategy(n, WaitPolicy::default())
    }

    /// A latch of `n` waiting with `policy`.
    pub fn with_policy(n: u32, policy: WaitPolicy) -> Self {
        Self::with_strategy(n, policy)
    }
}

impl<W: WaitStrategy> Latch<W> {
    /// A latch of `n` waiting through `strategy`.
    pub fn with_strategy(n: u32, strategy: W) -> Self {
        Latch { cell: CachePadded::new(WaitCell::new(n)), waiters: AtomicU32::new(0), strategy }
    }

    /// Count down by one; the count-down that reaches zero opens the latch
    /// and wakes every waiter.
    ///
    /// # Panics
    ///
    /// If the count is already zero (see [`CountDownError`]).
    #[track_caller]
    pub fn count_down(&self) {
        self.count_down_by(1);
    }

    /// Count down by `k` at once (`k = 0` does nothing).
    ///
    /// # Panics
    ///
    /// If `k` is larger than the current count; the count is left unchanged.
    #[track_caller]
    pub fn count_down_by(&self, k: u32) {
        if let Err(e) = self.try_count_down_by(k) {
            panic!("{e}");
        }
    }

    /// Count down by `k`, or refuse if that would go below zero. Returns the
    /// count left (0: this call opened the latch, or it was open and `k = 0`).
    pub fn try_count_down_by(&self, k: u32) -> Result<u32, CountDownError> {
        // Release on success: publishes what this thread wrote before counting
        // down. The count-downs form one chain of RMWs, so the waiter's Acquire
        // load of DONE synchronizes with every one of them (each heads a
        // release sequence that the later RMWs continue). Relaxed on failure
        // and for the reads inside the loop: a refused count-down publishes
        // nothing, and the CAS itself rejects a stale value.
        let prev = self
            .cell
            .word()
            .fetch_update(Ordering::Release, Ordering::Relaxed, |c| c.checked_sub(k))
            .map_err(|count| CountDownError { count, by: k })?;
        let left = prev - k;
        if left == DONE && k != 0 {
            self.cell.wake_all(&self.strategy);
        }
        Ok(left)
    }

    /// The count now (0 once open). Only a snapshot: it may fall at once.
    pub fn count(&self) -> u32 {
        // Relaxed: a snapshot for display and tests; `is_done` is the check
        // that publishes data.
        self.cell.word().load(Ordering::Relaxed)
    }

    /// Whether the latch is open (the seed's *check*, as opposed to
    /// [`wait`](Self::wait)). `true` makes the count-downers' writes visible.
    pub fn is_done(&self) -> bool {
        // Acquire: pairs with the count-downs' Release RMWs.
        self.cell.word().load(Ordering::Acquire) == DONE
    }

    /// Wait until the count reaches zero.
    pub fn wait(&self) {
        let _ = self.wait_deadline(None);
    }

    /// Wait at most `timeout`; `true` if the latch opened, `false` on timeout.
    /// A zero timeout only checks; one too large for an `Instant`
    /// (`Duration::MAX`) waits without a deadline.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(deadline_after(timeout))
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        if self.is_done() {
            return true;
        }
        // Relaxed: only a hint for the plan. Parties: the waiters (this one
        // included) plus one thread that will count down last; the number of
        // count-downers is unknown (one thread may count down many times).
        let parties = self.waiters.fetch_add(1, Ordering::Relaxed) as usize + 2;
        // The cell's loads are Acquire (pairs with the Release count-downs).
        let r = self.cell.wait_until(&self.strategy, parties, deadline, |c| c == DONE);
        // Relaxed: as the increment above.
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        r.is_ok()
    }
}
