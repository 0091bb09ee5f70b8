//! [`DisjointSlice`]: the OpenMP loop `y[i] = f(x, i)` without `unsafe`. A
//! `&mut [T]` is wrapped once, outside the region; inside, every thread gets
//! only `&DisjointSlice`, and the worksharing loops on [`Ctx`] hand each index
//! (or chunk, or row) to exactly one thread as `&mut`. The argument that this
//! is sound is "Disjoint output" in `src/worksharing/README.md`.

use super::Schedule;
use crate::primitive::Mutex;
use crate::team::{Ctx, Team};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::Location;

/// A `&mut [T]` shared by a team so that worksharing loops can hand out its
/// elements, each to exactly one thread: the safe form of OpenMP's
///
/// ```c
/// #pragma omp for
/// for (int i = 0; i < n; i++) y[i] = f(x, i);
/// ```
///
/// Make it outside the region from a `&mut [T]` (the borrow lasts as long as
/// the `DisjointSlice`), capture `&` of it in the region, and write through
/// [`Ctx::for_each_mut`] (one element), [`Ctx::for_chunks_mut`] (the chunks
/// the schedule makes) or [`Ctx::for_rows_mut`] (rows of a flat 2-D array).
/// Every index runs exactly once under every [`Schedule`], and each loop
/// ends with a barrier. [`read`](Self::read) gives every thread `&[T]` of the
/// whole slice while no loop writes it.
///
/// ```
/// use phalanx::{DisjointSlice, Schedule, Team};
/// let team = Team::builder().num_threads(2).build()?;
/// let x: Vec<f64> = (0..100).map(|i| i as f64).collect();
/// let mut y = vec![0.0; 100];
/// let out = DisjointSlice::new(&mut y);
/// team.parallel(|ctx| {
///     ctx.for_each_mut(&out, Schedule::Dynamic(8), |i, yi| *yi = 2.0 * x[i]);
/// });
/// assert!(y.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f64));
/// # Ok::<(), phalanx::BuildError>(())
/// ```
///
/// Misuse is caught at run time and panics instead of aliasing: two
/// different constructs (or two teams, or a nested region, or a `read`) using
/// one `DisjointSlice` at the same time, or the threads of one construct
/// passing different schedules or row lengths. Only `&mut` access, or none,
/// ever reaches an element from two threads in sequence, never at once.
///
/// Inside the region the slice itself cannot be borrowed: a region closure is
/// `Fn` and shared by every thread, so it only has `&` access to what it
/// captures:
///
/// ```compile_fail
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// let mut y = vec![0u32; 8];
/// team.parallel(|ctx| y[ctx.thread_num()] = 1); // error: cannot borrow `y` as mutable
/// ```
///
/// The slice stays borrowed while the `DisjointSlice` lives:
///
/// ```compile_fail
/// let mut y = vec![0u32; 8];
/// let out = phalanx::DisjointSlice::new(&mut y);
/// y[0] = 1; // error: cannot borrow `y` as mutable more than once at a time
/// drop(out);
/// ```
///
/// and elements that cannot move between threads cannot be handed out:
///
/// ```compile_fail
/// use std::rc::Rc;
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// let mut y: Vec<Rc<u32>> = (0..8).map(Rc::new).collect();
/// let out = phalanx::DisjointSlice::new(&mut y);
/// team.parallel(|ctx| ctx.for_each_mut(&out, phalanx::Schedule::Static, |_, _| {})); // error: `Rc<u32>` cannot be sent
/// ```
pub struct DisjointSlice<'a, T> {
    ptr: *mut T,
    len: usize,
    /// Who uses the slice now (see [`Lease`]).
    lease: Mutex<Lease>,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `DisjointSlice` is a `&'a mut [T]` (it was made from one, which
// stays borrowed for `'a`) that several threads use at once. `&mut T` to an
// element reaches a thread only through `Ctx::run_disjoint`, which hands each
// index of one construct to exactly one thread and refuses (the `Lease`) any
// second construct, region or reader while threads are inside; so elements
// move between threads as `&mut T`, which needs `T: Send`. `&[T]` of the whole
// slice reaches threads only through `read`, which requires `T: Sync` and
// excludes writers (the `Lease` again).
unsafe impl<T: Send> Sync for DisjointSlice<'_, T> {}
// SAFETY: moving it to another thread moves the `&'a mut [T]` it stands for,
// which is `Send` when `T: Send`.
unsafe impl<T: Send> Send for DisjointSlice<'_, T> {}

impl<T> fmt::Debug for DisjointSlice<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("DisjointSlice").field("len", &self.len).field("lease", &*lease).finish()
    }
}

