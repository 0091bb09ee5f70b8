//! [`Ctx`]: what a region's closure gets. Thread number, barriers, `master`,
//! `single`, `critical`; the worksharing loops live in `src/worksharing/`.

use super::handoff::Handoff;
use super::region::{barrier_number, status, Shared, WAITING};
use crate::barrier::{Barrier, BarrierError, BreakReason};
use crate::primitive::AtomicUsize;
use crate::primitive::Ordering;
use crate::tasks::DepMaps;
use crate::tasks::Header;
use crate::wait::{self, WaitStats};
use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, Location};

/// Panic payload of a member released from a wait because another member
/// failed first. The worker loop recognises it and does not report it.
pub(crate) struct Released;

/// Panic payload of a member that waits at a barrier another member will
/// never reach, because it left the region.
pub(crate) struct DivergedMarker {
    pub(crate) left: usize,
    pub(crate) waiting: usize,
    pub(crate) at: &'static Location<'static>,
}

/// One thread's view of a parallel region (`omp_get_thread_num()` and
/// friends). Each thread of the team gets its own `&Ctx`; `Ctx` is not
/// `Sync`, so that reference cannot be handed to another thread:
///
/// ```compile_fail
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// team.parallel(|ctx| {
///     std::thread::scope(|s| {
///         s.spawn(|| ctx.barrier()); // error: `Cell<u32>` cannot be shared between threads
///     });
/// });
/// ```
///
/// ```
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// let hits = std::sync::atomic::AtomicUsize::new(0);
/// team.parallel(|ctx| {
///     assert!(ctx.thread_num() < ctx.num_threads());
///     hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     ctx.barrier();
///     assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 2);
/// });
/// ```
///
/// The lifetime `'a` is the region's environment: what the region closure may
/// borrow, and what a task ([`Ctx::task`]) may borrow. It is invariant, so a
/// task cannot borrow a local of the region closure, which may be gone before
/// the task runs:
///
/// ```compile_fail
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// team.parallel(|ctx| {
///     let local = vec![1, 2, 3];
///     ctx.task(|_| drop(local.len())); // error: `local` does not live long enough
/// });
/// ```
pub struct Ctx<'a> {
    /// The team's shared state; alive for the whole region (`run_member`).
    shared: *const Shared,
    /// This region's barrier (`Shared::barriers[gen % 2]`).
    barrier: *const Barrier,
    pub(crate) tid: usize,
    pub(crate) gen: u32,
    base: u32,
    /// The task this thread runs now; null: the implicit task (counted in
    /// `TaskPool::roots[tid]`).
    pub(crate) current: Cell<*const Header>,
    /// Innermost taskgroup counter of the running code, or null.
    pub(crate) group: Cell<*const AtomicUsize>,
    /// Depth of explicit tasks running on this thread right now.
    pub(crate) in_task: Cell<u32>,
    /// Depth of `final` tasks running here (`Ctx::task_final`): while > 0,
    /// every task created runs at once, included (OpenMP `final`).
    pub(crate) final_depth: Cell<u32>,
    /// Set by `run_task` around a task of a cancelled taskgroup: its run
    /// function drops the closure instead of calling it.
    pub(crate) skip_body: Cell<bool>,
    /// Dependence maps of the tasks running on this thread (`task_depend`).
    pub(crate) deps: RefCell<DepMaps>,
    /// Invariant in `'a` (see above).
    _env: PhantomData<Cell<&'a ()>>,
    /// Barriers entered in this region (explicit and implicit).
    bars: Cell<u32>,
    /// Worksharing constructs (loops, `single`, `sections`) entered.
    constructs: Cell<u32>,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx").field("thread_num", &self.tid).field("num_threads", &self.shared().n).finish()
    }
}

