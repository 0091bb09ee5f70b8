//! [`TaskQueue`]: the master-worker queue; replaces the seed's `master_queue`
//! polled through a `full` flag. Protocol and proof: `src/sync/README.md`.

use crate::primitive::{spin_loop, AtomicU32, AtomicUsize, Ordering};
use crate::wait::{deadline_after, WaitCell, WaitPolicy, WaitStrategy};
use crossbeam_deque::Steal;
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::{Duration, Instant};

/// `state` bit: the queue is closed; every later `push` is refused.
const CLOSED: usize = 1 << (usize::BITS - 1);
/// One push in flight in `state` (reserved, item not yet published).
const PUSHING_ONE: usize = 1;
/// The in-flight push count in `state`.
const PUSHING_MASK: usize = CLOSED - 1;
/// One push or close in the epoch word.
const EPOCH_ONE: u32 = 1;

/// A multi-producer, multi-consumer FIFO of tasks whose consumers wait with a
/// wait policy. Producers [`push`](Self::push); the master
/// [`close`](Self::close)s it when the last task is in; workers
/// [`pop`](Self::pop) until it returns `None`, which happens only when the
/// queue is closed **and** every task pushed has been popped. Each task is
/// popped exactly once; a push refused because the queue is closed hands the
/// task back in the [`PushError`].
///
/// Storage is a [`crossbeam_deque::Injector`] (lock-free, FIFO). Under
/// `--cfg loom` it is a `Mutex<VecDeque<T>>` instead, because crossbeam-deque
/// is not loom-instrumented; the state words, which are what the loom models
/// check, are the same.
///
/// `pop` is the seed's *wait*, [`try_pop`](Self::try_pop) its *check*: unlike
/// `do while (.not. queue_full(q)); call system_sleep(1)`, `pop` cannot miss a
/// push nor see a half-filled queue as finished.
///
/// ```
/// use phalanx::TaskQueue;
/// let queue = TaskQueue::new();
/// let total = std::sync::atomic::AtomicU64::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..3 {
///         s.spawn(|| while let Some(t) = queue.pop() { total.fetch_add(t, std::sync::atomic::Ordering::Relaxed); });
///     }
///     for t in 1..=100u64 { queue.push(t).unwrap() } // the master fills...
///     queue.close();                                // ...then releases
/// });
/// assert_eq!(total.into_inner(), 5050);
/// ```
pub struct TaskQueue<T, W: WaitStrategy = WaitPolicy> {
    fifo: Fifo<T>,
    /// Both words are written by every push: one cache line.
    words: CachePadded<Words>,
    /// Consumers inside a waiting pop, for the oversubscription hint.
    waiters: AtomicU32,
    strategy: W,
}

struct Words {
    /// | bits | meaning |
    /// |---|---|
    /// | top bit ([`CLOSED`]) | closed: `push` is refused |
    /// | the rest ([`PUSHING_MASK`]) | pushes in flight: reserved (+[`PUSHING_ONE`]) while open, item not yet in the FIFO |
    state: AtomicUsize,
    /// Word: the epoch, +[`EPOCH_ONE`] (wrapping) after every push is
    /// published and after the close. Consumers wait for it to change.
    cell: WaitCell,
}

/// A push refused because the queue was closed; holds the task.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PushError<T>(pub T);

impl<T> PushError<T> {
    /// The task that was not queued.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushError(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("push to a closed TaskQueue: the task was not queued and is handed back (PushError::into_inner)")
    }
}

impl<T> std::error::Error for PushError<T> {}

/// What [`TaskQueue::try_pop`] found, without waiting.
#[must_use = "an Item holds a task that must be run or kept"]
#[derive(Debug, PartialEq, Eq)]
pub enum TryPop<T> {
    /// A task, removed from the queue.
    Item(T),
    /// Nothing now, but the queue is open or a push is still in flight.
    Empty,
    /// Closed and drained: there will never be another task.
    Closed,
}

impl<T> TryPop<T> {
    /// The task, if any.
    pub fn item(self) -> Option<T> {
        match self {
            TryPop::Item(t) => Some(t),
            _ => None,
        }
    }
}

