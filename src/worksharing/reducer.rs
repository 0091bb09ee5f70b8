//! [`Reducer`]: named reduction operators (`reduction(+:a) reduction(max:b)`)
//! with their identities, so a multi-variable reduction needs no
//! hand-written identity tuple or combine closure; and element-wise array
//! reductions (`reduction(+:a[0:n])`).

use super::Schedule;
use crate::team::{Ctx, Team};
use std::fmt;
use std::ops::Range;
use std::panic::Location;

/// A reduction operator over `T`: its identity and how two partial results
/// combine. Implemented by [`Sum`], [`Product`], [`Max`], [`Min`] for the
/// primitive numbers, and by tuples of reducers for tuples of values, so
/// `reduction(+:s) reduction(max:m)` is `(Sum, Max)`:
///
/// ```
/// use phalanx::worksharing::{Max, Min, Sum};
/// use phalanx::{Schedule, Team};
/// let xs = [3.0, -1.0, 7.5, 2.0];
/// let team = Team::builder().num_threads(2).build().unwrap();
/// let (s, hi, lo) = team.parallel_reduce_by(0..xs.len(), Schedule::Static, (Sum, Max, Min),
///     |(s, hi, lo): (f64, f64, f64), i| (s + xs[i], hi.max(xs[i]), lo.min(xs[i])));
/// assert_eq!((s, hi, lo), (11.5, 7.5, -1.0));
/// ```
///
/// Implement it for an operator of your own (OpenMP's `declare reduction`).
pub trait Reducer<T> {
    /// The value every thread's accumulator starts from (`0` for `+`).
    fn identity(&self) -> T;
    /// Combine two partial results, `a` from lower-numbered threads.
    fn combine(&self, a: T, b: T) -> T;
}

/// `reduction(+:x)`: identity 0, combine by `+` (wrapping for integers, as
/// C's unsigned arithmetic; overflow is the caller's to avoid).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum;
/// `reduction(*:x)`: identity 1, combine by `*`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Product;
/// `reduction(max:x)`: identity the type's least value (`-inf` for floats),
/// combine by the larger (for floats `f64::max`, which ignores a NaN).
#[derive(Clone, Copy, Debug, Default)]
pub struct Max;
/// `reduction(min:x)`: identity the type's greatest value (`+inf` for
/// floats), combine by the smaller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Min;

macro_rules! int_reducers {
    ($($t:ty),*) => {$(
        impl Reducer<$t> for Sum {
            fn identity(&self) -> $t { 0 }
            fn combine(&self, a: $t, b: $t) -> $t { a.wrapping_add(b) }
        }
        impl Reducer<$t> for Product {
            fn identity(&self) -> $t { 1 }
            fn combine(&self, a: $t, b: $t) -> $t { a.wrapping_mul(b) }
        }
        impl Reducer<$t> for Max {
            fn identity(&self) -> $t { <$t>::MIN }
            fn combine(&self, a: $t, b: $t) -> $t { a.max(b) }
        }
        impl Reducer<$t> for Min {
            fn identity(&self) -> $t { <$t>::MAX }
            fn combine(&self, a: $t, b: $t) -> $t { a.min(b) }
        }
    )*};
}
int_reducers!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! float_reducers {
    ($($t:ty),*) => {$(
        impl Reducer<$t> for Sum {
            fn identity(&self) -> $t { 0.0 }
            fn combine(&self, a: $t, b: $t) -> $t { a + b }
        }
        impl Reducer<$t> for Product {
            fn identity(&self) -> $t { 1.0 }
            fn combine(&self, a: $t, b: $t) -> $t { a * b }
        }
        impl Reducer<$t> for Max {
            fn identity(&self) -> $t { <$t>::NEG_INFINITY }
            fn combine(&self, a: $t, b: $t) -> $t { a.max(b) }
        }
        impl Reducer<$t> for Min {
            fn identity(&self) -> $t { <$t>::INFINITY }
            fn combine(&self, a: $t, b: $t) -> $t { a.min(b) }
        }
    )*};
}
float_reducers!(f32, f64);

macro_rules! tuple_reducers {
    ($(($($r:ident $v:ident $i:tt),+))*) => {$(
        impl<$($v, $r: Reducer<$v>),+> Reducer<($($v,)+)> for ($($r,)+) {
            fn identity(&self) -> ($($v,)+) { ($(self.$i.identity(),)+) }
            fn combine(&self, a: ($($v,)+), b: ($($v,)+)) -> ($($v,)+) { ($(self.$i.combine(a.$i, b.$i),)+) }
        }
    )*};
}
tuple_reducers! {
    (RA A 0)
    (RA A 0, RB B 1)
    (RA A 0, RB B 1, RC C 2)
    (RA A 0, RB B 1, RC C 2, RD D 3)
    (RA A 0, RB B 1, RC C 2, RD D 3, RE E 4)
    (RA A 0, RB B 1, RC C 2, RD D 3, RE E 4, RF F 5)
}