impl<'a> Ctx<'a> {
    /// # Safety
    /// `shared` must outlive the `Ctx`.
    pub(crate) unsafe fn new(shared: &Shared, tid: usize, gen: u32, base: u32) -> Self {
        let barrier = &shared.barriers[(gen & 1) as usize];
        Ctx {
            shared,
            barrier,
            tid,
            gen,
            base,
            current: Cell::new(std::ptr::null()),
            group: Cell::new(std::ptr::null()),
            in_task: Cell::new(0),
            final_depth: Cell::new(0),
            skip_body: Cell::new(false),
            deps: RefCell::new(Vec::new()),
            _env: PhantomData,
            bars: Cell::new(0),
            constructs: Cell::new(0),
        }
    }

    /// The team's shared state.
    #[inline]
    pub(crate) fn shared(&self) -> &Shared {
        // SAFETY: `new`'s contract: the `Shared` outlives this `Ctx`.
        unsafe { &*self.shared }
    }

    #[inline]
    fn barrier_ref(&self) -> &Barrier {
        // SAFETY: points into `Shared`, which outlives this `Ctx` (`new`).
        unsafe { &*self.barrier }
    }

    /// Panic if called from inside an explicit task: barriers and
    /// worksharing bind to the region's implicit tasks (OpenMP forbids them
    /// in explicit tasks).
    #[track_caller]
    fn not_in_task(&self, what: &str, at: &'static Location<'static>) {
        if self.in_task.get() != 0 {
            panic!(
                "phalanx: {what} at {at} called inside a task (thread {}); barriers and worksharing \
                 constructs may only be used by the region's threads, outside `ctx.task`",
                self.tid
            );
        }
    }

    /// This thread's number, `0..num_threads()`; 0 is the thread that called
    /// `parallel` (`omp_get_thread_num()`).
    #[inline]
    pub fn thread_num(&self) -> usize {
        self.tid
    }

    /// Threads in this region (`omp_get_num_threads()`).
    #[inline]
    pub fn num_threads(&self) -> usize {
        self.shared().n
    }

    /// Whether this is thread 0.
    #[inline]
    pub fn is_master(&self) -> bool {
        self.tid == 0
    }

    /// Wait until every thread of the region arrived (`#pragma omp barrier`).
    ///
    /// # Panics
    /// If another thread panicked (this thread is released; the region
    /// reports the original panic), or left the region while this one waits
    /// (the region reports `RegionError::Diverged` naming the thread that
    /// left and this call site).
    #[track_caller]
    #[inline]
    pub fn barrier(&self) {
        self.barrier_at(Location::caller());
    }

    /// The barrier behind every explicit and implicit one; `at` names the
    /// construct in divergence errors.
    pub(crate) fn barrier_at(&self, at: &'static Location<'static>) {
        self.not_in_task("a barrier", at);
        // Every task created before the barrier completes before anyone
        // passes it (README in src/tasks: barriers).
        self.drain_tasks();
        // Wrapping: barrier numbers are compared modulo 2^31 (`barrier_number`).
        let k = self.bars.get().wrapping_add(1);
        self.bars.set(k);
        let me = &self.shared().slots[self.tid].waiting;
        // SeqCst: the divergence handshake with `Shared::finish`: we publish
        // WAITING then read `join`; a finishing thread adds to `join` then
        // reads our status. One of the two sees the other.
        me.store(status(self.gen, WAITING | barrier_number(k)), Ordering::SeqCst);
        // SeqCst: as above.
        let finished = self.shared().join.word().load(Ordering::SeqCst);
        let result = if finished != self.base {
            // Someone finished the region: it will never arrive here.
            let left = self.shared().leaver(self.gen, self.tid);
            let reason = BreakReason::Left { party: Some(left) };
            self.shared().break_barrier(self.gen, reason.clone());
            // The barrier keeps its first reason; a panic breaks it first.
            Err(BarrierError::Broken(self.barrier_ref().broken_reason().unwrap_or(reason)))
        } else {
            // Waiting runs queued tasks: a barrier is a task scheduling
            // point (src/barrier/README.md, "Barriers that run tasks").
            self.barrier_ref().wait_helping_as(self.tid, self)
        };
        // Relaxed: a stale WAITING seen by a finishing thread can only name a
        // barrier that thread passed (no break) or one already broken.
        me.store(status(self.gen, barrier_number(k)), Ordering::Relaxed);
        if let Err(e) = result {
            self.released(e, at);
        }
    }