/// What identifies one worksharing construct instance over a slice: every
/// thread inside it must agree on all of it, or the schedule's "each index
/// once" no longer holds across them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    /// The team's `Shared` (address; alive while any thread is inside).
    team: usize,
    /// Region generation and construct number within it.
    gen: u32,
    construct: u32,
    /// Resolved schedule (`Runtime` and `Auto` replaced).
    schedule: Schedule,
    /// Elements per index: 1, or the row length of `for_rows_mut`.
    unit: usize,
}

/// Who holds the slice. Changed under the mutex; each thread takes it once
/// when entering a construct (or `read`) and once when leaving.
///
/// | state | holders | may enter |
/// |---|---|---|
/// | `Free` | 0 | anyone |
/// | `Write(key)` | threads inside construct `key` | threads of the same `key` only |
/// | `Read` | threads inside `read` | readers only |
#[derive(Debug, Default)]
enum Lease {
    #[default]
    Free,
    Write {
        key: Key,
        holders: usize,
    },
    Read {
        holders: usize,
    },
}

/// Releases one hold on drop, also when the loop body panics.
struct Hold<'s, 'a, T> {
    slice: &'s DisjointSlice<'a, T>,
}

impl<T> Drop for Hold<'_, '_, T> {
    fn drop(&mut self) {
        let mut lease = self.slice.lease.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *lease {
            Lease::Write { holders, .. } | Lease::Read { holders } => {
                *holders -= 1;
                if *holders == 0 {
                    *lease = Lease::Free;
                }
            }
            Lease::Free => unreachable!("a Hold exists, so the lease is held"),
        }
    }
}

impl<'a, T> DisjointSlice<'a, T> {
    /// Wrap `slice` for the worksharing loops; it stays borrowed until the
    /// `DisjointSlice` is dropped.
    pub fn new(slice: &'a mut [T]) -> Self {
        DisjointSlice {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            lease: Mutex::new(Lease::Free),
            _borrow: PhantomData,
        }
    }

