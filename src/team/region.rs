//! Region fork/join: the words a team shares, the master's side of a region
//! and the finishing step every member takes. The protocol, with state tables
//! and orderings, is in `README.md` beside this file.

use super::ctx::{Ctx, DivergedMarker, Released};
use super::error::RegionError;
use super::handoff::Handoff;
use crate::barrier::{Barrier, BarrierKind, BreakReason};
use crate::primitive::{AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::tasks::TaskPool;
use crate::wait::{self, WaitCell, WaitPolicy, WaitStats};
use crate::worksharing::{ClaimWord, OrderedTurns, Schedule};
use crossbeam_utils::CachePadded;
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::panic::{self, AssertUnwindSafe, Location};
use std::time::Duration;

/// Bit 0 of the fork word: the team is shutting down; workers exit.
pub(crate) const EXIT: u32 = 1;
/// One region in the fork word: the generation lives in bits 1..=31.
pub(crate) const GEN_ONE: u32 = 2;

/// Bit 31 of the low half of a status word: the thread waits at a barrier.
pub(crate) const WAITING: u64 = 1 << 31;
/// Low 31 bits of a status word: barrier number (1 = first of the region).
pub(crate) const BARRIER_MASK: u64 = WAITING - 1;

/// The barrier number of a status word: the thread's barrier count modulo
/// 2^31. Counts wrap; they are only ever compared by difference, and a
/// waiter's barrier is never more than one ahead of a finished member's count
/// (README, "Divergence": barrier numbers), so the modulus cannot alias.
#[inline]
pub(crate) fn barrier_number(k: u32) -> u64 {
    u64::from(k) & BARRIER_MASK
}

/// Pack a status word: generation in the high half, `low` below.
#[inline]
pub(crate) fn status(gen: u32, low: u64) -> u64 {
    (u64::from(gen) << 32) | low
}

thread_local! {
    /// Whether this thread runs inside a region (any team's): a `parallel`
    /// call from it runs with one thread, as OpenMP does by default.
    static IN_REGION: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is inside a region.
pub(crate) fn in_region() -> bool {
    IN_REGION.with(Cell::get)
}

/// Mark the calling thread (a worker) as inside a region for good.
pub(crate) fn mark_in_region() {
    IN_REGION.with(|c| c.set(true));
}

/// What a region runs: a lifetime-erased pointer to the closure, the function
/// that calls it, and the join count at the fork.
#[derive(Clone, Copy)]
pub(crate) struct Job {
    data: *const (),
    call: unsafe fn(*const (), &Ctx<'_>),
    base: u32,
}

impl Job {
    const IDLE: Job = Job { data: std::ptr::null(), call: call_nothing, base: 0 };
}

/// # Safety
/// Never called with a real pointer; `Job::IDLE` is never run.
unsafe fn call_nothing(_: *const (), _: &Ctx<'_>) {}

/// # Safety
/// `data` must point to a live `F` for the whole call, and `'env` must
/// outlive the region (it is `Team::parallel`'s lifetime parameter).
unsafe fn call_erased<'env, F: Fn(&Ctx<'env>) + Sync>(data: *const (), ctx: &Ctx<'_>) {
    // SAFETY: the caller guarantees `data` is a live `F` (see `Shared::run`).
    let f = unsafe { &*data.cast::<F>() };
    // SAFETY: a `Ctx`'s lifetime parameter only bounds what tasks may
    // borrow; `'env` outlives the region, which ends after every task.
    let ctx = unsafe { &*(ctx as *const Ctx<'_>).cast::<Ctx<'env>>() };
    f(ctx)
}

/// The fork word and the job it publishes, on one cache line so a worker's
/// one miss fetches both.
pub(crate) struct ForkLine {
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`EXIT`]) | shut down |
    /// | 1..=31 | region generation: +[`GEN_ONE`] per fork |
    pub(crate) cell: WaitCell,
    /// Written by the master only while every worker is idle, before the
    /// Release store of the next generation; read by workers after acquiring it.
    job: UnsafeCell<Job>,
}

/// What one thread publishes at the end of a region.
#[derive(Default)]
pub(crate) struct Done {
    /// `status(gen, barriers passed)` of the last region this thread finished.
    pub(crate) word: AtomicU64,
    /// This thread's `wait::stats()` then: waits, immediate, spins, yields,
    /// parks, sleeps, timeouts, waited (ns).
    stats: [AtomicU64; 8],
}

/// One thread's slot.
pub(crate) struct Slot {
    /// `status(gen, WAITING | k)` while waiting at barrier `k`, else
    /// `status(gen, k)`. Written by the owner only; read by finishing threads.
    pub(crate) waiting: CachePadded<AtomicU64>,
    /// Written once per region by the owner; read on slow paths only.
    pub(crate) done: CachePadded<Done>,
    /// Hand-over cells by barrier parity: this thread's `reduce` partial;
    /// thread 0's also carry `single`'s value (README, "Handing values over").
    pub(crate) handoff: [Handoff; 2],
}

/// Why a region failed, before it becomes a [`RegionError`].
pub(crate) enum Failure {
    Panicked { thread: usize, payload: Box<dyn Any + Send> },
    Diverged { left: usize, waiting: usize, at: &'static Location<'static> },
}

/// Everything the members of a team share.
pub(crate) struct Shared {
    pub(crate) fork: CachePadded<ForkLine>,
    /// Members that finished a region, cumulative (wrapping). A region that
    /// forked at `base` is over when it reaches `base + n`.
    pub(crate) join: CachePadded<WaitCell>,
    pub(crate) claim: CachePadded<ClaimWord>,
    /// Turn word of ordered loops (`src/worksharing/ordered.rs`).
    pub(crate) ordered: CachePadded<OrderedTurns>,
    /// Cancellation words (`cancel.rs`).
    pub(crate) cancel: CachePadded<super::cancel::CancelState>,
    /// Construct check and reduction arrivals (`worksharing/side.rs`).
    pub(crate) side: crate::worksharing::Side,
    /// The forking thread's enclosing regions (`nesting.rs`).
    pub(crate) outer: super::nesting::Outer,
    pub(crate) n: usize,
    pub(crate) policy: WaitPolicy,
    /// Region `gen` uses `barriers[gen % 2]` (see README: late breaks).
    pub(crate) barriers: [Barrier; 2],
    pub(crate) slots: Box<[Slot]>,
    failure: Mutex<Option<Failure>>,
    failed: AtomicBool,
    /// Dependent tasks not run because a predecessor failed, since the team
    /// was built (`Team::skipped_tasks`).
    pub(crate) skipped: AtomicUsize,
    pub(crate) runtime: Schedule,
    /// Deques, injector and counters of `ctx.task` (`src/tasks/`).
    pub(crate) tasks: TaskPool,
}

// SAFETY: the only non-Sync part is `fork.job` (a raw pointer in an
// UnsafeCell). It is written by the master only while no worker reads it and
// read only after the fork word's Release/Acquire hand-over (README), and the
// pointee is `Sync` (`F: Sync` in `run`).
unsafe impl Sync for Shared {}
// SAFETY: as for `Sync`; the pointer is never dereferenced outside a region.
unsafe impl Send for Shared {}

/// Aborts the process if dropped while unwinding: a panic inside the fork/join
/// machinery (not user code, which runs under `catch_unwind`) would otherwise
/// return from `parallel` while workers still use the closure.
pub(crate) struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("phalanx: panic inside the region machinery; aborting");
            std::process::abort();
        }
    }
}