/// An element-wise reduction operator of [`Ctx::reduce_elementwise`]: `op`
/// on every element of two equal-length arrays.
struct Elementwise<'r, R>(&'r R);

impl<R> fmt::Debug for Elementwise<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elementwise")
    }
}

impl<R> Elementwise<'_, R> {
    fn combine<T>(&self, mut a: Vec<T>, b: Vec<T>) -> Vec<T>
    where
        R: Reducer<T>,
    {
        for (x, y) in a.iter_mut().zip(b) {
            // Take the element out by swapping in an identity: no `T: Clone`
            // needed, and `combine` takes its operands by value.
            let old = std::mem::replace(x, self.0.identity());
            *x = self.0.combine(old, y);
        }
        a
    }
}

impl Ctx<'_> {
    /// [`reduce`](Self::reduce) with a named operator: the identity and the
    /// combine come from `op` (`Sum`, `Max`, `(Sum, Min)`, ...; see
    /// [`Reducer`]). `reduction(+:a,b) reduction(max:c)` is
    /// `ctx.reduce_by(range, schedule, (Sum, Sum, Max), |(a, b, c), i| ...)`.
    ///
    /// # Panics
    /// As [`reduce`](Self::reduce).
    #[track_caller]
    pub fn reduce_by<T, R, Fo>(&self, range: Range<usize>, schedule: Schedule, op: R, fold: Fo) -> T
    where
        T: Clone + Send + 'static,
        R: Reducer<T>,
        Fo: FnMut(T, usize) -> T,
    {
        let at = Location::caller();
        let acc = self.fold_part(range, schedule, op.identity(), fold);
        self.combine_parts(acc, |a, b| op.combine(a, b), at)
    }

    /// An array reduction (`reduction(op:a[0:len])`): every thread folds its
    /// indices of `range` into its own `len`-element array, started with
    /// `op`'s identity everywhere, by `fold(&mut array, i)`; the arrays are
    /// then combined element by element with `op`, in thread order, once
    /// (on the thread that arrives last), and every thread gets the result.
    /// Ends with a barrier.
    ///
    /// ```
    /// use phalanx::worksharing::Sum;
    /// use phalanx::{Schedule, Team};
    /// let data = [0usize, 2, 1, 2, 2, 0];
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| {
    ///     let histogram = ctx.reduce_elementwise(0..data.len(), Schedule::Dynamic(1), 3, Sum,
    ///         |h: &mut [u32], i| h[data[i]] += 1);
    ///     assert_eq!(histogram, vec![2, 1, 3]);
    /// });
    /// ```
    ///
    /// # Panics
    /// As [`reduce`](Self::reduce).
    #[track_caller]
    pub fn reduce_elementwise<T, R, Fo>(
        &self,
        range: Range<usize>,
        schedule: Schedule,
        len: usize,
        op: R,
        mut fold: Fo,
    ) -> Vec<T>
    where
        T: Clone + Send + 'static,
        R: Reducer<T>,
        Fo: FnMut(&mut [T], usize),
    {
        let at = Location::caller();
        let start: Vec<T> = (0..len).map(|_| op.identity()).collect();
        let acc = self.fold_part(range, schedule, start, |mut a, i| {
            fold(&mut a, i);
            a
        });
        let e = Elementwise(&op);
        self.combine_parts(acc, |a, b| e.combine(a, b), at)
    }
}

impl Team {
    /// `#pragma omp parallel for reduction(...)` with a named operator:
    /// [`parallel_reduce`](Self::parallel_reduce) with the identity and
    /// combine of `op` ([`Reducer`]).
    pub fn parallel_reduce_by<T, R, Fo>(&self, range: Range<usize>, schedule: Schedule, op: R, fold: Fo) -> T
    where
        T: Clone + Send + Sync + 'static,
        R: Reducer<T> + Sync,
        Fo: Fn(T, usize) -> T + Sync,
    {
        self.parallel_reduce(range, schedule, op.identity(), fold, |a, b| op.combine(a, b))
    }

    /// `#pragma omp parallel for reduction(op:a[0:len])`: as
    /// [`Ctx::reduce_elementwise`], in a region of its own.
    pub fn parallel_reduce_elementwise<T, R, Fo>(
        &self,
        range: Range<usize>,
        schedule: Schedule,
        len: usize,
        op: R,
        fold: Fo,
    ) -> Vec<T>
    where
        T: Clone + Send + Sync + 'static,
        R: Reducer<T> + Sync,
        Fo: Fn(&mut [T], usize) + Sync,
    {
        let e = Elementwise(&op);
        let start: Vec<T> = (0..len).map(|_| op.identity()).collect();
        self.parallel_reduce(
            range,
            schedule,
            start,
            |mut a, i| {
                fold(&mut a, i);
                a
            },
            |a, b| e.combine(a, b),
        )
    }
}
