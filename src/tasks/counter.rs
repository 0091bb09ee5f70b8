//! The completion-counting protocol of tasks, small enough for a loom model
//! (`tests/loom_tasks.rs`, which is why the module is `#[doc(hidden)] pub`):
//!
//! * [`TaskNode`]: a task's reference count, `1` while its body runs plus one
//!   per child not yet completed. `taskwait` waits for `refs == 1`; whoever
//!   drops the count to 0 frees the task.
//! * [`RootCount`]: per team thread, the implicit task's direct children and
//!   all tasks descended from it, in one word. Barriers and the region end
//!   wait until every thread's descendant count is zero.
//! * [`TaskEvents`]: one wait cell per team that changes when a task is pushed
//!   or completes in a way a waiter may care about, plus a count of threads
//!   that announced they may sleep on it, so pushers pay one fence and one load
//!   unless somebody waits.
//!
//! The proof that no wake-up is lost is in `src/tasks/README.md` ("events").

use crate::primitive::{fence, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::wait::{WaitCell, WaitStrategy};

/// What a child's completion did to its parent's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildDone {
    /// Other children (or the parent's body) still hold references.
    More,
    /// Only the parent's own reference is left: a `taskwait` in the parent may
    /// now return, so waiters must be notified.
    LastChild,
    /// That was the last reference: the parent finished long ago; the caller
    /// frees it.
    Freed,
}

/// A task's reference count: `1` for its running body plus one per child
/// that has not completed.
///
/// | `refs` | meaning |
/// |---|---|
/// | `0` | nobody refers to the node: free it (never for an implicit task) |
/// | `1` | body running, no child outstanding (`taskwait` returns); or body done and one child left |
/// | `k > 1` | `k - 1` children outstanding (or `k` once the body finished) |
#[derive(Debug)]
pub struct TaskNode {
    refs: AtomicUsize,
}

impl Default for TaskNode {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskNode {
    /// A node whose body is running and has no children.
    pub fn new() -> Self {
        TaskNode { refs: AtomicUsize::new(1) }
    }

    /// The running body created a child.
    #[inline]
    pub fn add_child(&self) {
        // Relaxed: the body holds its own reference, so the count cannot reach
        // zero meanwhile; the child's thief learns about the child through the
        // deque's Release push / Acquire steal, which follows this in program
        // order, so its decrement is ordered after this increment.
        self.refs.fetch_add(1, Ordering::Relaxed);
    }

    /// A child completed. The child's writes are released to whoever sees
    /// the new count (the parent's `children_done`, or the freeing thread).
    #[inline]
    pub fn child_done(&self) -> ChildDone {
        // AcqRel: Release publishes the child's work to the parent's Acquire
        // load in `children_done`; Acquire (for the `Freed` case) makes every
        // other reference holder's writes visible before the node is freed.
        match self.refs.fetch_sub(1, Ordering::AcqRel) {
            1 => ChildDone::Freed,
            2 => ChildDone::LastChild,
            _ => ChildDone::More,
        }
    }

    /// The body finished: drop its reference. `true` if it was the last one
    /// (no child outstanding): the caller frees the node.
    #[inline]
    pub fn body_done(&self) -> bool {
        // AcqRel: as in `child_done`; the thread that reaches zero frees.
        self.refs.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Whether every child of the running body completed (`taskwait` may
    /// return). Only meaningful while the body runs (its reference held).
    #[inline]
    pub fn children_done(&self) -> bool {
        // Acquire: pairs with the Release in `child_done`: the children's
        // writes are visible once this returns true.
        self.refs.load(Ordering::Acquire) == 1
    }

    /// The current count (tests and debug output).
    pub fn refs(&self) -> usize {
        // Relaxed: a snapshot for assertions only.
        self.refs.load(Ordering::Relaxed)
    }
}

/// One unit of the children half (bits 0..=31) of a [`RootCount`] word.
pub const CHILD_ONE: u64 = 1;
/// One unit of the descendants half (bits 32..=63) of a [`RootCount`] word.
pub const DESC_ONE: u64 = 1 << 32;
/// The children half of a [`RootCount`] word.
pub const CHILD_MASK: u64 = DESC_ONE - 1;

/// What a completion did to a [`RootCount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootDone {
    /// The implicit task's last outstanding child completed (its `taskwait`
    /// may return).
    pub last_child: bool,
    /// The last outstanding descendant completed (barriers may pass).
    pub drained: bool,
}

/// A team thread's implicit task, counted in one word so that creating a
/// child of it, or completing one, is one atomic operation on one line:
///
/// | bits | meaning |
/// |---|---|
/// | 0..=31 ([`CHILD_MASK`], unit [`CHILD_ONE`]) | direct children not completed (`taskwait` in the region body waits for 0) |
/// | 32..=63 (unit [`DESC_ONE`]) | all tasks descended from the implicit task not completed, children included |
///
/// Only the owning thread's region body adds children; tasks add
/// descendants, and only while they run (counted themselves). So once the
/// owner stops creating tasks (at a barrier or the region end) and the high
/// half reads 0, it stays 0 until the owner creates again.
#[derive(Debug, Default)]
pub struct RootCount {
    word: AtomicU64,
}

impl RootCount {
    /// Nothing outstanding.
    pub fn new() -> Self {
        RootCount { word: AtomicU64::new(0) }
    }

