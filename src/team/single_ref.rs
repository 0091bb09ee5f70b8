//! [`Ctx::single_ref`]: `single copyprivate` for values that borrow (not
//! `'static`), such as a `&'env T` one thread picks for all.
//!
//! The value stays on the winner's stack. The winner puts a descriptor into
//! thread 0's hand-over cell (the same cell and tag as `single`, README
//! "Handing values over"): the value's address and, for a check, its type
//! name, size and alignment and the call site. After the construct's barrier
//! each other thread clones the value *under the cell's lock*
//! (`Handoff::read_with`), which counts its read. The winner returns (and so
//! may drop the value) only after every read was counted, or, if the region
//! fails, after withdrawing the descriptor under the same lock
//! (`Handoff::revoke`): a read in progress finishes first, and none starts
//! after. So no thread reads the value after it is dropped, whatever fails.

use super::ctx::Ctx;
use std::panic::Location;

/// What the winner publishes: where the value is and what it is.
#[derive(Clone, Copy)]
struct Desc {
    addr: usize,
    ty: &'static str,
    size: usize,
    align: usize,
    at: &'static Location<'static>,
}

impl Desc {
    fn of<R>(v: &R, at: &'static Location<'static>) -> Desc {
        Desc {
            addr: v as *const R as usize,
            ty: std::any::type_name::<R>(),
            size: std::mem::size_of::<R>(),
            align: std::mem::align_of::<R>(),
            at,
        }
    }

    /// Same type (by name, size and alignment: lifetimes do not change a
    /// layout) and same call site.
    fn matches(&self, other: &Desc) -> bool {
        (self.ty, self.size, self.align, self.at) == (other.ty, other.size, other.align, other.at)
    }
}

/// Withdraws the descriptor when the winner leaves, also by unwinding.
struct Revoke<'c, 'a> {
    ctx: &'c Ctx<'a>,
    p: usize,
    tag: u64,
}

impl Drop for Revoke<'_, '_> {
    fn drop(&mut self) {
        self.ctx.handoff(0, self.p).revoke(self.tag);
    }
}

impl<'a> Ctx<'a> {
    /// Run `f` on one thread, the first to get here, and give every thread a
    /// clone of its result, like [`single`](Self::single), for values that
    /// are not `'static`: a reference into the region's data, a struct that
    /// borrows. Ends with the construct's barrier; the winner then waits
    /// until every other thread has cloned the value.
    ///
    /// ```
    /// use phalanx::Team;
    /// let rows = vec![vec![3, 1], vec![4, 1, 5], vec![9]];
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| {
    ///     // One thread picks the longest row; every thread gets the `&Vec`.
    ///     let longest: &Vec<i32> = ctx.single_ref(|| rows.iter().max_by_key(|r| r.len()).unwrap());
    ///     assert_eq!(longest, &vec![4, 1, 5]);
    /// });
    /// ```
    ///
    /// `R: 'a`: the value may borrow what the region borrows, never a local
    /// of the region closure: the winner's locals are not the others'
    /// (each thread runs its own call of the closure), and may be gone while
    /// another thread still uses the value.
    ///
    /// ```compile_fail
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| {
    ///     let mine = vec![ctx.thread_num()];
    ///     let r: &Vec<usize> = ctx.single_ref(|| &mine); // error: `mine` does not live long enough
    ///     drop(r);
    /// });
    /// ```
    ///
    /// # Panics
    /// When threads reach it with different value types or from different
    /// call sites (the region's threads reached different constructs).
    #[track_caller]
    pub fn single_ref<R: Clone + Send + 'a>(&self, f: impl FnOnce() -> R) -> R {
        let at = Location::caller();
        let n = self.num_threads();
        let c = self.next_construct();
        if n == 1 {
            let v = f();
            self.drain_tasks();
            return v;
        }
        let (p, tag) = self.handoff_key();
        let cell = self.handoff(0, p);
        if self.shared().claim.claim_single(c) {
            let v = f();
            let _revoke = Revoke { ctx: self, p, tag };
            cell.put(tag, n - 1, Desc::of(&v, at));
            self.barrier_at(at);
            // Every reader passed the barrier and reads at once; stop
            // waiting if the region fails (a reader released by a break
            // never reads; `_revoke` then withdraws the descriptor).
            let barrier = &self.shared().barriers[(self.gen & 1) as usize];
            let mut spins = 0u32;
            while !cell.read_out(tag) && barrier.broken_reason().is_none() {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    crate::primitive::thread::yield_now();
                }
            }
            v
        } else {
            self.barrier_at(at);
            cell.read_with(tag, "single_ref", |d: &Desc| {
                let want = Desc {
                    addr: d.addr,
                    ty: std::any::type_name::<R>(),
                    size: std::mem::size_of::<R>(),
                    align: std::mem::align_of::<R>(),
                    at,
                };
                if !d.matches(&want) {
                    panic!(
                        "phalanx: single_ref at {at}: another thread's single_ref at {} hands over a {} here a {} is \
                         expected; the threads of the region reached different constructs",
                        d.at, d.ty, want.ty
                    );
                }
                // SAFETY: `d.addr` is the address of the winner's `R` (same
                // type: checked above by name, size, alignment and call
                // site), alive until the winner counts our read or revokes
                // the descriptor, both of which wait for the cell's lock,
                // held by us while we clone. `R: Send` lets the clone move
                // to this thread; `&R` is only used under the lock, one
                // reader at a time, so `R` need not be `Sync`.
                unsafe { (*(d.addr as *const R)).clone() }
            })
        }
    }
}