/// How [`TaskQueue::pop_timeout`] ended.
#[must_use = "an Item holds a task that must be run or kept"]
#[derive(Debug, PartialEq, Eq)]
pub enum TimedPop<T> {
    /// A task, removed from the queue.
    Item(T),
    /// Closed and drained: there will never be another task.
    Closed,
    /// The timeout passed with the queue empty but not finished.
    TimedOut,
}

impl<T> TimedPop<T> {
    /// The task, if any.
    pub fn item(self) -> Option<T> {
        match self {
            TimedPop::Item(t) => Some(t),
            _ => None,
        }
    }
}

impl<T, W: WaitStrategy> fmt::Debug for TaskQueue<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let s = self.words.state.load(Ordering::Relaxed);
        f.debug_struct("TaskQueue")
            .field("closed", &(s & CLOSED != 0))
            .field("pushing", &(s & PUSHING_MASK))
            .field("epoch", &self.words.cell.word().load(Ordering::Relaxed))
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Default for TaskQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TaskQueue<T> {
    /// An empty, open queue with the default wait policy.
    pub fn new() -> Self {
        Self::with_strategy(WaitPolicy::default())
    }

    /// An empty, open queue whose consumers wait with `policy`.
    pub fn with_policy(policy: WaitPolicy) -> Self {
        Self::with_strategy(policy)
    }
}

impl<T, W: WaitStrategy> TaskQueue<T, W> {
    /// An empty, open queue whose consumers wait through `strategy`.
    pub fn with_strategy(strategy: W) -> Self {
        TaskQueue {
            fifo: Fifo::new(),
            words: CachePadded::new(Words { state: AtomicUsize::new(0), cell: WaitCell::new(0) }),
            waiters: AtomicU32::new(0),
            strategy,
        }
    }

    /// Append `task`, or hand it back if the queue is closed. What the caller
    /// wrote before `push` is visible to the consumer that pops the task.
    pub fn push(&self, task: T) -> Result<(), PushError<T>> {
        let words = &*self.words;
        // Reserve: counting the push in flight in the same RMW that checks
        // CLOSED puts it before or after `close` in `state`'s modification
        // order, never beside it. Relaxed on success: the reservation
        // publishes nothing (the Release decrement below does). Acquire on
        // the refusing load: a refused push happens after the `close`.
        let reserved = words.state.fetch_update(Ordering::Relaxed, Ordering::Acquire, |s| {
            (s & CLOSED == 0).then(|| {
                debug_assert!(s & PUSHING_MASK < PUSHING_MASK, "TaskQueue state {s:#x}: in-flight count overflow");
                s + PUSHING_ONE
            })
        });
        if reserved.is_err() {
            return Err(PushError(task));
        }
        self.fifo.push(task);
        // Release: a consumer that reads a `state` with no push in flight
        // (Acquire) sees the item in the FIFO (release sequence of RMWs).
        let st = words.state.fetch_sub(PUSHING_ONE, Ordering::Release);
        // Release: a consumer whose Acquire load sees this epoch sees the item
        // and the decrement above. Must come after the decrement: a consumer
        // woken by it and seeing "closed" must not still count this push.
        words.cell.word().fetch_add(EPOCH_ONE, Ordering::Release);
        if st & CLOSED == 0 {
            // One item, one consumer: waking all would be a thundering herd
            // (64 blocked consumers cost 167 µs per item that way). README,
            // "Waking one consumer per push".
            words.cell.wake_one(&self.strategy);
        } else {
            // Closed while we were in flight: consumers that saw "closed, a
            // push in flight" wait for us to end, and each must wake to
            // return `None`, not only the one that takes the item.
            words.cell.wake_all(&self.strategy);
        }
        Ok(())
    }

    /// Refuse every later push. Consumers drain what is queued (and what
    /// pushes already in flight add), then get `None`. Idempotent.
    pub fn close(&self) {
        let words = &*self.words;
        // Release: what the closer wrote before closing is visible to a
        // consumer that reads CLOSED with Acquire (it then returns `None`).
        let prev = words.state.fetch_or(CLOSED, Ordering::Release);
        if prev & CLOSED == 0 {
            // Release: a consumer whose Acquire load sees this epoch also sees
            // CLOSED. After the fetch_or for the same reason as in `push`.
            words.cell.word().fetch_add(EPOCH_ONE, Ordering::Release);
            words.cell.wake_all(&self.strategy);
        }
    }

