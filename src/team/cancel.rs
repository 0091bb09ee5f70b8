//! Cancellation (`#pragma omp cancel parallel | for`, `cancellation point`,
//! `OMP_CANCELLATION`). The protocol is "Cancellation" in `README.md` beside
//! this file.

use super::ctx::Released;
use super::{region, Ctx, RegionError, Team};
use crate::barrier::BreakReason;
use crate::primitive::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::tasks::GROUP_CANCELLED;
use std::panic;

/// How a region that did not fail ended ([`Team::parallel_outcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionOutcome {
    /// Every thread ran the closure to its end, and nothing was cancelled.
    Completed,
    /// Thread `by` cancelled the region (`ctx.cancel_parallel()`); the other
    /// threads left it at their next cancellation point.
    Cancelled {
        /// The thread that cancelled (the first, if several did).
        by: usize,
        /// Loop iterations not run because of a cancellation in this region
        /// (of the region or of a loop).
        skipped_iterations: u64,
        /// Queued tasks of cancelled taskgroups that were dropped unrun.
        skipped_tasks: u64,
    },
    /// The region ran to its end, but worksharing loops or taskgroups in it
    /// were cancelled (`ctx.cancel_for()`, `ctx.cancel_taskgroup()`).
    ConstructsCancelled {
        /// Loop iterations not run.
        skipped_iterations: u64,
        /// Queued tasks of cancelled taskgroups that were dropped unrun.
        skipped_tasks: u64,
    },
}

/// A team's cancellation words. Reset by the master at every fork (the
/// fork's Release store publishes the reset).
///
/// | word | value | meaning |
/// |---|---|---|
/// | `region` | 0 / `t + 1` | not cancelled / cancelled by thread `t` |
/// | `for_loop` | 0 / `c + 1` | no loop / loop construct `c` cancelled |
/// | `ordered` | 0 / `c + 1` | construct `c` is an ordered loop (not cancellable) |
/// | `skipped` | count | iterations skipped this region |
/// | `skipped_tasks` | count | tasks of cancelled taskgroups dropped this region |
#[derive(Debug, Default)]
pub(crate) struct CancelState {
    /// `OMP_CANCELLATION` / `TeamBuilder::cancellation`: requests take
    /// effect only when set (fixed when the team is built).
    pub(crate) enabled: bool,
    region: AtomicUsize,
    for_loop: AtomicU32,
    pub(crate) ordered: AtomicU32,
    skipped: AtomicU64,
    skipped_tasks: AtomicU64,
    /// Whether any loop or taskgroup was cancelled this region.
    any_loop: AtomicU32,
}

impl CancelState {
    /// Forget the last region's cancellations (master, workers idle).
    pub(crate) fn reset_idle(&self) {
        if !self.enabled {
            return;
        }
        // Relaxed, all four: the workers are idle; the fork word's Release
        // store publishes the reset.
        self.region.store(0, Ordering::Relaxed);
        self.for_loop.store(0, Ordering::Relaxed);
        self.skipped.store(0, Ordering::Relaxed);
        self.skipped_tasks.store(0, Ordering::Relaxed);
        self.any_loop.store(0, Ordering::Relaxed);
    }

    /// The region's outcome, read by the master after the join (which
    /// acquired every member's writes).
    pub(crate) fn outcome(&self) -> RegionOutcome {
        if !self.enabled {
            return RegionOutcome::Completed;
        }
        // Relaxed, all four: after the join (see above). Tasks of the region
        // all completed before the join returned (region end drains them).
        let skipped_iterations = self.skipped.load(Ordering::Relaxed);
        let skipped_tasks = self.skipped_tasks.load(Ordering::Relaxed);
        match self.region.load(Ordering::Relaxed) {
            0 if self.any_loop.load(Ordering::Relaxed) != 0 => {
                RegionOutcome::ConstructsCancelled { skipped_iterations, skipped_tasks }
            }
            0 => RegionOutcome::Completed,
            t => RegionOutcome::Cancelled { by: t - 1, skipped_iterations, skipped_tasks },
        }
    }

    /// Whether the region was cancelled.
    #[inline]
    fn region_cancelled(&self) -> bool {
        // Relaxed: a hint; a late view only delays leaving to a later
        // cancellation point (the barrier break is the one that must be seen,
        // and the barrier orders it).
        self.enabled && self.region.load(Ordering::Relaxed) != 0
    }
}

