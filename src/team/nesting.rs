//! Nested regions: the chain of enclosing regions of the calling thread
//! (`omp_get_ancestor_thread_num`, `omp_get_team_size`), and how a worker of
//! an inner team learns the chain of the thread that forked it.
//!
//! Every member of a region pushes `(thread number, team size)` onto its
//! thread's chain when it starts the region and pops it when it leaves
//! (`runtime::enter`). Thread 0 forks from its own thread, so its chain
//! already holds the enclosing levels. A worker of a team forked *inside* a
//! region (an active nested region, allowed by `max_active_levels`) has an
//! empty chain: the forking thread stores its chain in the team's
//! [`Outer`] before the fork, and each worker prepends it when it starts.
//!
//! `max-active-levels-var` travels the same way: the outermost team's
//! setting is inherited by every region nested in it, whatever the inner
//! teams were built with (as OpenMP's ICV is inherited by the implicit tasks).
//!
//! Publication: `Outer::set` runs while the team's workers are idle (the
//! forking thread holds the team's region lock and the last region joined);
//! the fork word's Release store, which workers acquire, orders it before
//! their `Outer::get`. Top-level regions (the common case) store nothing and
//! cost the workers one Relaxed load of `nested`.

use crate::primitive::{AtomicBool, AtomicUsize, Mutex, Ordering};
use std::cell::{Cell, RefCell};

thread_local! {
    /// `(thread number, team size)` of each enclosing region, outermost first.
    static CHAIN: RefCell<Vec<(usize, usize)>> = const { RefCell::new(Vec::new()) };
    /// `max-active-levels-var` of the innermost enclosing region: inherited
    /// from the outermost team (`TeamBuilder::max_active_levels`).
    static MAX_ACTIVE: Cell<usize> = const { Cell::new(1) };
}

/// The forking thread's chain, for the workers of a nested team.
#[derive(Default)]
pub(crate) struct Outer {
    /// Whether the last fork came from inside a region.
    nested: AtomicBool,
    chain: Mutex<Vec<(usize, usize)>>,
    /// The region's `max-active-levels-var`, for its members.
    max_active: AtomicUsize,
}

/// The calling thread's `max-active-levels-var` inside a region.
pub(crate) fn max_active_levels() -> usize {
    MAX_ACTIVE.with(Cell::get)
}

/// What `pop` restores.
pub(crate) struct Pushed {
    back: usize,
    max_active: usize,
}

impl Outer {
    /// Record the calling (forking) thread's chain and the region's
    /// `max-active-levels-var`: inherited inside a region, else the team's
    /// `own` setting. Workers must be idle.
    pub(crate) fn set_from_caller(&self, own: usize) {
        let nested = CHAIN.with(|c| !c.borrow().is_empty());
        let max_active = if nested { max_active_levels() } else { own };
        // Relaxed: published like `nested` below. Stored only when it
        // changes, as `nested`: a store every region would take the line
        // (shared with the team's read-mostly words) from every worker.
        if self.max_active.load(Ordering::Relaxed) != max_active {
            self.max_active.store(max_active, Ordering::Relaxed);
        }
        if nested {
            let mut g = self.chain.lock().unwrap_or_else(|e| e.into_inner());
            CHAIN.with(|c| g.clone_from(&c.borrow()));
        }
        // Relaxed: published to the workers by the fork word's Release store
        // (see the module docs); only the forking thread writes it.
        if self.nested.load(Ordering::Relaxed) != nested {
            // Relaxed: as above.
            self.nested.store(nested, Ordering::Relaxed);
        }
    }

    /// The forking thread's chain (empty for a top-level region).
    fn prefix(&self) -> Option<Vec<(usize, usize)>> {
        // Relaxed: ordered after `set_from_caller` by the fork's Acquire.
        if !self.nested.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.chain.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// Push this member's level; for a worker (`tid != 0`) first the forking
/// thread's chain. Returns what `pop` restores and the new (level, active
/// level).
pub(crate) fn push(outer: &Outer, tid: usize, n: usize) -> (Pushed, usize, usize) {
    let prefix = if tid != 0 { outer.prefix() } else { None };
    // Relaxed: ordered after `set_from_caller` by the fork's Acquire (thread 0
    // stored it itself).
    let old = MAX_ACTIVE.with(|m| m.replace(outer.max_active.load(Ordering::Relaxed)));
    CHAIN.with(|c| {
        let mut c = c.borrow_mut();
        let back = c.len();
        if let Some(p) = prefix {
            c.extend_from_slice(&p);
        }
        c.push((tid, n));
        let active = c.iter().filter(|&&(_, n)| n > 1).count();
        (Pushed { back, max_active: old }, c.len(), active)
    })
}

/// Undo a `push`.
pub(crate) fn pop(p: &Pushed) {
    CHAIN.with(|c| c.borrow_mut().truncate(p.back));
    MAX_ACTIVE.with(|m| m.set(p.max_active));
}

/// `omp_get_ancestor_thread_num(level)`: the thread number of the calling
/// thread's ancestor (or itself) at nesting `level`: 0 at level 0 (the
/// initial thread), `ctx.thread_num()` at the current level, `None` past it.
///
/// ```
/// let outer = phalanx::Team::builder().num_threads(2).max_active_levels(2).build().unwrap();
/// let inner = phalanx::Team::builder().num_threads(2).build().unwrap();
/// outer.parallel(|o| {
///     if o.thread_num() == 1 {
///         inner.parallel(|i| {
///             assert_eq!(phalanx::level(), 2);
///             assert_eq!(phalanx::ancestor_thread_num(1), Some(1));
///             assert_eq!(phalanx::ancestor_thread_num(2), Some(i.thread_num()));
///             assert_eq!(phalanx::team_size(2), Some(2));
///             assert_eq!(phalanx::ancestor_thread_num(3), None);
///         });
///     }
/// });
/// ```
pub fn ancestor_thread_num(level: usize) -> Option<usize> {
    if level == 0 {
        return Some(0);
    }
    CHAIN.with(|c| c.borrow().get(level - 1).map(|&(t, _)| t))
}

/// `omp_get_team_size(level)`: the size of the team at nesting `level` that
/// the calling thread (or its ancestor) belongs to: 1 at level 0, `None`
/// past the current level.
pub fn team_size(level: usize) -> Option<usize> {
    if level == 0 {
        return Some(1);
    }
    CHAIN.with(|c| c.borrow().get(level - 1).map(|&(_, n)| n))
}
