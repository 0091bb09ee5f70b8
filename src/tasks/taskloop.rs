//! `taskloop` (`#pragma omp taskloop`): split a loop into tasks that any
//! thread of the team runs, with `grainsize` or `num_tasks`, and (unless
//! `nogroup`) wait for them, as an implicit taskgroup does.

use crate::config::ConfigError;
use crate::primitive::Arc;
use crate::team::Ctx;
use std::ops::Range;

/// How a [`Ctx::taskloop`] splits its range (OpenMP's `grainsize` and
/// `num_tasks` clauses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Grain {
    /// About four tasks per team thread (OpenMP leaves the default to the
    /// implementation).
    #[default]
    Auto,
    /// `grainsize(g)`: tasks of `g` iterations (the last may have fewer; as
    /// in OpenMP, a task gets between `g` and `2g - 1` iterations when the
    /// range does not divide).
    Size(usize),
    /// `num_tasks(k)`: `k` tasks (fewer if the range is shorter), sizes
    /// differing by at most one.
    Tasks(usize),
}

impl Grain {
    /// The number of tasks for `len` iterations on `threads` threads, or the
    /// error naming the bad clause value (0).
    pub fn tasks_for(self, len: usize, threads: usize) -> Result<usize, ConfigError> {
        let k = match self {
            Grain::Auto => threads.saturating_mul(4),
            Grain::Size(0) => {
                return Err(ConfigError::setting("grainsize", 0, "a task must get at least one iteration"))
            }
            Grain::Size(g) => len / g,
            Grain::Tasks(0) => return Err(ConfigError::setting("num_tasks", 0, "a taskloop needs at least one task")),
            Grain::Tasks(k) => k,
        };
        Ok(k.clamp(1, len.max(1)).min(len))
    }
}

/// The `t`-th of `k` near-equal pieces of `range`.
fn piece(range: &Range<usize>, k: usize, t: usize) -> Range<usize> {
    let len = range.end - range.start;
    let (q, r) = (len / k, len % k);
    let start = range.start + t * q + t.min(r);
    start..start + q + usize::from(t < r)
}

impl<'a> Ctx<'a> {
    /// `#pragma omp taskloop`: run `body(i)` for every `i` in `range`, split
    /// into tasks by `grain`, and wait for all of them (and their
    /// descendants: an implicit taskgroup). Any thread of the team may run a
    /// piece; this thread runs pieces too while it waits. `body` may borrow
    /// locals, since the call returns only after every piece ran.
    ///
    /// ```
    /// use phalanx::tasks::Grain;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| {
    ///     ctx.single(|| {
    ///         let sum = AtomicU64::new(0);
    ///         ctx.taskloop(0..1000, Grain::Size(100), |i| {
    ///             sum.fetch_add(i as u64, Ordering::Relaxed);
    ///         });
    ///         assert_eq!(sum.into_inner(), 499_500);
    ///     });
    /// });
    /// ```
    ///
    /// # Panics
    /// On `Grain::Size(0)` or `Grain::Tasks(0)`, naming the clause.
    #[track_caller]
    pub fn taskloop<F: Fn(usize) + Sync>(&self, range: Range<usize>, grain: Grain, body: F) {
        let k = grain.tasks_for(range.len(), self.num_threads()).unwrap_or_else(|e| panic!("phalanx: taskloop: {e}"));
        let body = &body;
        self.task_scope(|s| {
            for t in 0..k {
                let r = piece(&range, k, t);
                s.spawn(move |_| r.for_each(body));
            }
        });
    }

    /// `#pragma omp taskloop nogroup`: as [`taskloop`](Self::taskloop), but
    /// returns at once; the pieces complete by the next barrier, `taskwait`
    /// (they are children of the current task) or the region end. `body`
    /// is shared by the pieces, so it may borrow only what the region
    /// borrows (`'a`).
    #[track_caller]
    pub fn taskloop_nogroup<F: Fn(usize) + Send + Sync + 'a>(&self, range: Range<usize>, grain: Grain, body: F) {
        let k = grain.tasks_for(range.len(), self.num_threads()).unwrap_or_else(|e| panic!("phalanx: taskloop: {e}"));
        let body = Arc::new(body);
        for t in 0..k {
            let (r, body) = (piece(&range, k, t), Arc::clone(&body));
            self.task(move |_| r.for_each(&*body));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn pieces_cover_the_range_once() {
        for len in 0..40 {
            for k in 1..=len.max(1) {
                let range = 3..3 + len;
                let mut next = range.start;
                for t in 0..k {
                    let p = piece(&range, k, t);
                    assert_eq!(p.start, next, "len {len}, k {k}, piece {t}");
                    assert!(p.len() == len / k || p.len() == len / k + 1);
                    next = p.end;
                }
                assert_eq!(next, range.end);
            }
        }
    }

    #[test]
    fn grain_counts_and_errors() {
        assert_eq!(Grain::Size(10).tasks_for(100, 2).unwrap(), 10);
        assert_eq!(Grain::Size(30).tasks_for(100, 2).unwrap(), 3);
        assert_eq!(Grain::Size(300).tasks_for(100, 2).unwrap(), 1);
        assert_eq!(Grain::Tasks(7).tasks_for(100, 2).unwrap(), 7);
        assert_eq!(Grain::Tasks(700).tasks_for(100, 2).unwrap(), 100);
        assert_eq!(Grain::Auto.tasks_for(100, 2).unwrap(), 8);
        assert_eq!(Grain::Auto.tasks_for(0, 2).unwrap(), 0);
        let e = Grain::Size(0).tasks_for(10, 2).unwrap_err().to_string();
        assert!(e.contains("grainsize") && e.contains('0'), "{e}");
        let e = Grain::Tasks(0).tasks_for(10, 2).unwrap_err().to_string();
        assert!(e.contains("num_tasks") && e.contains('0'), "{e}");
    }
}