    #[cold]
    fn released(&self, e: BarrierError, at: &'static Location<'static>) -> ! {
        match e {
            BarrierError::Broken(BreakReason::Left { party: Some(left) }) if left != self.tid => {
                panic::resume_unwind(Box::new(DivergedMarker { left, waiting: self.tid, at }))
            }
            _ => panic::resume_unwind(Box::new(Released)),
        }
    }

    /// For a thread waiting outside a barrier (an ordered turn): `Err(None)`
    /// if the region's barrier is broken (a member panicked), `Err(Some(t))`
    /// if member `t` already finished the region, which no thread may do
    /// while another is inside a worksharing construct that ends with a
    /// barrier.
    pub(crate) fn region_failure(&self) -> Result<(), Option<usize>> {
        if self.barrier_ref().broken_reason().is_some() {
            return Err(None);
        }
        // Acquire: orders the leaver's `done` word (read by `leaver`) after
        // its join increment, which we see here.
        if self.shared().join.word().load(Ordering::Acquire) != self.base {
            return Err(Some(self.shared().leaver(self.gen, self.tid)));
        }
        Ok(())
    }

    /// Unwind out of a wait outside a barrier because the region failed:
    /// as released (`None`), or as the waiter of a divergence at `at`.
    #[cold]
    pub(crate) fn release_member(&self, left: Option<usize>, at: &'static Location<'static>) -> ! {
        match left {
            Some(left) if left != self.tid => {
                panic::resume_unwind(Box::new(DivergedMarker { left, waiting: self.tid, at }))
            }
            _ => panic::resume_unwind(Box::new(Released)),
        }
    }

    pub(crate) fn barriers_passed(&self) -> u32 {
        self.bars.get()
    }

    /// Number the next worksharing construct (every thread counts the same).
    #[inline]
    #[track_caller]
    pub(crate) fn next_construct(&self) -> u32 {
        self.not_in_task("a worksharing construct", Location::caller());
        let c = self.constructs.get();
        self.constructs.set(c.wrapping_add(1));
        c
    }

    /// The number of the worksharing construct entered last.
    pub(crate) fn current_construct(&self) -> u32 {
        self.constructs.get().wrapping_sub(1)
    }

    /// Where the construct that ends at this thread's next barrier hands
    /// values over: the cell parity and the tag (README, "Handing values
    /// over"). Cells alternate by barrier parity.
    pub(crate) fn handoff_key(&self) -> (usize, u64) {
        let k = self.bars.get().wrapping_add(1);
        ((k & 1) as usize, status(self.gen, u64::from(k)))
    }

    /// Thread `t`'s hand-over cell of parity `p` (from `handoff_key`).
    pub(crate) fn handoff(&self, t: usize, p: usize) -> &Handoff {
        &self.shared().slots[t].handoff[p]
    }

