//! [`AtomicF64`]: `#pragma omp atomic` on a `double`.

use crate::primitive::{AtomicU64, Ordering};
use std::fmt;

/// An `f64` updated atomically: `#pragma omp atomic` / `omp atomic update`
/// on a `double` (`x += v`, `x = max(x, v)`, ...). The value is stored as its
/// bits in an `AtomicU64`; the arithmetic updates are compare-and-swap loops
/// (x86 and Arm have no floating-point atomic add), so under heavy
/// contention a reduction (`ctx.reduce`) is much cheaper.
///
/// ```
/// use phalanx::{AtomicF64, Schedule, Team};
/// use std::sync::atomic::Ordering;
/// let team = Team::builder().num_threads(2).build().unwrap();
/// let sum = AtomicF64::new(0.0);
/// team.parallel_for(0..1000, Schedule::Dynamic(10), |i| {
///     sum.fetch_add(0.5 * i as f64, Ordering::Relaxed); // #pragma omp atomic
/// });
/// assert_eq!(sum.into_inner(), 249_750.0);
/// ```
pub struct AtomicF64(AtomicU64);

impl fmt::Debug for AtomicF64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        fmt::Debug::fmt(&self.load(Ordering::Relaxed), f)
    }
}

impl Default for AtomicF64 {
    fn default() -> Self {
        AtomicF64::new(0.0)
    }
}

impl AtomicF64 {
    /// A new atomic holding `v`.
    pub fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }

    /// The value (`omp atomic read`). `order` as for `AtomicU64::load`.
    pub fn load(&self, order: Ordering) -> f64 {
        // The caller's ordering, as `AtomicU64::load` documents it.
        f64::from_bits(self.0.load(order))
    }

    /// Store `v` (`omp atomic write`).
    pub fn store(&self, v: f64, order: Ordering) {
        // The caller's ordering.
        self.0.store(v.to_bits(), order)
    }

    /// Store `v`, returning the previous value.
    pub fn swap(&self, v: f64, order: Ordering) -> f64 {
        // The caller's ordering.
        f64::from_bits(self.0.swap(v.to_bits(), order))
    }

    /// Store `new` if the value is bit-for-bit `current` (so `0.0` and
    /// `-0.0` differ, and a NaN matches itself). `Ok(previous)` on success.
    pub fn compare_exchange(&self, current: f64, new: f64, success: Ordering, failure: Ordering) -> Result<f64, f64> {
        // The caller's orderings.
        self.0
            .compare_exchange(current.to_bits(), new.to_bits(), success, failure)
            .map(f64::from_bits)
            .map_err(f64::from_bits)
    }

    /// Replace the value `x` by `f(x)` until no other thread changed it in
    /// between; returns the previous value, or `Err(x)` if `f` returned
    /// `None`. `set_order` orders the successful update, `fetch_order` the
    /// loads.
    pub fn fetch_update(
        &self,
        set_order: Ordering,
        fetch_order: Ordering,
        mut f: impl FnMut(f64) -> Option<f64>,
    ) -> Result<f64, f64> {
        // The caller's orderings; the CAS loop is `AtomicU64::fetch_update`.
        self.0
            .fetch_update(set_order, fetch_order, |b| f(f64::from_bits(b)).map(f64::to_bits))
            .map(f64::from_bits)
            .map_err(f64::from_bits)
    }

    /// `x += v` atomically (`#pragma omp atomic`); returns the previous value.
    /// `order` orders the successful update; the loads that feed the CAS
    /// loop are `Relaxed` (a failed attempt publishes and reads nothing).
    pub fn fetch_add(&self, v: f64, order: Ordering) -> f64 {
        self.update(order, |x| x + v)
    }

    /// `x -= v` atomically; returns the previous value.
    pub fn fetch_sub(&self, v: f64, order: Ordering) -> f64 {
        self.update(order, |x| x - v)
    }

    /// `x = max(x, v)` atomically (`f64::max`: a NaN operand is ignored);
    /// returns the previous value.
    pub fn fetch_max(&self, v: f64, order: Ordering) -> f64 {
        self.update(order, |x| x.max(v))
    }

    /// `x = min(x, v)` atomically (`f64::min`); returns the previous value.
    pub fn fetch_min(&self, v: f64, order: Ordering) -> f64 {
        self.update(order, |x| x.min(v))
    }

    fn update(&self, order: Ordering, f: impl Fn(f64) -> f64) -> f64 {
        // `order` for the successful CAS (the caller's choice); Relaxed for
        // the loads: only the CAS's success publishes, as in `fetch_add`.
        match self.fetch_update(order, Ordering::Relaxed, |x| Some(f(x))) {
            Ok(prev) | Err(prev) => prev,
        }
    }

    /// The value, consuming the atomic.
    pub fn into_inner(self) -> f64 {
        // Relaxed: `self` is owned, no other thread can touch it.
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}