    /// Whether [`close`](Self::close) has been called (tasks may remain).
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with `close`'s Release.
        self.words.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Take the oldest task, waiting (under the wait policy) while the queue
    /// is empty. `None` once the queue is closed and drained.
    pub fn pop(&self) -> Option<T> {
        match self.pop_deadline(None) {
            TimedPop::Item(t) => Some(t),
            TimedPop::Closed => None,
            TimedPop::TimedOut => unreachable!("TaskQueue::pop has no deadline, yet it timed out"),
        }
    }

    /// Take the oldest task, waiting at most `timeout` (one too large for an
    /// `Instant`, such as `Duration::MAX`, means no deadline).
    pub fn pop_timeout(&self, timeout: Duration) -> TimedPop<T> {
        self.pop_deadline(deadline_after(timeout))
    }

    /// Take the oldest task if there is one now; never waits.
    pub fn try_pop(&self) -> TryPop<T> {
        // Acquire: pairs with the Release decrement in `push` and with
        // `close`: a state with CLOSED and no push in flight makes every item
        // ever pushed visible to the steal below, which must come after.
        let st = self.words.state.load(Ordering::Acquire);
        if let Some(t) = self.steal() {
            return TryPop::Item(t);
        }
        if st & CLOSED != 0 && st & PUSHING_MASK == 0 {
            TryPop::Closed
        } else {
            TryPop::Empty
        }
    }

    /// Tasks queued now (a snapshot: pushes and pops in flight may change it).
    pub fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Whether no task is queued now (a snapshot, as [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.fifo.is_empty()
    }

    /// Steal until success or a real `Empty` (`Retry` is a lost race, not
    /// an empty queue).
    fn steal(&self) -> Option<T> {
        loop {
            match self.fifo.steal() {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => spin_loop(),
            }
        }
    }

    fn pop_deadline(&self, deadline: Option<Instant>) -> TimedPop<T> {
        let cell = &self.words.cell;
        loop {
            // Acquire, and before `try_pop`'s state load and steal: any push
            // or close whose epoch bump is at or before `seen` is visible to
            // them; any later one changes the word (README, "no lost wake-up").
            let seen = cell.word().load(Ordering::Acquire);
            match self.try_pop() {
                TryPop::Item(t) => return TimedPop::Item(t),
                TryPop::Closed => return TimedPop::Closed,
                TryPop::Empty => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Checked here too: other consumers winning every new task
                // would otherwise keep ending the wait below before it times out.
                return TimedPop::TimedOut;
            }
            // Relaxed: only a hint. Parties: the waiting consumers (this one
            // included) plus one producer.
            let parties = self.waiters.fetch_add(1, Ordering::Relaxed) as usize + 2;
            let r = cell.wait_until(&self.strategy, parties, deadline, |w| w != seen);
            // Relaxed: as the increment.
            self.waiters.fetch_sub(1, Ordering::Relaxed);
            if r.is_err() {
                return TimedPop::TimedOut;
            }
        }
    }
}

/// The FIFO storage: crossbeam's lock-free `Injector`.
#[cfg(not(loom))]
struct Fifo<T>(crossbeam_deque::Injector<T>);

#[cfg(not(loom))]
impl<T> Fifo<T> {
    fn new() -> Self {
        Fifo(crossbeam_deque::Injector::new())
    }
    fn push(&self, t: T) {
        self.0.push(t)
    }
    fn steal(&self) -> Steal<T> {
        self.0.steal()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The FIFO storage under loom: a modelled mutex around a `VecDeque`
/// (crossbeam-deque's atomics are invisible to loom). Never returns `Retry`.
#[cfg(loom)]
struct Fifo<T>(crate::primitive::Mutex<std::collections::VecDeque<T>>);

#[cfg(loom)]
impl<T> Fifo<T> {
    fn new() -> Self {
        Fifo(crate::primitive::Mutex::new(std::collections::VecDeque::new()))
    }
    fn lock(&self) -> crate::primitive::MutexGuard<'_, std::collections::VecDeque<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn push(&self, t: T) {
        self.lock().push_back(t)
    }
    fn steal(&self) -> Steal<T> {
        self.lock().pop_front().map_or(Steal::Empty, Steal::Success)
    }
    fn len(&self) -> usize {
        self.lock().len()
    }
    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
