//! The team's task pool: one Chase–Lev deque per team thread (crossbeam's
//! `Worker`/`Stealer`, after Chase and Lev, SPAA 2005, and Lê et al.,
//! PPoPP 2013), an `Injector` for tasks handed back, each thread's root count
//! and the event word. Built once with the team (`Shared::new`), so a
//! fork allocates nothing for tasks.

use super::counter::{RootCount, TaskEvents, TaskNode};
use crate::primitive::AtomicUsize;
use crate::primitive::{AtomicPtr, Ordering};
use crate::team::Ctx;
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr::NonNull;

/// The default of `max_queued`: 64 tasks per team thread, libgomp's
/// threshold for running new tasks undeferred.
pub(crate) fn default_max_queued(n: usize) -> usize {
    n.saturating_mul(64)
}

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
    /// The team thread whose frame list the storage returns to (frames).
    home: u32,
    /// Moves the closure out and calls it.
    pub(crate) run: unsafe fn(NonNull<Header>, &Ctx<'_>),
    /// Releases the storage (the closure was moved out by `run`): a frame
    /// goes back to its home thread's list, a box to the allocator.
    pub(crate) free: unsafe fn(NonNull<Header>, &TaskPool, usize),
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
/// `h` must come from `TaskPool::new_task::<'a, F>` and be called at most once.
unsafe fn run_box<'a, F: FnOnce(&Ctx<'a>) + Send>(h: NonNull<Header>, ctx: &Ctx<'_>) {
    let b = h.cast::<TaskBox<F>>().as_ptr();
    // SAFETY: `h` is a live `TaskBox<F>` (caller) and `f` is taken once.
    let f = unsafe { ManuallyDrop::take(&mut (*b).f) };
    if ctx.skip_body.get() {
        // A task of a cancelled taskgroup: dropped, never run.
        drop(f);
        return;
    }
    // SAFETY: `Ctx` differs between regions only in its lifetime parameter,
    // which the task was checked against when created in region 'a; it runs
    // before that region (and any `task_scope` it borrows from) returns
    // (README: life cycle).
    let ctx = unsafe { &*(ctx as *const Ctx<'_>).cast::<Ctx<'a>>() };
    f(ctx)
}

/// # Safety
/// `h` must be a boxed task (`TaskPool::new_task` for a closure that does
/// not fit a frame), its closure already taken, and nobody may use it
/// afterwards.
unsafe fn free_box<F>(h: NonNull<Header>, _pool: &TaskPool, _tid: usize) {
    // SAFETY: allocated by `Box::new` in `new_task`; `f` is ManuallyDrop.
    drop(unsafe { Box::from_raw(h.cast::<TaskBox<F>>().as_ptr()) });
}

/// # Safety
/// `h` must be a task in a frame (`TaskPool::new_task`), its closure already
/// taken, nobody may use it afterwards, and `tid` must be the calling team
/// thread of `pool`'s team.
unsafe fn free_frame(h: NonNull<Header>, pool: &TaskPool, tid: usize) {
    // SAFETY: the header is still valid (caller) until we reuse the frame.
    let home = unsafe { h.as_ref() }.home as usize;
    // SAFETY: forwarded: a dead frame of this pool; `tid` is the caller.
    unsafe { pool.frames[home].give_back(h.cast::<Frame>(), home == tid) };
}

/// Bytes of a task frame: the header (56 bytes on 64-bit targets) and a
/// closure of up to 72 bytes (nine captured pointers) fit; larger closures
/// are boxed.
pub(crate) const FRAME_BYTES: usize = 128;

/// Storage for one task, recycled (README, "Frames").
#[repr(C, align(64))]
struct Frame([MaybeUninit<u8>; FRAME_BYTES]);

/// One team thread's frames. `free` is touched only by its thread (as its
/// deque); `returned` is a Treiber stack (Treiber, IBM RJ 5118, 1986) that
/// other threads push the frames they freed onto and that the owner takes
/// whole with one `swap`, so no pop races with a push (no ABA).
struct Frames {
    free: UnsafeCell<Vec<NonNull<Frame>>>,
    /// Head of the returned frames, linked through each frame's first word.
    returned: AtomicPtr<Frame>,
}

impl Frames {
    fn new() -> Self {
        Frames { free: UnsafeCell::new(Vec::new()), returned: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// Move every returned frame onto `free`.
    fn collect_returned(&self, free: &mut Vec<NonNull<Frame>>) {
        // Acquire: pairs with the pushers' Release, so the links (and the
        // frames' last use) are visible before we walk and reuse them.
        let mut p = self.returned.swap(std::ptr::null_mut(), Ordering::Acquire);
        while let Some(f) = NonNull::new(p) {
            // SAFETY: a returned frame's first word is its link (`give_back`).
            p = unsafe { f.cast::<*mut Frame>().as_ptr().read() };
            free.push(f);
        }
    }

    /// A frame for a new task, reusing a freed one when there is any.
    ///
    /// # Safety
    /// Only the owning thread may call it, not re-entrantly.
    unsafe fn take(&self) -> NonNull<Frame> {
        // SAFETY: the owner alone touches `free` (caller).
        let free = unsafe { &mut *self.free.get() };
        if let Some(f) = free.pop() {
            return f;
        }
        self.collect_returned(free);
        free.pop().unwrap_or_else(|| NonNull::from(Box::leak(Box::new(Frame([MaybeUninit::uninit(); FRAME_BYTES])))))
    }

    /// Return a dead frame to this list: directly if the caller is the owner
    /// (`local`), else onto `returned`.
    ///
    /// # Safety
    /// `f` is a frame of this pool nobody uses any more; with `local`, the
    /// caller is the owning thread, not re-entrantly.
    unsafe fn give_back(&self, f: NonNull<Frame>, local: bool) {
        if local {
            // SAFETY: the owner alone touches `free` (caller).
            unsafe { &mut *self.free.get() }.push(f);
            return;
        }
        // Relaxed: we only read the head to link to it; the CAS decides.
        let mut head = self.returned.load(Ordering::Relaxed);
        loop {
            // SAFETY: the frame is dead and ours until the CAS publishes it.
            unsafe { f.cast::<*mut Frame>().as_ptr().write(head) };
            // Release: the link and our last use of the frame happen before
            // the owner's Acquire swap. Relaxed on failure: we retry.
            match self.returned.compare_exchange_weak(head, f.as_ptr(), Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        let mut all = std::mem::take(self.free.get_mut());
        self.collect_returned(&mut all);
        for f in all {
            // SAFETY: every frame came from `Box::leak` in `take`, and no
            // task is alive when the team (and so its pool) drops.
            drop(unsafe { Box::from_raw(f.as_ptr()) });
        }
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
    /// Thread `t`'s task frames (README, "Frames").
    frames: Box<[CachePadded<Frames>]>,
    /// A thread whose deque holds this many tasks runs new ones undeferred
    /// (README, "Throttle"); `Team::builder().max_queued_tasks(k)`.
    pub(crate) max_queued: usize,
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
            frames: (0..n).map(|_| CachePadded::new(Frames::new())).collect(),
            max_queued: default_max_queued(n),
        }
    }

    /// Store `f` with its header: in a recycled frame of thread `tid` if it
    /// fits, else in a box. `f` may borrow data shorter-lived than `'a` only
    /// if the caller waits for the task before that data dies.
    ///
    /// # Safety
    /// As for `local`: only thread `tid` may call it.
    #[inline]
    pub(crate) unsafe fn new_task<'a, F: FnOnce(&Ctx<'a>) + Send>(
        &self,
        tid: usize,
        f: F,
        parent: *const Header,
        root: *const RootCount,
        group: *const AtomicUsize,
        gen: u32,
    ) -> TaskPtr {
        let fits = size_of::<TaskBox<F>>() <= FRAME_BYTES && align_of::<TaskBox<F>>() <= align_of::<Frame>();
        let free = if fits { free_frame } else { free_box::<F> };
        // `tid` < n, which fits u32 (the team checked its size).
        let home = tid as u32;
        let hdr = Header { node: TaskNode::new(), parent, root, group, gen, home, run: run_box::<F>, free };
        let task = TaskBox { hdr, f: ManuallyDrop::new(f) };
        if fits {
            // SAFETY: the caller is thread `tid`.
            let frame = unsafe { self.frames[tid].take() }.cast::<TaskBox<F>>();
            // SAFETY: a dead frame, large and aligned enough (checked above).
            unsafe { frame.as_ptr().write(task) };
            TaskPtr(frame.cast())
        } else {
            TaskPtr(NonNull::from(Box::leak(Box::new(task))).cast())
        }
    }

    /// Tasks queued on thread `tid`'s deque.
    ///
    /// # Safety
    /// As for `local`.
    #[inline]
    pub(crate) unsafe fn queued(&self, tid: usize) -> usize {
        // SAFETY: forwarded.
        unsafe { self.local(tid) }.len()
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
            // `is_empty` first: it reads the queue's two indices and pins no
            // epoch, where `steal` pins one each time (an idle member of an
            // 8-thread team probed every queue that way at every region end).
            // A push racing with the look is not lost: callers that find
            // nothing re-check `has_work` after announcing themselves idle.
            let from_injector = (!self.injector.is_empty()).then(|| self.injector.steal());
            let from_peers = (1..n).map(|i| &self.stealers[(tid + i) % n]).filter(|s| !s.is_empty()).map(|s| s.steal());
            for s in from_injector.into_iter().chain(from_peers) {
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