    /// A task was created: by the implicit task itself (`child`), or by a
    /// descendant.
    #[inline]
    pub fn add(&self, child: bool) {
        // Relaxed: a count, not a publication. Our own later loads see it in
        // program order; another thread reaches zero only through the task's
        // AcqRel decrement, which follows this through the deque hand-over.
        self.word.fetch_add(DESC_ONE + if child { CHILD_ONE } else { 0 }, Ordering::Relaxed);
    }

    /// A task counted here completed (`child`: a direct child).
    #[inline]
    pub fn done(&self, child: bool) -> RootDone {
        // AcqRel: Release publishes the task's work to whoever acquires the
        // zero (`children_done`, `drained`); Acquire chains earlier
        // completions (release sequence through the RMWs).
        let prev = self.word.fetch_sub(DESC_ONE + if child { CHILD_ONE } else { 0 }, Ordering::AcqRel);
        debug_assert!(prev >> 32 != 0 && (!child || prev & CHILD_MASK != 0), "root count underflow: {prev:#x}");
        RootDone { last_child: child && prev & CHILD_MASK == CHILD_ONE, drained: prev >> 32 == 1 }
    }

    /// No direct child of the implicit task is outstanding.
    #[inline]
    pub fn children_done(&self) -> bool {
        // Acquire: pairs with `done`'s Release: the children's writes are
        // visible once this returns true.
        self.word.load(Ordering::Acquire) & CHILD_MASK == 0
    }

    /// No task descended from the implicit task is outstanding.
    #[inline]
    pub fn drained(&self) -> bool {
        // Acquire: as in `children_done`, for every descendant.
        self.word.load(Ordering::Acquire) >> 32 == 0
    }

    /// A fast-path hint: `true` if anything is outstanding.
    #[inline]
    pub fn pending_hint(&self) -> bool {
        // Relaxed: a miss is a count made by another thread, which drains
        // it itself before it arrives anywhere (README: barriers).
        self.word.load(Ordering::Relaxed) != 0
    }

    /// The raw word (tests, debug output).
    pub fn word(&self) -> u64 {
        // Relaxed: a snapshot for assertions only.
        self.word.load(Ordering::Relaxed)
    }
}

/// The team's task event word: waiters (threads in `taskwait`, `taskgroup`,
/// a barrier or the region end with nothing to steal) sleep on it; pushers
/// and completers that may end a wait bump it.
#[derive(Debug)]
pub struct TaskEvents {
    /// Word: a wrapping count of events, bumped only when `idle` was seen
    /// non-zero.
    cell: WaitCell,
    /// Threads between `wait`'s announcement and its end.
    idle: AtomicU32,
}

impl Default for TaskEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskEvents {
    /// No events yet, nobody waiting.
    pub fn new() -> Self {
        TaskEvents { cell: WaitCell::new(0), idle: AtomicU32::new(0) }
    }

    /// Call after a change that can end a wait (a push, or a completion that
    /// made a count reach the value some thread waits for), with the
    /// waiters' strategy.
    /// After a task push: like [`notify`](Self::notify), but wakes at most one
    /// blocked thread, since one task is work for one thread. Every waiter's
    /// `ready` includes "a task is queued", so whichever is woken takes it;
    /// the others stay parked (a wake costs 35–55 µs here).
    #[inline]
    pub fn notify_one<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        if !strategy.may_block() {
            return;
        }
        // F_n: as in `notify`.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by F_n, as in `notify`.
        if self.idle.load(Ordering::Relaxed) != 0 {
            // Release: as in `notify`.
            self.cell.word().fetch_add(1, Ordering::Release);
            self.cell.wake_one(strategy);
        }
    }

    #[inline]
    pub fn notify<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        if !strategy.may_block() {
            // Waiters of non-blocking policies re-check their condition on
            // every step of the wait loop: nothing to do.
            return;
        }
        // F_n: pairs with F_i in `wait`. Our change (before this fence) is
        // seen by the waiter's check after F_i, or we see its announcement.
        fence(Ordering::SeqCst);
        // Relaxed: ordered by F_n; a stale non-zero costs one bump.
        if self.idle.load(Ordering::Relaxed) != 0 {
            // Release: a waiter that acquires the new word sees our change.
            self.cell.word().fetch_add(1, Ordering::Release);
            self.cell.wake_all(strategy);
        }
    }

    /// Wait (following `strategy`, for an episode of `parties`) until
    /// `ready()` holds. `ready` must turn true only through a change that is
    /// followed by [`notify`](Self::notify).
    pub fn wait<W, R>(&self, strategy: &W, parties: usize, mut ready: R)
    where
        W: WaitStrategy + ?Sized,
        R: FnMut() -> bool,
    {
        let may_block = strategy.may_block();
        if may_block {
            // Relaxed: ordered before the checks below by F_i.
            self.idle.fetch_add(1, Ordering::Relaxed);
            // F_i: pairs with F_n in `notify` (see README, "events").
            fence(Ordering::SeqCst);
        }
        // Announced once for the whole loop: every notify whose F_n follows
        // our F_i sees `idle > 0` and bumps, so each re-check below either
        // sees the change or is followed by a bump that ends the wait.
        loop {
            // Acquire: a bump we see carries the change made before it.
            let seen = self.cell.word().load(Ordering::Acquire);
            if ready() {
                break;
            }
            let _ = self.cell.wait_until(strategy, parties, None, |w| w != seen || ready());
        }
        if may_block {
            // Relaxed: only spares later notifiers a bump; publishes nothing.
            self.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
