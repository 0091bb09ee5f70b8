//! Loop shapes: signed, inclusive and strided ranges ([`Strided`]) and
//! collapsed 2-D / 3-D iteration spaces, behind one trait, [`LoopSpace`].
//!
//! Every shape is numbered `0..len` in the order a sequential loop visits it
//! (row-major for tuples, as OpenMP's `collapse`), and that linear index is
//! what the schedule splits: a `collapse(2)` loop under `static,4` deals
//! chunks of four `(i, j)` pairs, exactly as OpenMP does.

use crate::config::ConfigError;
use crate::team::Ctx;
use crate::worksharing::Schedule;
use std::ops::{Range, RangeInclusive};
use std::panic::Location;

/// An iteration space a worksharing loop can split: `len` points, numbered
/// in sequential order, point `k` being `at(k)`.
pub trait LoopSpace {
    /// What the loop body gets for one point (an index, or a tuple of them).
    type Item;
    /// Number of points; `None` if it does not fit in `usize`.
    fn len(&self) -> Option<usize>;
    /// Whether the space has no point.
    fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
    /// Point `k`, `k < len()`.
    fn at(&self, k: usize) -> Self::Item;
}

macro_rules! int_spaces {
    ($($t:ty),*) => {$(
        impl LoopSpace for Range<$t> {
            type Item = $t;
            fn len(&self) -> Option<usize> {
                // i128 holds every difference of two 64-bit values.
                usize::try_from((self.end as i128 - self.start as i128).max(0)).ok()
            }
            fn at(&self, k: usize) -> $t {
                (self.start as i128 + k as i128) as $t
            }
        }
        impl LoopSpace for RangeInclusive<$t> {
            type Item = $t;
            fn len(&self) -> Option<usize> {
                // An exhausted `RangeInclusive` (after iteration) is empty.
                if self.is_empty() {
                    return Some(0);
                }
                usize::try_from(*self.end() as i128 - *self.start() as i128 + 1).ok()
            }
            fn at(&self, k: usize) -> $t {
                (*self.start() as i128 + k as i128) as $t
            }
        }
    )*};
}

int_spaces!(usize, isize, u64, i64, u32, i32);

/// `for (i = start; i < end; i += step)` with a positive `step`, or
/// `for (i = start; i > end; i += step)` with a negative one (and the
/// inclusive forms with `<=`, `>=`): OpenMP's canonical loop over `i64`.
///
/// ```
/// use phalanx::worksharing::{LoopSpace, Strided};
/// let s = Strided::new(10, -1, -3)?;             // 10, 7, 4, 1
/// assert_eq!((0..s.len().unwrap()).map(|k| s.at(k)).collect::<Vec<_>>(), [10, 7, 4, 1]);
/// let s = Strided::inclusive(0, 9, 3)?;          // 0, 3, 6, 9
/// assert_eq!(s.len(), Some(4));
/// assert!(Strided::new(0, 9, 0).unwrap_err().to_string().contains("step"));
/// # Ok::<(), phalanx::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strided {
    start: i64,
    step: i64,
    count: usize,
}

impl Strided {
    /// From `start` towards `end` (excluded) by `step`. Errors name `step`
    /// when it is 0.
    pub fn new(start: i64, end: i64, step: i64) -> Result<Strided, ConfigError> {
        Strided::build(start, end, step, false)
    }

    /// From `start` to `end` (included, if the steps land on it) by `step`.
    pub fn inclusive(start: i64, end: i64, step: i64) -> Result<Strided, ConfigError> {
        Strided::build(start, end, step, true)
    }