    /// Elements in the slice.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slice, with exclusive access (between regions).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: `&mut self` excludes every other use of this wrapper, and
        // the wrapper holds the only borrow of the slice for `'a`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// The slice back, for the rest of `'a`.
    pub fn into_mut_slice(self) -> &'a mut [T] {
        // SAFETY: consuming the wrapper ends every other use of it; the
        // borrow it was made from lasts `'a`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Run `f` with shared access to the whole slice, from any thread (the
    /// input side of a stencil whose grids swap roles each step).
    ///
    /// # Panics
    /// If a worksharing loop writes the slice at the same time (name both in
    /// the message); take the read inside the loop's region step, before the
    /// barrier that ends it, not around a loop on the same slice.
    #[track_caller]
    pub fn read<R>(&self, f: impl FnOnce(&[T]) -> R) -> R
    where
        T: Sync,
    {
        let _hold = self.enter_read(Location::caller());
        // SAFETY: the `Read` lease excludes every writer until `_hold` drops,
        // after `f` returns; `T: Sync` lets the readers share `&[T]`.
        f(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }

    #[track_caller]
    fn enter_read(&self, at: &'static Location<'static>) -> Hold<'_, 'a, T> {
        let mut lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *lease {
            Lease::Free => *lease = Lease::Read { holders: 1 },
            Lease::Read { holders } => *holders += 1,
            Lease::Write { key, .. } => {
                let key = *key;
                drop(lease);
                panic!(
                    "phalanx: DisjointSlice::read at {at} while worksharing construct {} of region {} writes \
                     the slice ({}); read it before or after that loop, not during",
                    key.construct, key.gen, key.schedule
                );
            }
        }
        Hold { slice: self }
    }

    #[track_caller]
    fn enter_write(&self, key: Key, at: &'static Location<'static>) -> Hold<'_, 'a, T> {
        let mut lease = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *lease {
            Lease::Free => *lease = Lease::Write { key, holders: 1 },
            Lease::Write { key: k, holders } if *k == key => *holders += 1,
            other => {
                let held = format!("{other:?}");
                drop(lease);
                panic!(
                    "phalanx: worksharing loop at {at} (construct {} of region {}, schedule {}, unit {}) on a \
                     DisjointSlice already in use: {held}. Every thread of a loop must pass the same schedule \
                     and row length, and a DisjointSlice serves one loop (or readers) at a time",
                    key.construct, key.gen, key.schedule, key.unit
                );
            }
        }
        Hold { slice: self }
    }

    /// Elements `r` (in bounds) as `&mut`.
    ///
    /// # Safety
    /// No other reference to any element of `r` may exist while the result
    /// lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range_mut(&self, r: Range<usize>) -> &mut [T] {
        debug_assert!(r.start <= r.end && r.end <= self.len, "{r:?} out of 0..{}", self.len);
        // SAFETY: `r` is in bounds (callers derive it from the schedule over
        // `0..len`); exclusivity is the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.end - r.start) }
    }
}

