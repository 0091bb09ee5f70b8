//! `lastprivate` on [`Ctx`]: the value of a loop's sequentially last
//! iteration, given to every thread after the loop.

use super::Schedule;
use crate::team::Ctx;
use std::ops::Range;

impl Ctx<'_> {
    /// `#pragma omp for lastprivate(x)`: run `f(i)` for every index of
    /// `range` (split by `schedule`, as [`for_each`](Self::for_each)); each
    /// call returns its iteration's private value, and after the loop's
    /// barrier every thread gets the value of the sequentially last
    /// iteration (`range.end - 1`), whichever thread ran it. `None` for an
    /// empty range (OpenMP leaves the variable unchanged then).
    ///
    /// ```
    /// use phalanx::{Schedule, Team};
    /// let team = Team::builder().num_threads(2).build()?;
    /// team.parallel(|ctx| {
    ///     let x = ctx.for_each_lastprivate(0..100, Schedule::Dynamic(7), |i| i * i);
    ///     assert_eq!(x, Some(99 * 99));
    /// });
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    ///
    /// One `reduce` underneath (the last iteration's value travels as an
    /// `Option<T>`, hence `T: Clone + Send + 'static`).
    #[track_caller]
    pub fn for_each_lastprivate<T, F>(&self, range: Range<usize>, schedule: Schedule, mut f: F) -> Option<T>
    where
        T: Clone + Send + 'static,
        F: FnMut(usize) -> T,
    {
        let last = range.end.checked_sub(1).filter(|&l| l >= range.start);
        self.reduce(
            range,
            schedule,
            None,
            |acc, i| {
                let v = f(i);
                if Some(i) == last {
                    Some(v)
                } else {
                    acc
                }
            },
            // Exactly one thread's accumulator is `Some`.
            |a: Option<T>, b| b.or(a),
        )
    }
}