    fn build(start: i64, end: i64, step: i64, inclusive: bool) -> Result<Strided, ConfigError> {
        if step == 0 {
            return Err(ConfigError::setting("step", 0, "a loop step must not be 0"));
        }
        // Distance covered in the step's direction, as i128 (no overflow).
        let (span, s) = if step > 0 {
            (end as i128 - start as i128, step as i128)
        } else {
            (start as i128 - end as i128, -(step as i128))
        };
        let count = match (span, inclusive) {
            (d, false) if d > 0 => (d - 1) / s + 1,
            (d, true) if d >= 0 => d / s + 1,
            _ => 0,
        };
        let count = usize::try_from(count)
            .map_err(|_| ConfigError::setting("loop length", count, "at most usize::MAX iterations"))?;
        Ok(Strided { start, step, count })
    }

    /// The step.
    pub fn step(&self) -> i64 {
        self.step
    }
}

impl LoopSpace for Strided {
    type Item = i64;
    fn len(&self) -> Option<usize> {
        Some(self.count)
    }
    fn at(&self, k: usize) -> i64 {
        // In range by construction: start + k * step lies between start and end.
        (self.start as i128 + k as i128 * self.step as i128) as i64
    }
}

impl<A: LoopSpace, B: LoopSpace> LoopSpace for (A, B) {
    type Item = (A::Item, B::Item);
    fn len(&self) -> Option<usize> {
        self.0.len()?.checked_mul(self.1.len()?)
    }
    fn at(&self, k: usize) -> Self::Item {
        // `len()` was Some when the loop started, so the inner length is too.
        let m = self.1.len().unwrap_or(1).max(1);
        (self.0.at(k / m), self.1.at(k % m))
    }
}

impl<A: LoopSpace, B: LoopSpace, C: LoopSpace> LoopSpace for (A, B, C) {
    type Item = (A::Item, B::Item, C::Item);
    fn len(&self) -> Option<usize> {
        self.0.len()?.checked_mul(self.1.len()?)?.checked_mul(self.2.len()?)
    }
    fn at(&self, k: usize) -> Self::Item {
        let m2 = self.2.len().unwrap_or(1).max(1);
        let m1 = self.1.len().unwrap_or(1).max(1);
        (self.0.at(k / m2 / m1), self.1.at(k / m2 % m1), self.2.at(k % m2))
    }
}

/// The space's length, or a panic naming it.
#[track_caller]
fn space_len<S: LoopSpace>(space: &S) -> usize {
    match space.len() {
        Some(n) => n,
        None => panic!(
            "invalid loop space of type {}: its number of iterations does not fit in usize",
            std::any::type_name::<S>()
        ),
    }
}

