//! [`TaskScope`]: tasks that borrow the creating frame's locals, because the
//! scope waits for them (a taskgroup) before the frame can end. The task
//! analogue of `std::thread::scope` and of `rayon::scope`.

use crate::team::Ctx;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Creates tasks that may borrow anything that outlives the
/// [`Ctx::task_scope`] call. Not `Send`: tasks are created by the thread
/// that opened the scope (a task receives a `Ctx` to create its own).
pub struct TaskScope<'scope, 'env: 'scope> {
    /// The opening thread's `Ctx`, alive for the whole scope, with its
    /// lifetime parameter erased: a `Ctx<'a>` in the type would make the
    /// borrow checker demand that spawned closures outlive `'a`.
    ctx: NonNull<()>,
    /// Invariant in both, as `std::thread::Scope`: `'scope` may not be
    /// shortened (to smuggle in shorter borrows) or lengthened.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope> TaskScope<'scope, '_> {
    /// Create a deferred task, like [`Ctx::task`], that may borrow for
    /// `'scope`: the scope does not end before it (and everything it
    /// creates) completed.
    ///
    /// The task gets the running thread's `Ctx`; from there it may open
    /// its own scopes, but its `Ctx::task` children may borrow only for the
    /// (unnamed) lifetime of that `Ctx`.
    pub fn spawn<F: for<'c> FnOnce(&Ctx<'c>) + Send + 'scope>(&self, f: F) {
        // SAFETY: `task_scope` borrows the `Ctx` for `'env`, which outlives
        // `self`; only its lifetime parameter was erased.
        let ctx = unsafe { self.ctx.cast::<Ctx<'_>>().as_ref() };
        // SAFETY: `task_scope` runs the scope's body inside a taskgroup and
        // returns (or unwinds) only after every task created in it, with its
        // descendants, completed; `f` borrows only data alive for `'scope`,
        // which contains that whole call. `f` accepts any `Ctx` lifetime.
        unsafe { ctx.task_unchecked(f) }
    }
}

impl<'scope> TaskScope<'scope, '_> {
    /// [`spawn`](Self::spawn) if `cond`, else run `f` here at once (an
    /// included task, as [`Ctx::task_if`]): the cut-off of recursive trees.
    pub fn spawn_if<F: for<'c> FnOnce(&Ctx<'c>) + Send + 'scope>(&self, cond: bool, f: F) {
        if cond {
            self.spawn(f);
        } else {
            // SAFETY: as in `spawn`: the `Ctx` outlives `self`.
            let ctx = unsafe { self.ctx.cast::<Ctx<'_>>().as_ref() };
            f(ctx);
        }
    }
}

impl<'a> Ctx<'a> {
    /// Run `f` with a [`TaskScope`] whose tasks may borrow this frame's
    /// locals; returns after every task created in it (and all their
    /// descendants) completed, running queued tasks meanwhile. The
    /// divide-and-conquer form of tasks:
    ///
    /// ```
    /// fn fib(ctx: &phalanx::Ctx<'_>, n: u64) -> u64 {
    ///     if n < 2 {
    ///         return n;
    ///     }
    ///     let mut a = 0;
    ///     let b = ctx.task_scope(|s| {
    ///         s.spawn(|ctx| a = fib(ctx, n - 1));
    ///         fib(ctx, n - 2)
    ///     });
    ///     a + b
    /// }
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// let out = std::sync::atomic::AtomicU64::new(0);
    /// team.parallel(|ctx| {
    ///     ctx.master(|| out.store(fib(ctx, 15), std::sync::atomic::Ordering::Relaxed));
    /// });
    /// assert_eq!(out.into_inner(), 610);
    /// ```
    pub fn task_scope<'env, R>(&'env self, f: impl for<'scope> FnOnce(&'scope TaskScope<'scope, 'env>) -> R) -> R {
        let scope = TaskScope { ctx: NonNull::from(self).cast(), _scope: PhantomData, _env: PhantomData };
        self.taskgroup(|_| f(&scope))
    }
}

impl std::fmt::Debug for TaskScope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskScope").finish_non_exhaustive()
    }
}
