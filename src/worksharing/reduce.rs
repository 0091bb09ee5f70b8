//! `reduce` on [`Ctx`]: `#pragma omp for reduction(...)`.

use super::Schedule;
use crate::team::Ctx;
use std::ops::Range;
use std::panic::Location;

impl Ctx<'_> {
    /// This thread's part of a reduction: the next construct's indices of
    /// `range` under `schedule`, folded from `identity`. No barrier.
    #[track_caller]
    pub(crate) fn fold_part<T, Fo>(&self, range: Range<usize>, schedule: Schedule, identity: T, mut fold: Fo) -> T
    where
        Fo: FnMut(T, usize) -> T,
    {
        let c = self.next_construct();
        let start = range.start;
        let len = range.end.saturating_sub(range.start);
        let mut acc = Some(identity);
        self.run_chunks(c, len, schedule, |r| {
            let a = acc.take().expect("accumulator is put back after every chunk");
            acc = Some(r.fold(a, |a, i| fold(a, start + i)));
        });
        acc.expect("accumulator is put back after every chunk")
    }

    /// Fold every index of `range` into a per-thread accumulator started from
    /// `identity` (indices split by `schedule`), then combine the
    /// accumulators **in thread order** (`combine(combine(t0, t1), t2)...`,
    /// deterministic for a given team size and static schedule) and give
    /// every thread the result. One barrier inside: every thread publishes
    /// its accumulator, and after the barrier every thread combines them all
    /// (each thread clones the others' accumulators; the result is the same
    /// on every thread).
    ///
    /// The accumulators travel between threads as `Box<dyn Any>`, hence
    /// `T: 'static`.
    ///
    /// ```
    /// use phalanx::{Team, Schedule};
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| {
    ///     let s = ctx.reduce(1..11, Schedule::Static, 0u32, |a, i| a + i as u32, |a, b| a + b);
    ///     assert_eq!(s, 55);
    /// });
    /// ```
    #[track_caller]
    pub fn reduce<T, Fo, C>(&self, range: Range<usize>, schedule: Schedule, identity: T, fold: Fo, combine: C) -> T
    where
        T: Clone + Send + 'static,
        Fo: FnMut(T, usize) -> T,
        C: Fn(T, T) -> T,
    {
        let at = Location::caller();
        let acc = self.fold_part(range, schedule, identity, fold);
        let n = self.num_threads();
        if n == 1 {
            // The implicit barrier of one thread: tasks complete here.
            self.drain_tasks();
            return acc;
        }
        let me = self.thread_num();
        // The cells of the barrier below: nobody overwrites them before every
        // thread passed the next one (README, "Handing values over").
        let (p, tag) = self.handoff_key();
        self.handoff(me, p).put(tag, n - 1, acc.clone());
        self.barrier_at(at);
        let mut own = Some(acc);
        let mut part = |t: usize| {
            if t == me {
                own.take().expect("own part is used once")
            } else {
                self.handoff(t, p).get(tag, "reduce")
            }
        };
        let mut total = part(0);
        for t in 1..n {
            total = combine(total, part(t));
        }
        total
    }
}
