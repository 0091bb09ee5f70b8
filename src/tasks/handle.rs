//! [`TaskHandle`]: a task that returns a value, joined the OpenMP way. The
//! line-by-line port of
//!
//! ```c
//! #pragma omp task shared(x)
//! x = fib(n - 1);
//! #pragma omp task shared(y)
//! y = fib(n - 2);
//! #pragma omp taskwait
//! return x + y;
//! ```
//!
//! is `let x = ctx.spawn(move |ctx| fib(ctx, n - 1)); let y = ...;
//! x.join() + y.join()`: `join` is the `taskwait`, and the value comes back
//! through the handle instead of through a variable the task writes (which,
//! captured by `move`, would be a copy: the classic silent-zero port).

use crate::primitive::Arc;
use crate::team::Ctx;
use std::cell::UnsafeCell;
use std::fmt;

/// The result of a task created by [`Ctx::spawn`] or
/// [`TaskScope::spawn_if`](super::TaskScope::spawn_if), and the right to wait
/// for it. It borrows the creating `Ctx`, so it cannot leave the task (or
/// region body) that created it; dropping it without `join` lets the task run
/// on unobserved (it still completes before the next barrier).
#[must_use = "a task's value is only reached through `join`"]
pub struct TaskHandle<'c, 'a, R> {
    ctx: &'c Ctx<'a>,
    /// The task's closure holds the other reference until its body
    /// returns or unwinds; the value is in the slot by then.
    slot: Arc<Slot<R>>,
}

/// Where a task leaves its value: written once by the task (through its own
/// reference, before it drops it), taken once by the handle after
/// `Arc::try_unwrap` made the handle the only owner.
struct Slot<R>(UnsafeCell<Option<R>>);

// SAFETY: the value is written by the task's thread while the handle only
// holds its reference (it reads nothing before `try_unwrap` succeeds), and
// read by the handle's thread once it owns the slot alone; the `Arc`'s
// Release decrement / Acquire `try_unwrap` orders the two. So `&Slot` is
// never used by two threads at once, and only `R: Send` crosses threads.
unsafe impl<R: Send> Sync for Slot<R> {}

impl<R> fmt::Debug for TaskHandle<'_, '_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").field("finished", &self.is_finished()).finish()
    }
}

impl<'c, 'a, R> TaskHandle<'c, 'a, R> {
    /// A handle whose value is already there (an undeferred `spawn_if`).
    pub(crate) fn ready(ctx: &'c Ctx<'a>, value: R) -> Self {
        TaskHandle { ctx, slot: Arc::new(Slot(UnsafeCell::new(Some(value)))) }
    }

    /// Whether the task's body returned (with a value, or by panicking).
    pub fn is_finished(&self) -> bool {
        Arc::strong_count(&self.slot) == 1
    }

    /// Wait for the task (`#pragma omp taskwait`: this waits for every child
    /// the creating task made so far, running queued tasks meanwhile) and
    /// return its value.
    ///
    /// # Panics
    /// If the task panicked. Its panic is also the region's failure, which
    /// [`Team::parallel`](crate::Team::parallel) re-raises (or
    /// [`try_parallel`](crate::Team::try_parallel) returns) with its payload.
    pub fn join(self) -> R {
        if !self.is_finished() {
            // The task is a child of the current task (the handle cannot
            // leave it: it borrows the `Ctx`, which is neither Send nor
            // Sync), so `taskwait` waits for it.
            self.ctx.taskwait();
        }
        // After `taskwait` the task's closure, and its clone of the slot, were
        // dropped (before its completion was signalled, which `taskwait`
        // acquired).
        match Arc::try_unwrap(self.slot) {
            Ok(slot) => match slot.0.into_inner() {
                Some(v) => v,
                None => panic!("phalanx: joined a task that panicked (the region reports its panic)"),
            },
            Err(_) => unreachable!("a finished task holds no reference to its result slot"),
        }
    }
}

impl<'a> Ctx<'a> {
    /// Create a deferred task that returns a value (`#pragma omp task` with
    /// the result in a `shared` variable), and get a handle whose
    /// [`join`](TaskHandle::join) waits for it and returns the value.
    ///
    /// ```
    /// use phalanx::Ctx;
    /// fn fib(ctx: &Ctx<'_>, n: u64) -> u64 {
    ///     if n < 2 {
    ///         return n;
    ///     }
    ///     let x = ctx.spawn(move |ctx| fib(ctx, n - 1));
    ///     let y = ctx.spawn(move |ctx| fib(ctx, n - 2));
    ///     x.join() + y.join()
    /// }
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// let r = std::sync::atomic::AtomicU64::new(0);
    /// team.parallel(|ctx| {
    ///     ctx.master(|| r.store(fib(ctx, 15), std::sync::atomic::Ordering::Relaxed));
    /// });
    /// assert_eq!(r.into_inner(), 610);
    /// ```
    pub fn spawn<'c, R, F>(&'c self, f: F) -> TaskHandle<'c, 'a, R>
    where
        R: Send + 'a,
        F: FnOnce(&Ctx<'a>) -> R + Send + 'a,
    {
        let slot = Arc::new(Slot(UnsafeCell::new(None)));
        let mine = Arc::clone(&slot);
        self.task(move |ctx| {
            let v = f(ctx);
            // SAFETY: only this task writes the slot, once, before dropping
            // `mine`; the handle reads it only after owning it alone (`Slot`).
            unsafe { *mine.0.get() = Some(v) };
        });
        TaskHandle { ctx: self, slot }
    }

    /// [`spawn`](Self::spawn) if `cond`, else run `f` here at once (an
    /// included task, as [`task_if`](Self::task_if)) and return a handle
    /// holding its value: the cut-off of recursive task trees.
    pub fn spawn_if<'c, R, F>(&'c self, cond: bool, f: F) -> TaskHandle<'c, 'a, R>
    where
        R: Send + 'a,
        F: FnOnce(&Ctx<'a>) -> R + Send + 'a,
    {
        if cond {
            self.spawn(f)
        } else {
            TaskHandle::ready(self, f(self))
        }
    }
}
