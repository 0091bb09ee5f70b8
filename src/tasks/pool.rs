//! The team's task pool: one Chase–Lev deque per team thread (crossbeam's
//! `Worker`/`Stealer`, after Chase and Lev, SPAA 2005, and Lê et al.,
//! PPoPP 2013), an `Injector` for tasks handed back, each thread's root count
//! and the event word. Built once with the team (`Shared::new`), so a
//! fork allocates nothing for tasks.

use super::counter::{RootCount, TaskEvents, TaskNode};
use crate::primitive::AtomicUsize;
use crate::team::Ctx;
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

/// The part of a task every thread may look at. First field of
/// [`TaskBox`] (`repr(C)`), so a `*mut Header` is a `*mut TaskBox<F>`.
#[repr(C)]
pub(crate) struct Header {
    /// This task's count: its body plus its outstanding children.
    pub(crate) node: TaskNode,
    /// The task that created this one, or null if an implicit task did (it
    /// is counted in `root` only). Derived from the parent's box pointer, so
    /// the child that drops the last reference may free it through it.
    pub(crate) parent: *const Header,
    /// The root count of the implicit task this one descends from
    /// (`TaskPool::roots`, alive as long as the team).
    pub(crate) root: *const RootCount,
    /// Innermost taskgroup at creation, or null.
    pub(crate) group: *const AtomicUsize,
    /// The region generation it was created in.
    pub(crate) gen: u32,
    /// Moves the closure out and calls it.
    pub(crate) run: unsafe fn(NonNull<Header>, &Ctx<'_>),
    /// Frees the allocation (the closure was moved out by `run`).
    pub(crate) free: unsafe fn(NonNull<Header>),
}

#[repr(C)]
pub(crate) struct TaskBox<F> {
    hdr: Header,
    f: ManuallyDrop<F>,
}

/// A queued task: owns its `TaskBox` until `run` is called.
pub(crate) struct TaskPtr(NonNull<Header>);

// SAFETY: the closure inside is `Send` (`Ctx::task` requires it) and the
// header's pointers are only dereferenced under the counting rules of
// `src/tasks/README.md`, which keep their targets alive.
unsafe impl Send for TaskPtr {}

impl TaskPtr {
    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.0
    }
}

/// # Safety
/// `h` must come from `TaskPtr::new::<'a, F>` and be called at most once.
unsafe fn run_box<'a, F: FnOnce(&Ctx<'a>) + Send>(h: NonNull<Header>, ctx: &Ctx<'_>) {
    let b = h.cast::<TaskBox<F>>().as_ptr();
    // SAFETY: `h` is a live `TaskBox<F>` (caller) and `f` is taken once.
    let f = unsafe { ManuallyDrop::take(&mut (*b).f) };
    // SAFETY: `Ctx` differs between regions only in its lifetime parameter,
    // which the task was checked against when created in region 'a; it runs
    // before that region (and any `task_scope` it borrows from) returns
    // (README: life cycle).
    let ctx = unsafe { &*(ctx as *const Ctx<'_>).cast::<Ctx<'a>>() };
    f(ctx)
}

/// # Safety
/// `h` must come from `TaskPtr::new::<'_, F>`, its closure already taken,
/// and nobody may use it afterwards.
unsafe fn free_box<F>(h: NonNull<Header>) {
    // SAFETY: allocated by `Box::new` in `TaskPtr::new`; `f` is ManuallyDrop.
    drop(unsafe { Box::from_raw(h.cast::<TaskBox<F>>().as_ptr()) });
}

impl TaskPtr {
    /// Box `f` with its header. `f` may borrow data shorter-lived than `'a`
    /// only if the caller waits for the task before that data dies.
    pub(crate) fn new<'a, F: FnOnce(&Ctx<'a>) + Send>(
        f: F,
        parent: *const Header,
        root: *const RootCount,
        group: *const AtomicUsize,
        gen: u32,
    ) -> TaskPtr {
        let hdr = Header { node: TaskNode::new(), parent, root, group, gen, run: run_box::<F>, free: free_box::<F> };
        let b = Box::new(TaskBox { hdr, f: ManuallyDrop::new(f) });
        TaskPtr(NonNull::from(Box::leak(b)).cast())
    }
}

