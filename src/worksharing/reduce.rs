//! `reduce` on [`Ctx`]: `#pragma omp for reduction(...)`.

use super::Schedule;
use crate::team::Ctx;
use std::ops::Range;
use std::panic::Location;

impl Ctx<'_> {
    /// Fold every index of `range` into a per-thread accumulator started from
    /// `identity` (indices split by `schedule`), then combine the
    /// accumulators **in thread order** (`combine(combine(t0, t1), t2)...`,
    /// deterministic for a given team size and static schedule) and give
    /// every thread the result. Two barriers inside.
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
    pub fn reduce<T, Fo, C>(&self, range: Range<usize>, schedule: Schedule, identity: T, mut fold: Fo, combine: C) -> T
    where
        T: Clone + Send + 'static,
        Fo: FnMut(T, usize) -> T,
        C: Fn(T, T) -> T,
    {
        let at = Location::caller();
        let c = self.next_construct();
        let start = range.start;
        let len = range.end.saturating_sub(range.start);
        let mut acc = Some(identity);
        self.run_chunks(c, len, schedule, |r| {
            let a = acc.take().expect("accumulator is put back after every chunk");
            acc = Some(r.fold(a, |a, i| fold(a, start + i)));
        });
        let acc = acc.expect("accumulator is put back after every chunk");
        let n = self.num_threads();
        if n == 1 {
            return acc;
        }
        let tag = self.tag(c);
        let me = self.thread_num();
        self.post(me, tag, acc);
        self.barrier_at(at);
        if me == 0 {
            let mut total: T = self.take(0, tag, "reduce");
            for t in 1..n {
                let part: T = self.take(t, tag, "reduce");
                total = combine(total, part);
            }
            for t in 1..n {
                self.post(t, tag, total.clone());
            }
            self.barrier_at(at);
            total
        } else {
            self.barrier_at(at);
            self.take(me, tag, "reduce")
        }
    }
}
