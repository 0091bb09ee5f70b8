//! The completion-counting protocol of tasks, small enough for a loom model
//! (`tests/loom_tasks.rs`, which is why the module is `#[doc(hidden)] pub`):
//!
//! * [`TaskNode`]: per explicit task, one word with two counts: *live* (1
//!   while the body runs, plus one per child whose subtree has not finished)
//!   and *pending* (children whose body has not returned). `taskwait` waits
//!   for pending = 0; the task's subtree is finished when live reaches 0,
//!   and whoever brings it there frees the node and tells the parent.
//! * [`RootCount`]: per team thread, the same two counts for the implicit
//!   task. Barriers and the region end wait until every root's live count is
//!   zero: every task of the region finished.
//! * [`TaskEvents`]: one wait cell per team that changes when a task is pushed
//!   or completes in a way a waiter may care about, plus a count of threads
//!   that announced they may sleep on it, so pushers pay one fence and one load
//!   unless somebody waits.
//!
//! Finishing propagates up the tree one level at a time, so a creation or a
//! completion touches its own node and its parent's, never a word shared by
//! a whole tree: fine-grained recursive task trees scale (README, "Counting").
//! The proof that no wake-up is lost is in `src/tasks/README.md` ("events").

use crate::primitive::{fence, AtomicU32, AtomicU64, Ordering};
use crate::wait::{WaitCell, WaitStrategy};

/// One unit of the live half (bits 0..=31) of a [`TaskNode`] or
/// [`RootCount`] word.
pub const LIVE_ONE: u64 = 1;
/// One unit of the pending half (bits 32..=63).
pub const PENDING_ONE: u64 = 1 << 32;
/// The live half.
pub const LIVE_MASK: u64 = PENDING_ONE - 1;

/// What a child's signal did to its parent's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Signalled {
    /// The last pending child's body returned: a `taskwait` in the parent
    /// may return, so waiters must be notified.
    pub last_pending: bool,
    /// The parent's live count reached zero: its body returned and its whole
    /// subtree finished. The caller frees it (explicit task) and signals its
    /// parent in turn; for a root, the region's barriers may pass.
    pub finished: bool,
}

/// Subtract `pending` / `live` units from a two-count word. AcqRel:
/// Release publishes the signalling task's writes (and, transitively, its
/// subtree's) to whoever acquires the new value (`taskwait`, the drain
/// check, the thread that frees); Acquire, for the finishing case, chains
/// every earlier signal's writes to the thread that goes on up the tree.
#[inline]
fn signal(word: &AtomicU64, pending: bool, live: bool) -> Signalled {
    let sub = if pending { PENDING_ONE } else { 0 } + if live { LIVE_ONE } else { 0 };
    let prev = word.fetch_sub(sub, Ordering::AcqRel);
    debug_assert!(
        (!pending || prev >> 32 != 0) && (!live || prev & LIVE_MASK != 0),
        "task count underflow: {prev:#x} - {sub:#x}"
    );
    Signalled { last_pending: pending && prev >> 32 == 1, finished: live && prev & LIVE_MASK == LIVE_ONE }
}

/// An explicit task's counts:
///
/// | bits | meaning |
/// |---|---|
/// | 0..=31 ([`LIVE_MASK`], unit [`LIVE_ONE`]) | live: 1 while the body runs + 1 per child whose subtree has not finished; 0 = finished, free it |
/// | 32..=63 (unit [`PENDING_ONE`]) | pending: children whose body has not returned (`taskwait` waits for 0) |
///
/// A pending child is live, so pending ≤ live − (body running ? 1 : 0).
#[derive(Debug)]
pub struct TaskNode {
    word: AtomicU64,
}

impl Default for TaskNode {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskNode {
    /// A node whose body is running and has no children.
    pub fn new() -> Self {
        TaskNode { word: AtomicU64::new(LIVE_ONE) }
    }

    /// The running body created a child.
    #[inline]
    pub fn add_child(&self) {
        // Relaxed: the body holds its own live unit, so the count cannot reach
        // zero meanwhile; the child's thief learns about the child through the
        // deque's Release push / Acquire steal, which follows this in program
        // order, so its decrement is ordered after this increment.
        self.word.fetch_add(LIVE_ONE + PENDING_ONE, Ordering::Relaxed);
    }