/// What a look for work found.
pub(crate) enum Found {
    Task(TaskPtr),
    /// A task of a later region (the caller is a worker still leaving the
    /// previous one); it was handed back through the injector.
    Later,
    Nothing,
}

/// Per-team task state.
pub(crate) struct TaskPool {
    /// Thread `t`'s deque, used only by thread `t` (README: who may touch what).
    locals: Box<[CachePadded<UnsafeCell<Worker<TaskPtr>>>]>,
    stealers: Box<[Stealer<TaskPtr>]>,
    injector: Injector<TaskPtr>,
    /// Thread `t`'s implicit task: children and descendants outstanding.
    pub(crate) roots: Box<[CachePadded<RootCount>]>,
    pub(crate) events: CachePadded<TaskEvents>,
}

impl TaskPool {
    pub(crate) fn new(n: usize) -> TaskPool {
        // LIFO for the owner: depth-first execution of recursive task trees
        // keeps the working set small and hot; thieves take the oldest task,
        // the root of the biggest untouched subtree.
        let workers: Vec<Worker<TaskPtr>> = (0..n).map(|_| Worker::new_lifo()).collect();
        let stealers = workers.iter().map(Worker::stealer).collect();
        let locals = workers.into_iter().map(|w| CachePadded::new(UnsafeCell::new(w))).collect();
        TaskPool {
            locals,
            stealers,
            injector: Injector::new(),
            roots: (0..n).map(|_| CachePadded::new(RootCount::new())).collect(),
            events: CachePadded::new(TaskEvents::new()),
        }
    }

    /// # Safety
    /// Only thread `tid` of the team may call it, and not re-entrantly (no
    /// user code runs inside `Worker` methods).
    #[inline]
    unsafe fn local(&self, tid: usize) -> &Worker<TaskPtr> {
        // SAFETY: the caller is thread `tid` (see above).
        unsafe { &*self.locals[tid].get() }
    }

    /// Queue `t` on thread `tid`'s deque.
    ///
    /// # Safety
    /// As for `local`.
    #[inline]
    pub(crate) unsafe fn push(&self, tid: usize, t: TaskPtr) {
        // SAFETY: forwarded.
        unsafe { self.local(tid) }.push(t);
    }

    /// Pop our own newest task, else steal one: injector first, then the
    /// other threads' deques, starting after our own number.
    ///
    /// # Safety
    /// As for `local`.
    pub(crate) unsafe fn find(&self, tid: usize, gen: u32) -> Found {
        // SAFETY: forwarded.
        let local = unsafe { self.local(tid) };
        let found = local.pop().or_else(|| self.steal(tid));
        match found {
            None => Found::Nothing,
            // SAFETY: a queued task is live until run.
            Some(t) if unsafe { t.0.as_ref() }.gen != gen => {
                self.injector.push(t);
                Found::Later
            }
            Some(t) => Found::Task(t),
        }
    }

    fn steal(&self, tid: usize) -> Option<TaskPtr> {
        let n = self.stealers.len();
        loop {
            let mut retry = false;
            let from_injector = std::iter::once(self.injector.steal());
            let from_peers = (1..n).map(|i| self.stealers[(tid + i) % n].steal());
            for s in from_injector.chain(from_peers) {
                match s {
                    Steal::Success(t) => return Some(t),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Every root drained: no task of the region is outstanding (Acquire:
    /// the tasks' writes are visible).
    pub(crate) fn all_drained(&self) -> bool {
        self.roots.iter().all(|r| r.drained())
    }

    /// Fast path of barriers: anything outstanding anywhere (Relaxed hint).
    #[inline]
    pub(crate) fn pending_hint(&self) -> bool {
        self.roots.iter().any(|r| r.pending_hint())
    }

    /// Whether any deque or the injector holds a task (a hint for waiters).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }
}