impl Shared {
    pub(crate) fn new(n: usize, policy: WaitPolicy, kind: BarrierKind, runtime: Schedule) -> Shared {
        let barrier = || Barrier::builder(n).kind(kind).wait_policy(policy).build().expect("n > 0 was checked");
        let slots = (0..n)
            .map(|_| Slot {
                waiting: CachePadded::new(AtomicU64::new(0)),
                done: CachePadded::new(Done::default()),
                handoff: [Handoff::new(), Handoff::new()],
            })
            .collect();
        Shared {
            fork: CachePadded::new(ForkLine { cell: WaitCell::new(0), job: UnsafeCell::new(Job::IDLE) }),
            join: CachePadded::new(WaitCell::new(0)),
            claim: CachePadded::new(ClaimWord::default()),
            ordered: CachePadded::new(OrderedTurns::new()),
            cancel: CachePadded::new(Default::default()),
            side: crate::worksharing::Side::default(),
            outer: super::nesting::Outer::default(),
            n,
            policy,
            barriers: [barrier(), barrier()],
            slots,
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            skipped: AtomicUsize::new(0),
            runtime,
            tasks: TaskPool::new(n),
        }
    }

    /// Run one region on every member: fork, run thread 0 here, join.
    /// Only one thread at a time may call it (the team's region lock).
    pub(crate) fn run<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: &F) -> Result<(), RegionError> {
        let abort = AbortOnUnwind;
        let was_in_region = in_region();
        IN_REGION.with(|c| c.set(true));
        // Relaxed: only this thread (holding the region lock) writes the
        // generation; `Drop` sets EXIT with `&mut`.
        let w = self.fork.cell.word().load(Ordering::Relaxed);
        let next = w.wrapping_add(GEN_ONE);
        let gen = next >> 1;
        let barrier = &self.barriers[(gen & 1) as usize];
        if barrier.broken_reason().is_some() {
            // Broken two regions ago; nobody can touch it now (README).
            barrier.reset_idle();
        }
        self.claim.reset_idle();
        self.ordered.reset_idle();
        self.cancel.reset_idle();
        // Relaxed: every member's increment of the last region was acquired
        // by our join wait; nobody increments it until the fork below.
        let base = self.join.word().load(Ordering::Relaxed);
        let job = Job { data: (f as *const F).cast(), call: call_erased::<F>, base };
        if self.n > 1 {
            // SAFETY: every worker is idle: it read the last job before
            // finishing the last region, which we waited for, and reads the
            // next only after acquiring `next`, stored below.
            unsafe { *self.fork.job.get() = job };
            // Release: publishes the job, the barrier and claim resets to the
            // workers, who load the fork word with Acquire.
            self.fork.cell.word().store(next, Ordering::Release);
            self.fork.cell.wake_all(&self.policy);
        }
        run_member(self, 0, gen, job);
        let n = self.n as u32;
        // The closure pointer stays valid until here: every member increments
        // `join` after its last use of it (README, "closure lifetime").
        let _ = self.join.wait_until(&self.policy, self.n, None, |j| j.wrapping_sub(base) >= n);
        IN_REGION.with(|c| c.set(was_in_region));
        std::mem::forget(abort);
        // Relaxed: set before the failing member's join increment, which our
        // join wait acquired.
        if !self.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        // Relaxed: as above; reset for the next region while workers idle.
        self.failed.store(false, Ordering::Relaxed);
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner()).take();
        Err(match failure {
            Some(Failure::Panicked { thread, payload }) => RegionError::panicked(thread, payload),
            Some(Failure::Diverged { left, waiting, at }) => RegionError::Diverged { left, waiting, waiting_at: at },
            None => unreachable!("failed flag without a failure"),
        })
    }

    /// Break region `gen`'s barrier and wake its waiters, who block on the
    /// task event word (`src/barrier/README.md`, "Barriers that run tasks").
    pub(crate) fn break_barrier(&self, gen: u32, reason: BreakReason) {
        self.barriers[(gen & 1) as usize].break_barrier(reason);
        self.tasks.events.notify(&self.policy);
    }

    /// A member's closure unwound with `payload`.
    pub(crate) fn fail(&self, tid: usize, gen: u32, payload: Box<dyn Any + Send>) {
        if payload.is::<Released>() {
            // Released from a wait because another member failed first.
            return;
        }
        let failure = match payload.downcast::<DivergedMarker>() {
            Ok(d) => Failure::Diverged { left: d.left, waiting: d.waiting, at: d.at },
            Err(payload) => {
                self.break_barrier(gen, BreakReason::Panicked { party: Some(tid) });
                Failure::Panicked { thread: tid, payload }
            }
        };
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        // The first real panic wins; a divergence only if nothing panicked.
        let replace =
            matches!((&*slot, &failure), (None, _) | (Some(Failure::Diverged { .. }), Failure::Panicked { .. }));
        if replace {
            *slot = Some(failure);
        }
        // Relaxed: published by our join increment (SeqCst RMW) in `finish`.
        self.failed.store(true, Ordering::Relaxed);
    }

    /// The finishing step: publish, count in, release anyone stuck at a
    /// barrier this thread will never reach.
    fn finish(&self, tid: usize, gen: u32, passed: u32, base: u32) {
        let me = &self.slots[tid];
        me.done.publish(status(gen, u64::from(passed)), wait::stats());
        // SeqCst: one half of the divergence handshake. A member entering a
        // barrier stores WAITING (SeqCst) then loads `join` (SeqCst); we add
        // to `join` then load its status. In the single total order one of
        // us sees the other (README, "divergence").
        let before = self.join.word().fetch_add(1, Ordering::SeqCst);
        if before.wrapping_add(1).wrapping_sub(base) == self.n as u32 {
            // The last member finished: threads helping with tasks at the
            // region end wait for this (src/tasks/README.md, region end).
            self.tasks.events.notify(&self.policy);
            // Every member has finished its closure, so none waits at a
            // barrier of this region: the divergence scan has nothing to
            // find (README, "divergence"). This saves the last finisher a
            // miss on every other member's status line.
            self.join.wake_all(&self.policy);
            return;
        }
        for (j, slot) in self.slots.iter().enumerate() {
            if j == tid {
                continue;
            }
            // SeqCst: the other half of the handshake above.
            let s = slot.waiting.load(Ordering::SeqCst);
            // Waiting exactly one barrier past our count (modulo 2^31): at
            // the barrier we never reached.
            let ahead = (s & BARRIER_MASK).wrapping_sub(barrier_number(passed)) & BARRIER_MASK;
            if s >> 32 == u64::from(gen) && s & WAITING != 0 && ahead == 1 {
                // It waits at a barrier we never reached: it can never pass.
                self.break_barrier(gen, BreakReason::Left { party: Some(tid) });
                break;
            }
        }
        self.join.wake_all(&self.policy);
    }

    /// A member that finished region `gen`, other than `me`.
    pub(crate) fn leaver(&self, gen: u32, me: usize) -> usize {
        (0..self.n)
            // Acquire: written before the leaver's join increment, which the
            // caller saw; Acquire keeps this load after that one.
            .find(|&j| j != me && self.slots[j].done.word.load(Ordering::Acquire) >> 32 == u64::from(gen))
            .unwrap_or(me)
    }

    /// Sum of every member's published wait counters.
    pub(crate) fn wait_stats(&self) -> WaitStats {
        self.slots.iter().fold(WaitStats::default(), |acc, s| acc + s.done.stats())
    }

    /// Tell the workers to exit (team drop).
    pub(crate) fn shut_down(&self) {
        // Release: nothing to publish but the bit; Release keeps earlier
        // region writes ordered before it anyway.
        self.fork.cell.word().fetch_or(EXIT, Ordering::Release);
        self.fork.cell.wake_all(&self.policy);
    }
}