    /// Run `f` on thread 0 only, without a barrier (`#pragma omp master`).
    #[inline]
    pub fn master<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        self.is_master().then(f)
    }

    /// Run `f` on one thread, the first to get here, and give every thread a
    /// clone of its result (`#pragma omp single copyprivate(...)`). Ends with
    /// a barrier. `R: 'static` because the value travels between threads as a
    /// type-checked `Box<dyn Any>`; `f` returning `()` costs a `single_nowait`
    /// and the barrier, nothing more.
    #[track_caller]
    pub fn single<R: Clone + Send + 'static>(&self, f: impl FnOnce() -> R) -> R {
        let at = Location::caller();
        if self.shared().n == 1 {
            self.next_construct();
            let v = f();
            // The implicit barrier of one thread is still a task scheduling
            // point: the tasks created so far complete here.
            self.drain_tasks();
            return v;
        }
        if TypeId::of::<R>() == TypeId::of::<()>() {
            // Nothing to hand over: every thread makes its own `()`.
            let mine = self.single_nowait(f);
            self.barrier_at(at);
            return match mine {
                Some(v) => v,
                None => unit(),
            };
        }
        let c = self.next_construct();
        // Thread 0's cell carries the value, whoever wins.
        let (p, tag) = self.handoff_key();
        let cell = self.handoff(0, p);
        if self.shared().claim.claim_single(c) {
            let v = f();
            cell.put(tag, self.shared().n - 1, v.clone());
            self.barrier_at(at);
            v
        } else {
            self.barrier_at(at);
            cell.get(tag, "single")
        }
    }

    /// Run `f` on the first thread to get here; the others go on at once
    /// (`#pragma omp single nowait`). Returns `Some` on the thread that ran it.
    pub fn single_nowait<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let c = self.next_construct();
        self.shared().claim.claim_single(c).then(f)
    }

    /// Run `f` while holding the critical lock (`#pragma omp critical`).
    /// As in OpenMP, the lock is program-wide: every unnamed critical section
    /// of every team (and of nested regions) excludes every other. Waiting
    /// follows the team's wait policy. A panic inside releases the lock; the
    /// region then fails as usual.
    ///
    /// # Panics
    /// If called inside a critical section of its own (a deadlock in OpenMP).
    #[track_caller]
    pub fn critical<R>(&self, f: impl FnOnce() -> R) -> R {
        crate::sync::critical::run(None, &self.shared().policy, Location::caller(), f)
    }

    /// Run `f` holding the program-wide lock named `name`
    /// (`#pragma omp critical(name)`): sections with different names do not
    /// exclude each other. Finding the lock takes no global lock (a fixed
    /// table keyed by the name; `src/sync/README.md`, "Critical").
    ///
    /// # Panics
    /// If called inside a section of the same name.
    #[track_caller]
    pub fn critical_named<R>(&self, name: &str, f: impl FnOnce() -> R) -> R {
        crate::sync::critical::run(Some(name), &self.shared().policy, Location::caller(), f)
    }

    /// This thread's wait counters ([`crate::wait::stats`]).
    pub fn wait_stats(&self) -> WaitStats {
        wait::stats()
    }
}

/// A `()` as an `R` known (by `TypeId`) to be `()`.
fn unit<R: 'static>() -> R {
    let b: Box<dyn Any> = Box::new(());
    match b.downcast::<R>() {
        Ok(v) => *v,
        Err(_) => unreachable!("R is ()"),
    }
}

#[cfg(all(test, not(loom)))]
mod test {
    use crate::team::RegionError;
    use crate::{Team, WaitPolicy};

    /// Barrier counts near and across 2^31 (where the count would reach the
    /// WAITING bit) and 2^32 (where it wraps): barriers pass without a false
    /// divergence, and a real one is still found and named, not a hang.
    // Under Miri: a team's crossbeam deques cast integers to pointers, which
    // the strict-provenance `--lib` run refuses (tests/tasks.rs runs teams
    // under Miri with permissive provenance).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn barrier_counts_wrap_without_aliasing() {
        for policy in [WaitPolicy::default(), WaitPolicy::Block] {
            let team = Team::builder().num_threads(2).wait_policy(policy).build().unwrap();
            for start in [(1u32 << 31) - 3, u32::MAX - 3] {
                team.parallel(|ctx| {
                    ctx.bars.set(start);
                    for _ in 0..8 {
                        ctx.barrier();
                    }
                });
                let r = team.try_parallel(|ctx| {
                    ctx.bars.set(start);
                    ctx.barrier();
                    ctx.barrier();
                    if ctx.thread_num() == 1 {
                        return; // leaves; thread 0 waits at the next barrier
                    }
                    ctx.barrier();
                });
                match r {
                    Err(RegionError::Diverged { left, waiting, .. }) => {
                        assert_eq!((left, waiting), (1, 0), "start {start:#x}, {policy}")
                    }
                    other => panic!("start {start:#x}, {policy}: expected a divergence, got {other:?}"),
                }
            }
        }
    }
}
