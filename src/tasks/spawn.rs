//! The task methods of [`Ctx`] and the help loop every task scheduling point
//! runs: run queued tasks until the awaited count is reached, and wait under
//! the team's policy when there is nothing to steal.

use super::counter::RootCount;
use super::pool::{Found, Header, TaskPtr};
use crate::barrier::Helper;
use crate::primitive::{spin_loop, AtomicUsize, Ordering};
use crate::team::Ctx;
use crate::wait::{WaitPolicy, WaitStrategy};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

/// Pauses a thread with nothing to steal polls before it announces itself
/// as idle (`TaskEvents::wait`), under `Hybrid` and `Adaptive`: about 3 µs at
/// the 25 ns `PAUSE` of the reference machine (`src/wait/README.md`). While a
/// thread only polls, pushers skip the event bump; a producer that creates a
/// task every few hundred ns keeps its consumers in this phase.
pub const TASK_SPINS: u32 = 128;

/// Top bit of a taskgroup's member counter: the group was cancelled
/// (`Ctx::cancel_taskgroup`). Member counts never reach it.
pub(crate) const GROUP_CANCELLED: usize = 1 << (usize::BITS - 1);

impl<'a> Ctx<'a> {
    /// Create a deferred task (`#pragma omp task`): `f` runs once, later,
    /// on any thread of the team, with that thread's `Ctx`. It may borrow
    /// whatever the region closure borrows (`'a`); the region does not end
    /// before every task completed.
    ///
    /// Tasks complete before the next barrier (explicit or implicit) is
    /// passed and before `parallel` returns; [`taskwait`](Self::taskwait)
    /// and [`taskgroup`](Self::taskgroup) wait for fewer. A task may create
    /// tasks, `taskwait` and open taskgroups, but not use barriers or
    /// worksharing constructs (that panics, as OpenMP forbids it).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// let data: Vec<u64> = (1..=100).collect();
    /// let sum = AtomicU64::new(0);
    /// team.parallel(|ctx| {
    ///     ctx.master(|| {
    ///         for chunk in data.chunks(10) {
    ///             let sum = &sum;
    ///             ctx.task(move |_| { sum.fetch_add(chunk.iter().sum(), Ordering::Relaxed); });
    ///         }
    ///     });
    /// });
    /// assert_eq!(sum.into_inner(), 5050);
    /// ```
    pub fn task<F: FnOnce(&Ctx<'a>) + Send + 'a>(&self, f: F) {
        // SAFETY: `f: 'a`, and the region waits for every task.
        unsafe { self.task_unchecked(f) }
    }

    /// [`task`](Self::task) without the `'a` bound.
    ///
    /// # Safety
    /// Whatever `f` borrows must outlive the task: the caller waits for its
    /// completion (a taskgroup around the call) before that data dies.
    pub(crate) unsafe fn task_unchecked<F: FnOnce(&Ctx<'a>) + Send>(&self, f: F) {
        if self.final_depth.get() > 0 {
            // Inside a final task every descendant is included (OpenMP).
            f(self);
            return;
        }
        // SAFETY: forwarded (the caller's contract).
        let t = unsafe { self.new_counted_task(f) };
        let sh = self.shared();
        // Throttle (README, "Throttle"): with this many tasks queued here
        // already the others have plenty to steal; run this one now, as an
        // undeferred task (counted, caught, completed like any other), instead
        // of queueing it.
        // SAFETY: we are thread `self.tid`; no `Worker` call is running.
        if unsafe { sh.tasks.queued(self.tid) } >= sh.tasks.max_queued {
            self.run_task(t);
            return;
        }
        self.queue_task(t);
    }

    /// Count a new child of the current task (and its taskgroup) and store
    /// it with its header; the caller queues or runs it.
    ///
    /// # Safety
    /// As for [`task_unchecked`](Self::task_unchecked).
    pub(crate) unsafe fn new_counted_task<F: FnOnce(&Ctx<'a>) + Send>(&self, f: F) -> TaskPtr {
        let sh = self.shared();
        let cur = self.current.get();
        let group = self.group.get();
        let (parent, root): (*const Header, *const RootCount) = if cur.is_null() {
            let root = &*sh.tasks.roots[self.tid];
            root.add_child();
            (std::ptr::null(), root)
        } else {
            // SAFETY: the running task's header is alive while its body runs
            // (its own live unit).
            let hdr = unsafe { &*cur };
            hdr.node.add_child();
            (cur, hdr.root)
        };
        if !group.is_null() {
            // SAFETY: `taskgroup` keeps the counter alive until it is zero,
            // and this increment happens before that (we run inside it).
            // Relaxed: the group's waiter cannot see zero before this task's
            // AcqRel decrement, which follows this through the deque.
            unsafe { &*group }.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: we are thread `self.tid`.
        unsafe { sh.tasks.new_task(self.tid, f, parent, root, group, self.gen) }
    }

    /// Queue a counted task on this thread's deque and wake one idle thread.
    pub(crate) fn queue_task(&self, t: TaskPtr) {
        let sh = self.shared();
        // SAFETY: we are thread `self.tid`, and no `Worker` call is running.
        unsafe { sh.tasks.push(self.tid, t) };
        sh.tasks.events.notify_one(&sh.policy);
    }

    /// `#pragma omp task if(cond)`: a deferred task when `cond` is true;
    /// otherwise `f` runs here at once, as part of the current task (like an
    /// OpenMP included, merged task: tasks it creates are children of the
    /// current task). Use it for cut-offs in recursive task trees.
    pub fn task_if<F: FnOnce(&Ctx<'a>) + Send + 'a>(&self, cond: bool, f: F) {
        if cond {
            self.task(f)
        } else {
            f(self)
        }
    }

    /// `#pragma omp task final(cond)`: with `cond`, `f` runs here at once,
    /// and so does every task created inside it, transitively (an included
    /// task whose whole subtree is included: the cut-off that removes all
    /// task overhead below a depth); [`in_final`](Self::in_final) is true
    /// inside. Without `cond`, an ordinary [`task`](Self::task). (`mergeable`
    /// needs no form of its own: an included task here is always merged.)
    pub fn task_final<F: FnOnce(&Ctx<'a>) + Send + 'a>(&self, cond: bool, f: F) {
        if !cond {
            return self.task(f);
        }
        self.final_depth.set(self.final_depth.get() + 1);
        struct Restore<'c, 'a>(&'c Ctx<'a>);
        impl Drop for Restore<'_, '_> {
            fn drop(&mut self) {
                self.0.final_depth.set(self.0.final_depth.get() - 1);
            }
        }
        let _restore = Restore(self);
        f(self);
    }

    /// `omp_in_final()`: whether this code runs inside a final task.
    pub fn in_final(&self) -> bool {
        self.final_depth.get() > 0
    }

    /// `#pragma omp task priority(p)`: accepted as the hint OpenMP makes it
    /// (a scheduler may ignore it, and this one does: tasks run in deque
    /// order, LIFO for the creator, oldest first for thieves). Same as
    /// [`task`](Self::task).
    pub fn task_priority<F: FnOnce(&Ctx<'a>) + Send + 'a>(&self, _priority: u32, f: F) {
        self.task(f)
    }

    /// `#pragma omp taskyield`: a scheduling point. Runs one queued task
    /// (own newest first, else stolen) if there is one, and returns whether
    /// it did; never waits.
    pub fn taskyield(&self) -> bool {
        let sh = self.shared();
        // SAFETY: we are thread `self.tid`; no `Worker` call is running.
        match unsafe { sh.tasks.find(self.tid, self.gen) } {
            Found::Task(t) => {
                self.run_task(t);
                true
            }
            Found::Later => {
                sh.tasks.events.notify(&sh.policy);
                false
            }
            Found::Nothing => false,
        }
    }

    /// Wait until every task created so far by the current task (or by this
    /// thread's implicit task, outside tasks) completed (`#pragma omp
    /// taskwait`). Only direct children: their own children may still run.
    /// Runs other queued tasks while it waits.
    pub fn taskwait(&self) {
        let cur = self.current.get();
        if cur.is_null() {
            let root = &*self.shared().tasks.roots[self.tid];
            if !root.children_done() {
                self.help(|| root.children_done(), false);
            }
        } else {
            // SAFETY: as in `task`: the running task's header is alive.
            let node = unsafe { &(*cur).node };
            if !node.children_done() {
                self.help(|| node.children_done(), false);
            }
        }
    }

    /// Run `f`, then wait until every task created inside it, and all their
    /// descendants, completed (`#pragma omp taskgroup`). Runs other queued
    /// tasks while it waits. If `f` panics, the wait still happens before
    /// the panic continues.
    pub fn taskgroup<R>(&self, f: impl FnOnce(&Self) -> R) -> R {
        let count = AtomicUsize::new(0);
        let outer = self.group.replace(&count);
        let r = panic::catch_unwind(AssertUnwindSafe(|| f(self)));
        self.group.set(outer);
        // Acquire: pairs with the AcqRel decrement of every member task. The
        // cancellation bit (`GROUP_CANCELLED`) is not a member.
        self.help(|| count.load(Ordering::Acquire) & !GROUP_CANCELLED == 0, false);
        r.unwrap_or_else(|p| panic::resume_unwind(p))
    }

    /// Before a barrier: run tasks until none of the region is outstanding.
    #[inline]
    pub(crate) fn drain_tasks(&self) {
        let pool = &self.shared().tasks;
        // The fast path of a region without tasks: one Relaxed load per
        // thread's root (lines nobody writes). A count we miss was made by
        // another thread, which drains it before it arrives.
        if pool.pending_hint() {
            // Acquire loads: the tasks' writes are visible, and our barrier
            // arrival passes them on.
            self.help(|| pool.all_drained(), false);
        }
    }

    /// After `finish`: help until every member finished and no task is left,
    /// or a later region started (then this region's tasks are all done).
    pub(crate) fn region_end_tasks(&self, base: u32) {
        let sh = self.shared();
        let n = sh.n as u32;
        let gen = self.gen;
        // A worker may leave early once a later region forked; the master
        // (whose fork word is not even written in a one-thread team) never.
        let worker = self.tid != 0;
        let done = || {
            // Acquire: the members' join increments (SeqCst RMWs).
            let joined = sh.join.word().load(Ordering::Acquire).wrapping_sub(base) >= n;
            // `all_drained` loads with Acquire. Relaxed for the fork word:
            // only a hint that our region is over.
            joined && (sh.tasks.all_drained() || (worker && sh.fork.cell.word().load(Ordering::Relaxed) >> 1 != gen))
        };
        self.help(done, true);
    }

    /// Run queued tasks until none is found (a barrier waiter's turn).
    fn help_once(&self) {
        while self.taskyield() {}
    }

    /// The help loop of every scheduling point.
    fn help(&self, mut done: impl FnMut() -> bool, leaving: bool) {
        let sh = self.shared();
        loop {
            if done() {
                return;
            }
            // SAFETY: we are thread `self.tid`; no `Worker` call is running.
            match unsafe { sh.tasks.find(self.tid, self.gen) } {
                Found::Task(t) => self.run_task(t),
                Found::Later => {
                    sh.tasks.events.notify(&sh.policy);
                    if leaving {
                        return;
                    }
                }
                Found::Nothing => {
                    if !self.spin_for_work(&mut done) {
                        sh.tasks.events.wait(&sh.policy, sh.n, || done() || sh.tasks.has_work());
                        if done() {
                            // We may have taken a push's only wake-up and
                            // leave its task queued: hand the wake-up on.
                            Helper::pass_on(self);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Poll for up to [`TASK_SPINS`] pauses, without announcing ourselves to
    /// pushers (which then need not bump the event word), for policies whose
    /// wait starts with a spin anyway. `true` if work or `done` showed up.
    fn spin_for_work(&self, done: &mut impl FnMut() -> bool) -> bool {
        let sh = self.shared();
        if matches!(sh.policy, WaitPolicy::Block)
            || !sh.policy.may_block()
            || crate::wait::oversubscribed(sh.n)
            || crate::wait::colocate::together()
        {
            // Block: block at once. Non-blocking policies: pushers never
            // bump, so announcing costs nothing; their wait loop polls.
            // Oversubscribed, or sharing our CPU with the member we wait for
            // (`src/wait/colocate.rs`): a pure spin holds a CPU another
            // member needs (the wait's plan yields instead).
            return false;
        }
        for _ in 0..TASK_SPINS {
            spin_loop();
            if done() || sh.tasks.has_work() {
                return true;
            }
        }
        false
    }

    /// Run a queued task as the current task, then complete it.
    fn run_task(&self, t: TaskPtr) {
        let h = t.as_ptr();
        // SAFETY: a queued task is live and now ours; the node stays alive
        // while its body runs (its own reference).
        let (run, group) = unsafe { (h.as_ref().run, h.as_ref().group) };
        let outer = (self.current.replace(h.as_ptr()), self.group.replace(group));
        self.in_task.set(self.in_task.get() + 1);
        // A task of a cancelled taskgroup that has not started is not run:
        // `run` drops its closure instead (`src/team/cancel.rs`).
        let skip = self.group_cancelled(group);
        if skip {
            self.task_skipped();
        }
        self.skip_body.set(skip);
        // SAFETY: `run` is this task's and is called once.
        let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { run(h, self) }));
        self.skip_body.set(false);
        if !self.deps.borrow().is_empty() {
            // The dependence map of this task's children dies with its body.
            self.deps.borrow_mut().retain(|(t, _)| *t != h.as_ptr().cast_const());
        }
        self.in_task.set(self.in_task.get() - 1);
        self.current.set(outer.0);
        self.group.set(outer.1);
        if let Err(payload) = r {
            // Recorded before the root decrement in `complete`, which the
            // thread that ends the region acquires.
            self.shared().fail(self.tid, self.gen, payload);
        }
        // SAFETY: the body is done and nobody else completes it.
        unsafe { self.complete(h) };
    }

    /// Signal `parent` (or, if null, `root`) that a child's body returned
    /// (`pending`) and/or its subtree finished (`live`). Returns whether a
    /// waiter may care (`taskwait`, drained root) and whether an explicit
    /// parent finished (the caller frees it and goes on up).
    #[inline]
    fn signal_parent(parent: *const Header, root: *const RootCount, pending: bool, live: bool) -> (bool, bool) {
        if parent.is_null() {
            // SAFETY: roots live as long as the team.
            let r = unsafe { &*root }.child_signal(pending, live);
            (r.last_pending || r.finished, false)
        } else {
            // SAFETY: the child's live unit on the parent (released by this
            // very signal when `live`) keeps the parent's header alive.
            let r = unsafe { &(*parent).node }.child_signal(pending, live);
            (r.last_pending, r.finished)
        }
    }

    /// # Safety
    /// `h`'s body has returned; called once per task.
    unsafe fn complete(&self, h: NonNull<Header>) {
        let sh = self.shared();
        let mut wake = false;
        // SAFETY: our body's live unit keeps the header alive until
        // `body_done` below.
        let group = unsafe { h.as_ref().group };
        if !group.is_null() {
            // SAFETY: `taskgroup` keeps it alive until it reads zero, which
            // cannot happen before this decrement.
            // AcqRel: Release publishes the task to the group's waiter.
            if unsafe { &*group }.fetch_sub(1, Ordering::AcqRel) & !GROUP_CANCELLED == 1 {
                wake = true;
            }
        }
        // Signal up the tree (README, "Counting"): our body returned
        // (`pending`), and once our subtree finished the parent loses a live
        // child; a parent finished that way goes on to its own parent, and
        // so on. Each finished node is freed by whoever finished it, after
        // reading its links.
        // SAFETY: alive, as above (our body's live unit).
        let (mut parent, mut root, mut free) = unsafe { (h.as_ref().parent, h.as_ref().root, h.as_ref().free) };
        // SAFETY: as above; not used after `body_done` releases our unit.
        let node = unsafe { &h.as_ref().node };
        let (mut pending, mut finished) = (true, node.try_finish_leaf());
        if !finished {
            // A child is still live: the body's pending signal goes first,
            // while our live unit pins us and (through us) the parent.
            wake |= Self::signal_parent(parent, root, true, false).0;
            // SAFETY: our live unit keeps the node alive until this call.
            finished = node.body_done();
            pending = false;
        }
        let mut cur = h;
        if finished {
            loop {
                // SAFETY: finished: nobody refers to it and its closure was
                // taken; `cur` carries the box's provenance (from `current` or
                // `parent`, both box pointers).
                unsafe { free(cur, &sh.tasks, self.tid) };
                let (w, parent_finished) = Self::signal_parent(parent, root, pending, true);
                wake |= w;
                if !parent_finished {
                    break;
                }
                // The parent's body returned earlier (and sent its pending
                // signal then); now its subtree finished too, and it is ours.
                cur = NonNull::new(parent.cast_mut()).expect("a finished parent is an explicit task");
                // SAFETY: we finished it, so it is ours alone until freed above.
                (parent, root, free) = unsafe { (cur.as_ref().parent, cur.as_ref().root, cur.as_ref().free) };
                pending = false;
            }
        }
        if wake {
            sh.tasks.events.notify(&sh.policy);
        }
    }
}

/// A team barrier is a task scheduling point: its waiters run queued tasks
/// (`src/barrier/README.md`, "Barriers that run tasks").
impl Helper for Ctx<'_> {
    #[inline]
    fn has_work(&self) -> bool {
        let pool = &self.shared().tasks;
        // The Relaxed root hint first: in a region without tasks those lines
        // are never written, so polling them costs no coherence traffic.
        pool.pending_hint() && pool.has_work()
    }

    fn help(&self) {
        self.help_once();
    }

    fn block_until(&self, ready: &mut dyn FnMut() -> bool) {
        let sh = self.shared();
        // `Block`: the caller has spent the team policy's spin phase already.
        sh.tasks.events.wait(&WaitPolicy::Block, sh.n, ready);
    }

    #[inline]
    fn wake(&self) {
        let sh = self.shared();
        sh.tasks.events.notify(&sh.policy);
    }

    fn pass_on(&self) {
        let sh = self.shared();
        if self.has_work() {
            sh.tasks.events.notify_one(&sh.policy);
        }
    }
}