impl Ctx<'_> {
    /// A worksharing loop over any [`LoopSpace`]: signed or inclusive
    /// ranges, [`Strided`] loops, and tuples of them (collapsed loops). No
    /// barrier at the end (`for ... nowait`).
    #[track_caller]
    pub fn for_each_in_nowait<S: LoopSpace>(&self, space: S, schedule: Schedule, mut f: impl FnMut(S::Item)) {
        let c = self.next_construct();
        let len = space_len(&space);
        self.run_chunks(c, len, schedule, |r| {
            for k in r {
                f(space.at(k));
            }
        });
    }

    /// As [`for_each_in_nowait`](Self::for_each_in_nowait), then a barrier.
    ///
    /// ```
    /// use phalanx::{Schedule, Team, worksharing::Strided};
    /// use std::sync::atomic::{AtomicI64, Ordering};
    /// let team = Team::builder().num_threads(2).build()?;
    /// let sum = AtomicI64::new(0);
    /// team.parallel(|ctx| {
    ///     // for (i = 100; i >= -100; i -= 7)
    ///     ctx.for_each_in(Strided::inclusive(100, -100, -7).unwrap(), Schedule::Dynamic(3), |i| {
    ///         sum.fetch_add(i, Ordering::Relaxed);
    ///     });
    ///     // for (i = -5; i <= 5; i++)
    ///     ctx.for_each_in(-5i64..=5, Schedule::Static, |i| { sum.fetch_add(i, Ordering::Relaxed); });
    /// });
    /// assert_eq!(sum.into_inner(), (0..29).map(|k| 100 - 7 * k).sum::<i64>());
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    #[track_caller]
    pub fn for_each_in<S: LoopSpace>(&self, space: S, schedule: Schedule, f: impl FnMut(S::Item)) {
        let at = Location::caller();
        self.for_each_in_nowait(space, schedule, f);
        self.barrier_at(at);
    }

    /// `#pragma omp for collapse(2)`: the `n * m` pairs `(i, j)` of two
    /// spaces, split as one loop in row-major order, then a barrier.
    ///
    /// ```
    /// use phalanx::{Schedule, Team};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let team = Team::builder().num_threads(2).build()?;
    /// let grid: Vec<AtomicU32> = (0..3 * 4).map(|_| AtomicU32::new(0)).collect();
    /// team.parallel(|ctx| {
    ///     ctx.for_each_2d((0..3usize, 0..4usize), Schedule::StaticChunk(5), |i, j| {
    ///         grid[i * 4 + j].fetch_add(1, Ordering::Relaxed);
    ///     })
    /// });
    /// assert!(grid.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    #[track_caller]
    pub fn for_each_2d<A: LoopSpace, B: LoopSpace>(
        &self,
        space: (A, B),
        schedule: Schedule,
        mut f: impl FnMut(A::Item, B::Item),
    ) {
        self.for_each_in(space, schedule, |(i, j)| f(i, j));
    }

    /// `#pragma omp for collapse(3)`: as [`for_each_2d`](Self::for_each_2d)
    /// over three spaces.
    #[track_caller]
    pub fn for_each_3d<A: LoopSpace, B: LoopSpace, C: LoopSpace>(
        &self,
        space: (A, B, C),
        schedule: Schedule,
        mut f: impl FnMut(A::Item, B::Item, C::Item),
    ) {
        self.for_each_in(space, schedule, |(i, j, k)| f(i, j, k));
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn points<S: LoopSpace>(s: &S) -> Vec<S::Item> {
        (0..s.len().unwrap()).map(|k| s.at(k)).collect()
    }

    #[test]
    fn shapes_match_sequential_loops() {
        for (lo, hi, step) in [(0i64, 10, 3), (10, -1, -3), (5, 5, 1), (5, 4, 1), (-7, 7, 2), (3, 0, -1), (0, 1, 100)] {
            let mut want = Vec::new();
            let mut i = lo;
            while (step > 0 && i < hi) || (step < 0 && i > hi) {
                want.push(i);
                i += step;
            }
            assert_eq!(points(&Strided::new(lo, hi, step).unwrap()), want, "{lo}..{hi} by {step}");
            let mut want = Vec::new();
            let mut i = lo;
            while (step > 0 && i <= hi) || (step < 0 && i >= hi) {
                want.push(i);
                i += step;
            }
            assert_eq!(points(&Strided::inclusive(lo, hi, step).unwrap()), want, "{lo}..={hi} by {step}");
        }
        assert_eq!(Strided::new(i64::MIN, i64::MAX, i64::MAX).unwrap().len(), Some(3));
        assert_eq!(points(&(-3i32..=-1)), [-3, -2, -1]);
        assert_eq!(points(&(i64::MAX - 1..=i64::MAX)), [i64::MAX - 1, i64::MAX]);
        assert_eq!((0usize..=usize::MAX).len(), None);
        assert_eq!(points(&(0..2usize, -1i32..=0)), [(0, -1), (0, 0), (1, -1), (1, 0)]);
        assert_eq!(points(&(0..2u32, 0..0u32)), []);
        assert_eq!(points(&(0..2usize, 0..1usize, 5..7i64)), [(0, 0, 5), (0, 0, 6), (1, 0, 5), (1, 0, 6)]);
        assert_eq!((0..usize::MAX, 0..2usize).len(), None);
        let e = Strided::inclusive(1, 2, 0).unwrap_err();
        assert_eq!((e.name(), e.value()), ("step", "0"));
    }
}