impl Ctx<'_> {
    /// `#pragma omp cancel parallel`: with cancellation enabled
    /// (`OMP_CANCELLATION=true` or [`TeamBuilder::cancellation`](crate::TeamBuilder::cancellation)),
    /// cancel the region and leave it at once (this call does not return);
    /// the other threads leave at their next cancellation point: a barrier
    /// (explicit or implicit), a loop chunk claim, or
    /// [`cancellation_point`](Self::cancellation_point). Loop iterations not
    /// started are not run and are counted. With cancellation disabled it
    /// does nothing and returns, as OpenMP. The caller of
    /// [`Team::parallel_outcome`] gets [`RegionOutcome::Cancelled`]; plain
    /// `parallel` just returns. Tasks already created still run.
    ///
    /// ```
    /// use phalanx::{team::RegionOutcome, Team};
    /// let team = Team::builder().num_threads(2).cancellation(true).build()?;
    /// let out = team.parallel_outcome(|ctx| {
    ///     if ctx.thread_num() == 1 {
    ///         ctx.cancel_parallel();
    ///     }
    ///     ctx.barrier();                       // thread 0 leaves here
    ///     unreachable!("a cancelled region never passes this barrier");
    /// });
    /// assert!(matches!(out, Ok(RegionOutcome::Cancelled { by: 1, .. })));
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    pub fn cancel_parallel(&self) {
        let shared = self.shared();
        if !shared.cancel.enabled {
            return;
        }
        // Relaxed: the outcome is read after the join; other threads learn
        // of the cancellation through the barrier break below (or read this
        // word at a cancellation point, where a late view only delays them).
        let _ = shared.cancel.region.compare_exchange(0, self.tid + 1, Ordering::Relaxed, Ordering::Relaxed);
        shared.break_barrier(self.gen, BreakReason::Other(format!("region cancelled by thread {}", self.tid)));
        panic::resume_unwind(Box::new(Released));
    }

    /// `#pragma omp cancellation point parallel`: leave the region now if it
    /// was cancelled (this call then does not return). Barriers and loop
    /// chunk claims are cancellation points too.
    pub fn cancellation_point(&self) {
        if self.shared().cancel.region_cancelled() {
            panic::resume_unwind(Box::new(Released));
        }
    }

    /// `#pragma omp cancel for`, called from a loop body: with cancellation
    /// enabled, cancel the innermost running worksharing loop and return
    /// `true` (the body should return); every thread stops at its next chunk
    /// claim, the chunks not started are counted and not run, and the
    /// loop's barrier is kept. `false` (nothing happens) when cancellation
    /// is disabled.
    ///
    /// ```
    /// use phalanx::{team::RegionOutcome, Schedule, Team};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let team = Team::builder().num_threads(2).cancellation(true).build()?;
    /// let ran = AtomicUsize::new(0);
    /// let out = team.parallel_outcome(|ctx| {
    ///     ctx.for_each(0..1000, Schedule::Dynamic(1), |i| {
    ///         if i == 10 && ctx.cancel_for() {
    ///             return;                         // found it: stop searching
    ///         }
    ///         ran.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// })?;
    /// let RegionOutcome::ConstructsCancelled { skipped_iterations, .. } = out else { panic!() };
    /// assert_eq!(ran.into_inner() as u64 + 1 + skipped_iterations, 1000);
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    ///
    /// # Panics
    /// Inside an ordered loop (`for_each_ordered`): its turns cannot skip
    /// iterations.
    pub fn cancel_for(&self) -> bool {
        let shared = self.shared();
        if !shared.cancel.enabled {
            return false;
        }
        let c = self.current_construct();
        // Relaxed: written by this thread when it entered the loop.
        if shared.cancel.ordered.load(Ordering::Relaxed) == c.wrapping_add(1) {
            panic!("phalanx: cancel_for inside an ordered loop (for_each_ordered) is not supported");
        }
        // Relaxed: a hint read at chunk claims; a late view runs one more
        // chunk, which OpenMP allows (cancellation takes effect at the next
        // cancellation point the thread *sees* it).
        shared.cancel.for_loop.store(c.wrapping_add(1), Ordering::Relaxed);
        // Relaxed: read after the join.
        shared.cancel.any_loop.store(1, Ordering::Relaxed);
        true
    }

    /// `#pragma omp cancellation point for`: whether the running loop was
    /// cancelled (the body can return early); leaves the region if the
    /// region was cancelled.
    pub fn loop_cancelled(&self) -> bool {
        self.cancellation_point();
        let cancel = &self.shared().cancel;
        // Relaxed: as in `cancel_for`.
        cancel.enabled && cancel.for_loop.load(Ordering::Relaxed) == self.current_construct().wrapping_add(1)
    }

    /// `#pragma omp cancel taskgroup`: with cancellation enabled, cancel the
    /// innermost taskgroup (`ctx.taskgroup`, `task_scope`, `taskloop`) of
    /// the running code and return `true`; its queued tasks that have not
    /// started are dropped unrun (and counted), including those created
    /// afterwards in it; running ones finish (they may poll
    /// [`taskgroup_cancelled`](Self::taskgroup_cancelled)). `false` when
    /// cancellation is disabled or no taskgroup is open. Nested taskgroups
    /// inside the cancelled one are not cancelled.
    ///
    /// ```
    /// use phalanx::{team::RegionOutcome, Team};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let team = Team::builder().num_threads(2).cancellation(true).build()?;
    /// let ran = AtomicUsize::new(0);
    /// let out = team.parallel_outcome(|ctx| {
    ///     ctx.single(|| ctx.taskgroup(|ctx| {
    ///         for i in 0..100 {
    ///             let ran = &ran;
    ///             ctx.task(move |ctx| {
    ///                 if i == 0 && ctx.cancel_taskgroup() { return; }
    ///                 ran.fetch_add(1, Ordering::Relaxed);
    ///             });
    ///         }
    ///     }));
    /// })?;
    /// let RegionOutcome::ConstructsCancelled { skipped_tasks, .. } = out else { panic!("{out:?}") };
    /// assert!(ran.into_inner() as u64 + skipped_tasks <= 100);
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn cancel_taskgroup(&self) -> bool {
        let cancel = &self.shared().cancel;
        let group = self.group.get();
        if !cancel.enabled || group.is_null() {
            return false;
        }
        // SAFETY: the innermost open taskgroup's counter: `taskgroup` keeps
        // it alive until every member completed, and we run inside it.
        // Relaxed: a hint read before each member task starts; a late view
        // runs one more task, which OpenMP allows.
        unsafe { &*group }.fetch_or(GROUP_CANCELLED, Ordering::Relaxed);
        // Relaxed: read after the join.
        cancel.any_loop.store(1, Ordering::Relaxed);
        true
    }

    /// `#pragma omp cancellation point taskgroup`: whether the innermost
    /// taskgroup of the running code was cancelled.
    pub fn taskgroup_cancelled(&self) -> bool {
        self.group_cancelled(self.group.get())
    }

    /// Whether `group` (a taskgroup counter or null) was cancelled; counts
    /// the task about to be skipped when it was.
    pub(crate) fn group_cancelled(&self, group: *const AtomicUsize) -> bool {
        let cancel = &self.shared().cancel;
        if !cancel.enabled || group.is_null() {
            return false;
        }
        // SAFETY: as in `cancel_taskgroup`: alive while a member runs.
        // Relaxed: as in `cancel_taskgroup`.
        unsafe { &*group }.load(Ordering::Relaxed) & GROUP_CANCELLED != 0
    }

    /// A task of a cancelled taskgroup was dropped unrun.
    pub(crate) fn task_skipped(&self) {
        // Relaxed: a counter read after the join.
        self.shared().cancel.skipped_tasks.fetch_add(1, Ordering::Relaxed);
    }

    /// A chunk claim of loop construct `c` as a cancellation point: whether
    /// the loop or the region was cancelled.
    #[inline]
    pub(crate) fn chunk_cancelled(&self, c: u32) -> bool {
        let cancel = &self.shared().cancel;
        // Relaxed: as in `cancel_for`.
        cancel.enabled
            && (cancel.for_loop.load(Ordering::Relaxed) == c.wrapping_add(1)
                || cancel.region.load(Ordering::Relaxed) != 0)
    }

    /// `skipped` iterations of a cancelled loop were not run; if the region
    /// was cancelled, leave it now.
    #[cold]
    pub(crate) fn chunks_skipped(&self, skipped: usize) {
        let cancel = &self.shared().cancel;
        // Relaxed: a counter read after the join.
        cancel.skipped.fetch_add(skipped as u64, Ordering::Relaxed);
        if cancel.region_cancelled() {
            panic::resume_unwind(Box::new(Released));
        }
    }
}

impl Team {
    /// As [`try_parallel`](Self::try_parallel), telling a cancelled region
    /// ([`RegionOutcome::Cancelled`], [`RegionOutcome::ConstructsCancelled`])
    /// from one that completed. A cancelled region is not a failure:
    /// `parallel` and `try_parallel` return normally for it.
    pub fn parallel_outcome<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: F) -> Result<RegionOutcome, RegionError> {
        if region::in_region() {
            // A nested region runs alone, without cancellation (as the
            // global default).
            return self.try_parallel(f).map(|()| RegionOutcome::Completed);
        }
        let _turn = self.region_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.run(&f)?;
        Ok(self.shared.cancel.outcome())
    }

    /// Whether cancellation requests take effect in this team
    /// (`OMP_CANCELLATION`, `omp_get_cancellation()`).
    pub fn cancellation(&self) -> bool {
        self.shared.cancel.enabled
    }
}