impl Done {
    fn publish(&self, word: u64, s: WaitStats) {
        let vals = [s.waits, s.immediate, s.spins, s.yields, s.parks, s.sleeps, s.timeouts, s.waited.as_nanos() as u64];
        for (a, v) in self.stats.iter().zip(vals) {
            // Relaxed: read between regions, after the join increment that
            // follows (a Release RMW) was acquired by the master.
            a.store(v, Ordering::Relaxed);
        }
        // Relaxed: read after the join increment that follows (see `leaver`).
        self.word.store(word, Ordering::Relaxed);
    }

    fn stats(&self) -> WaitStats {
        // Relaxed: see `publish`.
        let v: Vec<u64> = self.stats.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        WaitStats {
            waits: v[0],
            immediate: v[1],
            spins: v[2],
            yields: v[3],
            parks: v[4],
            sleeps: v[5],
            timeouts: v[6],
            waited: Duration::from_nanos(v[7]),
        }
    }
}

/// Run the job as member `tid` of region `gen`, then finish.
pub(crate) fn run_member(shared: &Shared, tid: usize, gen: u32, job: Job) {
    // `phalanx::thread_num()` and friends, until this member leaves.
    let _here = super::runtime::enter(&shared.outer, tid, shared.n);
    // SAFETY: `shared` outlives `ctx`, a local of this function.
    let ctx = unsafe { Ctx::new(shared, tid, gen, job.base) };
    // SAFETY: `job.data` points to the region's closure, which `Shared::run`
    // keeps alive until this member's join increment in `finish` below.
    let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { (job.call)(job.data, &ctx) }));
    if let Err(payload) = r {
        shared.fail(tid, gen, payload);
    }
    let passed = ctx.barriers_passed();
    shared.finish(tid, gen, passed, job.base);
    // Help run the region's tasks until all members finished and no task is
    // left; nothing borrowed from the region is used after this returns.
    ctx.region_end_tasks(job.base);
}

/// A worker's life: wait for a fork, run, repeat until EXIT.
pub(crate) fn worker_loop(shared: &Shared, tid: usize) {
    let _abort = AbortOnUnwind;
    mark_in_region();
    // The fork word is 0 when the team is built, before any worker starts:
    // starting from 0 (not from a load) never misses a region forked before
    // this thread got to run.
    let mut seen = 0;
    loop {
        let w = match shared.fork.cell.wait_until(&shared.policy, shared.n, None, |w| w != seen) {
            Ok(w) => w,
            Err(_) => unreachable!("no deadline"),
        };
        if w & EXIT != 0 {
            return;
        }
        seen = w;
        // SAFETY: we acquired generation `w`, whose Release store came after
        // the master wrote the job; the master writes the next job only after
        // our join increment for this one.
        let job = unsafe { *shared.fork.job.get() };
        run_member(shared, tid, w >> 1, job);
    }
}
