//! [`ThreadPrivate`]: per-team-thread storage that persists across regions
//! (`#pragma omp threadprivate`), with `copyin` from thread 0.

use super::Ctx;
use crate::primitive::{Mutex, MutexGuard};
use crossbeam_utils::CachePadded;
use std::fmt;

/// One value per team thread, indexed by [`Ctx::thread_num`], that keeps
/// its contents from one region to the next (OpenMP `threadprivate`; the
/// team's threads are persistent, so thread `t` of every region is the same
/// OS thread).
///
/// Each slot sits behind its own lock on its own cache line: thread `t`
/// only ever takes slot `t`, so the lock is uncontended (one atomic swap
/// each way) except in [`copyin`](Self::copyin) and when two teams or a
/// nested one-thread region share the storage, where it keeps access
/// sound instead of racing.
///
/// ```
/// use phalanx::{team::ThreadPrivate, Team};
/// let team = Team::builder().num_threads(2).build()?;
/// let seen = ThreadPrivate::new(team.num_threads(), |_| 0u32);
/// for _ in 0..3 {
///     team.parallel(|ctx| seen.with(ctx, |c| *c += 1));
/// }
/// assert_eq!(seen.into_inner(), vec![3, 3]);
/// # Ok::<(), phalanx::BuildError>(())
/// ```
pub struct ThreadPrivate<T> {
    slots: Box<[CachePadded<Mutex<T>>]>,
}

impl<T: fmt::Debug> fmt::Debug for ThreadPrivate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPrivate").field("threads", &self.slots.len()).finish_non_exhaustive()
    }
}

impl<T> ThreadPrivate<T> {
    /// Storage for `threads` team threads, slot `t` starting as `init(t)`.
    pub fn new(threads: usize, init: impl FnMut(usize) -> T) -> Self {
        ThreadPrivate { slots: (0..threads).map(init).map(|v| CachePadded::new(Mutex::new(v))).collect() }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no slot.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    #[track_caller]
    fn slot(&self, t: usize) -> MutexGuard<'_, T> {
        match self.slots.get(t) {
            // A panic inside `with` leaves the value as it was then; the
            // region reports the panic, and the slot stays usable.
            Some(s) => s.lock().unwrap_or_else(|e| e.into_inner()),
            None => panic!(
                "phalanx: ThreadPrivate with {} slots used by thread {t}: build it with the team's num_threads()",
                self.slots.len()
            ),
        }
    }

    /// Run `f` on this thread's value.
    ///
    /// # Panics
    /// If the storage has fewer slots than the region has threads.
    #[track_caller]
    pub fn with<R>(&self, ctx: &Ctx<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.slot(ctx.thread_num()))
    }

    /// Thread `t`'s value, outside a region (`&mut self`: no region uses it).
    pub fn get_mut(&mut self, t: usize) -> Option<&mut T> {
        self.slots.get_mut(t).map(|s| s.get_mut().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every slot's value, in thread order.
    pub fn into_inner(self) -> Vec<T> {
        self.slots
            .into_vec()
            .into_iter()
            .map(|s| s.into_inner().into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }
}

impl<T: Clone> ThreadPrivate<T> {
    /// `copyin`: every thread's value becomes a clone of thread 0's. Call it
    /// on every thread of the region (it ends with a barrier, so thread 0
    /// cannot change its value before everyone copied it).
    ///
    /// ```
    /// use phalanx::{team::ThreadPrivate, Team};
    /// let team = Team::builder().num_threads(3).build()?;
    /// let mut cfg = ThreadPrivate::new(3, |t| format!("default {t}"));
    /// *cfg.get_mut(0).unwrap() = "from master".to_string();
    /// team.parallel(|ctx| {
    ///     cfg.copyin(ctx);
    ///     cfg.with(ctx, |s| assert_eq!(s, "from master"));
    /// });
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    #[track_caller]
    pub fn copyin(&self, ctx: &Ctx<'_>) {
        let t = ctx.thread_num();
        if t != 0 {
            let v = self.slot(0).clone();
            *self.slot(t) = v;
        }
        ctx.barrier();
    }
}

/// A `TeamBuilder::on_thread_start` hook: shared by every worker thread.
/// A std `Arc` even under loom: no protocol depends on it, and loom's `Arc`
/// cannot hold a `dyn Fn`.
#[derive(Clone)]
pub(crate) struct StartHook(std::sync::Arc<dyn Fn(usize) + Send + Sync>);

impl fmt::Debug for StartHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartHook")
    }
}

impl StartHook {
    pub(crate) fn new(hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        StartHook(std::sync::Arc::new(hook))
    }

    /// Run the hook for thread `tid`; a panic comes back as its message.
    pub(crate) fn run(&self, tid: usize) -> Result<(), String> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.0)(tid))).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a non-string panic payload)".to_string())
        })
    }
}