impl Ctx<'_> {
    /// The engine of the `*_mut` loops: run `body(first_index, elements)` on
    /// each chunk this thread gets of `0..len / unit` indices under
    /// `schedule`, each index being `unit` consecutive elements.
    #[track_caller]
    fn run_disjoint<T>(
        &self,
        s: &DisjointSlice<'_, T>,
        unit: usize,
        schedule: Schedule,
        mut body: impl FnMut(usize, &mut [T]),
    ) {
        let at = Location::caller();
        let c = self.next_construct();
        let resolved = match schedule.validate() {
            Ok(v) => v.resolve(self.shared().runtime),
            Err(e) => panic!("{e}"),
        };
        let key =
            Key { team: self.shared() as *const _ as usize, gen: self.gen, construct: c, schedule: resolved, unit };
        let _hold = s.enter_write(key, at);
        self.run_chunks(c, s.len / unit, resolved, |r| {
            // SAFETY: every thread inside this construct holds the lease for
            // the same `key` (team, region, construct, schedule, unit), and
            // no other construct, region or reader can hold it meanwhile. So
            // they all split the same `0..len / unit` among the same team with
            // the same schedule, and `run_chunks` gives each index to exactly
            // one call of one thread (static: by thread number; dynamic and
            // guided: by the claim word's CAS for construct `c`). Index
            // ranges are disjoint, hence so are the element ranges
            // `r * unit`. This thread drops the `&mut` before the next chunk.
            let elems = unsafe { s.range_mut(r.start * unit..r.end * unit) };
            body(r.start, elems);
        });
    }

    /// `#pragma omp for` writing `y[i]`: run `f(i, &mut y[i])` for every index
    /// of the slice, each exactly once across the team, split by `schedule`;
    /// then a barrier. See [`DisjointSlice`].
    ///
    /// # Panics
    /// On a chunk of 0, and on misuse of the slice (see [`DisjointSlice`]).
    #[track_caller]
    pub fn for_each_mut<T, F: FnMut(usize, &mut T)>(&self, s: &DisjointSlice<'_, T>, schedule: Schedule, f: F) {
        let at = Location::caller();
        self.for_each_mut_nowait(s, schedule, f);
        self.barrier_at(at);
    }

    /// As [`for_each_mut`](Self::for_each_mut), without the barrier
    /// (`omp for nowait`). A second loop on the same slice must come after a
    /// barrier: a thread entering it while another is still in this one
    /// panics (the lease), instead of racing.
    #[track_caller]
    pub fn for_each_mut_nowait<T, F: FnMut(usize, &mut T)>(
        &self,
        s: &DisjointSlice<'_, T>,
        schedule: Schedule,
        mut f: F,
    ) {
        self.run_disjoint(s, 1, schedule, |first, elems| {
            for (k, x) in elems.iter_mut().enumerate() {
                f(first + k, x);
            }
        });
    }

    /// The chunk form: run `f(first, &mut y[first..first + len])` for each
    /// chunk the schedule gives this thread (`Static`: one block per thread;
    /// `Dynamic(k)`: chunks of `k`), every index in exactly one chunk; then a
    /// barrier.
    ///
    /// ```
    /// use phalanx::{DisjointSlice, Schedule, Team};
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// let mut y = vec![0usize; 10];
    /// let out = DisjointSlice::new(&mut y);
    /// team.parallel(|ctx| ctx.for_chunks_mut(&out, Schedule::StaticChunk(3), |first, chunk| {
    ///     for (k, v) in chunk.iter_mut().enumerate() { *v = first + k }
    /// }));
    /// assert_eq!(y, (0..10).collect::<Vec<_>>());
    /// ```
    #[track_caller]
    pub fn for_chunks_mut<T, F: FnMut(usize, &mut [T])>(&self, s: &DisjointSlice<'_, T>, schedule: Schedule, f: F) {
        let at = Location::caller();
        self.run_disjoint(s, 1, schedule, f);
        self.barrier_at(at);
    }

    /// Rows of a flat row-major 2-D array: run `f(i, row_i)`, `row_i` being
    /// `&mut y[i * row_len..(i + 1) * row_len]`, for every row `i`, split by
    /// `schedule` over rows; then a barrier. The OpenMP `for (i...) for (j...) y[i][j] = ...` with
    /// the outer loop shared.
    ///
    /// # Panics
    /// If `row_len` is 0 or does not divide the slice's length (naming both),
    /// and as [`for_each_mut`](Self::for_each_mut).
    #[track_caller]
    pub fn for_rows_mut<T, F: FnMut(usize, &mut [T])>(
        &self,
        s: &DisjointSlice<'_, T>,
        row_len: usize,
        schedule: Schedule,
        f: F,
    ) {
        let at = Location::caller();
        self.for_rows_mut_nowait(s, row_len, schedule, f);
        self.barrier_at(at);
    }

    /// As [`for_rows_mut`](Self::for_rows_mut), without the barrier.
    #[track_caller]
    pub fn for_rows_mut_nowait<T, F: FnMut(usize, &mut [T])>(
        &self,
        s: &DisjointSlice<'_, T>,
        row_len: usize,
        schedule: Schedule,
        mut f: F,
    ) {
        assert!(
            row_len > 0 && s.len % row_len == 0,
            "invalid row_len = {row_len}: it must be at least 1 and divide the DisjointSlice's length {}",
            s.len
        );
        self.run_disjoint(s, row_len, schedule, |first, rows| {
            for (k, row) in rows.chunks_exact_mut(row_len).enumerate() {
                f(first + k, row);
            }
        });
    }
}

impl Team {
    /// `#pragma omp parallel for` writing `y[i]`: run `f(i, &mut data[i])`
    /// for every index, each exactly once, split by `schedule`.
    ///
    /// ```
    /// use phalanx::{Schedule, Team};
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// let mut squares = vec![0u64; 1000];
    /// team.parallel_for_mut(&mut squares, Schedule::Guided(16), |i, v| *v = (i * i) as u64);
    /// assert_eq!(squares[999], 998_001);
    /// ```
    #[track_caller]
    pub fn parallel_for_mut<T: Send, F: Fn(usize, &mut T) + Sync>(&self, data: &mut [T], schedule: Schedule, f: F) {
        let s = DisjointSlice::new(data);
        self.parallel(|ctx| ctx.for_each_mut_nowait(&s, schedule, &f));
    }
}