    /// A child's body returned (`pending`) and/or its subtree finished
    /// (`live`); both at once when it finished with its body.
    #[inline]
    pub fn child_signal(&self, pending: bool, live: bool) -> Signalled {
        signal(&self.word, pending, live)
    }

    /// The body returned and no child is live (the common case of a leaf):
    /// finish the node in one step. `false` if some child's subtree is still
    /// live; then the caller first tells the parent that the body returned
    /// (while the body's live unit still pins this node, and so the parent),
    /// and only then drops that unit with [`body_done`](Self::body_done).
    /// Otherwise the last child could finish this node and signal the
    /// parent's live count before the body's pending signal reached it, and
    /// the parent could be finished and freed under that signal.
    #[inline]
    pub fn try_finish_leaf(&self) -> bool {
        // AcqRel on success: Acquire sees every finished child's writes
        // (their Release signals), Release publishes ours to whoever acquires
        // the parent's count next in the chain. Relaxed on failure: we go
        // the slow way, whose RMWs order everything.
        self.word.compare_exchange(LIVE_ONE, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// The body returned (after its pending signal to the parent): drop its
    /// live unit. `true` if that finished the task: the caller frees the
    /// node and signals the parent's live count.
    #[inline]
    pub fn body_done(&self) -> bool {
        signal(&self.word, false, true).finished
    }

    /// Whether every child's body returned (`taskwait` may return). Only
    /// meaningful while the body runs.
    #[inline]
    pub fn children_done(&self) -> bool {
        // Acquire: pairs with the Release in `signal`: the children's
        // writes are visible once this returns true.
        self.word.load(Ordering::Acquire) >> 32 == 0
    }

    /// The raw word (tests and debug output).
    pub fn word(&self) -> u64 {
        // Relaxed: a snapshot for assertions only.
        self.word.load(Ordering::Relaxed)
    }
}

/// A team thread's implicit task, with the same two counts as a
/// [`TaskNode`] (without the body unit: the implicit task is the region
/// closure, which the team tracks itself):
///
/// | bits | meaning |
/// |---|---|
/// | 0..=31 (unit [`LIVE_ONE`]) | direct children whose subtree has not finished (barriers wait for 0 on every root) |
/// | 32..=63 (unit [`PENDING_ONE`]) | direct children whose body has not returned (`taskwait` in the region body waits for 0) |
///
/// Only the owning thread's region body adds children, and a subtree can
/// grow only while one of its tasks runs (and is live). So once the owner
/// stops creating tasks (at a barrier or the region end) and the live half
/// reads 0, it stays 0 until the owner creates again.
#[derive(Debug, Default)]
pub struct RootCount {
    word: AtomicU64,
}

impl RootCount {
    /// Nothing outstanding.
    pub fn new() -> Self {
        RootCount { word: AtomicU64::new(0) }
    }

    /// The region body created a task.
    #[inline]
    pub fn add_child(&self) {
        // Relaxed: a count, not a publication; as in `TaskNode::add_child`.
        self.word.fetch_add(LIVE_ONE + PENDING_ONE, Ordering::Relaxed);
    }

    /// A direct child's body returned (`pending`) and/or its subtree
    /// finished (`live`). `finished` means this root drained.
    #[inline]
    pub fn child_signal(&self, pending: bool, live: bool) -> Signalled {
        signal(&self.word, pending, live)
    }

    /// No direct child's body is outstanding.
    #[inline]
    pub fn children_done(&self) -> bool {
        // Acquire: pairs with `signal`'s Release: the children's writes are
        // visible once this returns true.
        self.word.load(Ordering::Acquire) >> 32 == 0
    }

    /// No task descended from the implicit task is outstanding.
    #[inline]
    pub fn drained(&self) -> bool {
        // Acquire: as in `children_done`, for every subtree.
        self.word.load(Ordering::Acquire) & LIVE_MASK == 0
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

    /// Call after a change that can end a wait (a completion that made a
    /// count reach the value some thread waits for, a barrier release or
    /// break), with the waiters' strategy.
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
