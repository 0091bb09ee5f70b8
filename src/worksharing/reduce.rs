//! `reduce` on [`Ctx`]: `#pragma omp for reduction(...)`.

use super::for_loop::Check;
use super::side::ARRIVAL_BITS;
use super::Schedule;
use crate::team::Ctx;
use std::ops::Range;
use std::panic::Location;

impl Ctx<'_> {
    /// This thread's part of a reduction: the next construct's indices of
    /// `range` under `schedule`, folded from `identity`. No barrier.
    #[track_caller]
    pub(crate) fn fold_part<T, Fo>(&self, range: Range<usize>, schedule: Schedule, identity: T, fold: Fo) -> T
    where
        Fo: FnMut(T, usize) -> T,
    {
        self.fold_part_as(Check::Compare, range, schedule, identity, fold)
    }

    /// `fold_part` with the construct check on or off (off for
    /// `Team::parallel_reduce`, see `for_each_nowait_as`).
    #[track_caller]
    pub(crate) fn fold_part_as<T, Fo>(
        &self,
        check: Check,
        range: Range<usize>,
        schedule: Schedule,
        identity: T,
        mut fold: Fo,
    ) -> T
    where
        Fo: FnMut(T, usize) -> T,
    {
        let c = self.next_construct();
        let start = range.start;
        let len = range.end.saturating_sub(range.start);
        let mut acc = Some(identity);
        self.run_chunks_of(c, start, len, schedule, check, |r| {
            let a = acc.take().expect("accumulator is put back after every chunk");
            acc = Some(r.fold(a, |a, i| fold(a, start + i)));
        });
        acc.expect("accumulator is put back after every chunk")
    }

    /// Fold every index of `range` into a per-thread accumulator started from
    /// `identity` (indices split by `schedule`), then combine the
    /// accumulators **in thread order** (`combine(combine(t0, t1), t2)...`,
    /// deterministic for a given team size and static schedule) and give
    /// every thread the result. One barrier inside. `combine` runs `n - 1`
    /// times in all, on the thread that arrives last; the others get a clone
    /// of the total (`n - 1` clones; no partial is cloned).
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
    ///
    /// # Panics
    /// As the loops; and when threads reach it with different range lengths
    /// or schedules (`worksharing construct mismatch`).
    #[track_caller]
    pub fn reduce<T, Fo, C>(&self, range: Range<usize>, schedule: Schedule, identity: T, fold: Fo, combine: C) -> T
    where
        T: Clone + Send + 'static,
        Fo: FnMut(T, usize) -> T,
        C: Fn(T, T) -> T,
    {
        let at = Location::caller();
        let acc = self.fold_part(range, schedule, identity, fold);
        self.combine_parts(acc, combine, at)
    }

    /// The combining half of [`reduce`](Self::reduce): publish `acc`, let
    /// the last arriver combine every part in thread order and hand the total
    /// to the others across the construct's barrier.
    pub(crate) fn combine_parts<T, C>(&self, acc: T, combine: C, at: &'static Location<'static>) -> T
    where
        T: Clone + Send + 'static,
        C: Fn(T, T) -> T,
    {
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
        if n >= 1 << ARRIVAL_BITS {
            return self.combine_everywhere(acc, combine, at);
        }
        // Our part, moved (one reader: the last arriver), then our arrival
        // (AcqRel in `arrive` publishes the part).
        self.handoff(me, p).put(tag, 1, acc);
        if !self.shared().side.arrive(tag, n) {
            self.barrier_at(at);
            // Thread 0's cell carries the total (put by the last arriver
            // before the barrier), as `single` does.
            return self.handoff(0, p).get(tag, "reduce");
        }
        // Last to arrive: every part is in its cell.
        let mut total = self.handoff(0, p).get(tag, "reduce");
        for t in 1..n {
            total = combine(total, self.handoff(t, p).get(tag, "reduce"));
        }
        // Thread 0's part was taken above: the cell is free for the total.
        self.handoff(0, p).put(tag, n - 1, total.clone());
        self.barrier_at(at);
        total
    }

    /// Every thread combines every part (teams of 2^`ARRIVAL_BITS` threads
    /// or more, which the arrival word cannot count).
    #[cold]
    fn combine_everywhere<T, C>(&self, acc: T, combine: C, at: &'static Location<'static>) -> T
    where
        T: Clone + Send + 'static,
        C: Fn(T, T) -> T,
    {
        let (n, me) = (self.num_threads(), self.thread_num());
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
