//! Task creation allocates nothing in steady state: a counting global
//! allocator counts every allocation made while warmed-up regions create
//! tens of thousands of tasks (recycled frames, the deques' buffers already
//! grown). Counts are deterministic enough to assert on; times are not
//! measured here.

mod common;

use common::watchdog;
use phalanx::{Ctx, Team, WaitPolicy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: a flag and a count read after the measured regions joined.
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Measured rounds per case.
const ROUNDS: usize = 5;
/// Allocations allowed per round (see the assertion).
const PER_ROUND: usize = 100;

fn tree<'a>(ctx: &Ctx<'a>, depth: u32, leaves: &'a AtomicU64) {
    if depth == 0 {
        leaves.fetch_add(1, Ordering::Relaxed);
        return;
    }
    ctx.task(move |ctx| tree(ctx, depth - 1, leaves));
    ctx.task(move |ctx| tree(ctx, depth - 1, leaves));
    ctx.taskwait();
}

/// Allocations made by `rounds` runs of `region` after `warm` runs.
fn allocs_after_warm_up(warm: usize, rounds: usize, mut region: impl FnMut()) -> usize {
    for _ in 0..warm {
        region();
    }
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..rounds {
        region();
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCS.load(Ordering::Relaxed)
}

#[test]
fn no_allocation_per_task_in_steady_state() {
    let _w = watchdog(if cfg!(miri) { 900 } else { 60 }, "no_allocation_per_task_in_steady_state");
    let (n_tasks, depth) = if cfg!(miri) { (200, 5) } else { (20_000, 12) };
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::Spin] {
        for threads in [1, 2, 4] {
            // Unthrottled, so every task goes through a deque.
            let team =
                Team::builder().num_threads(threads).wait_policy(policy).max_queued_tasks(usize::MAX).build().unwrap();
            let sum = AtomicU64::new(0);
            let master_creates = || {
                team.parallel(|ctx| {
                    if ctx.is_master() {
                        for i in 0..n_tasks as u64 {
                            let sum = &sum;
                            ctx.task(move |_| {
                                sum.fetch_add(i, Ordering::Relaxed);
                            });
                        }
                    }
                })
            };
            // Warm-up with the largest possible number of tasks in flight:
            // the workers hold off until the master created all of them, so
            // every later round finds enough recycled frames.
            let hold = AtomicBool::new(true);
            team.parallel(|ctx| {
                if ctx.is_master() {
                    for _ in 0..n_tasks {
                        ctx.task(|_| {});
                    }
                    hold.store(false, Ordering::Release);
                } else {
                    while hold.load(Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                }
            });
            let a = allocs_after_warm_up(3, ROUNDS, master_creates);
            let leaves = AtomicU64::new(0);
            let trees = || team.parallel(|ctx| ctx.single(|| tree(ctx, depth, &leaves)));
            let b = allocs_after_warm_up(3, ROUNDS, trees);
            let tasks = ROUNDS * n_tasks;
            let tree_tasks = ROUNDS * ((1usize << (depth + 1)) - 2);
            println!("{threads} threads, {policy}: {a} allocations for {tasks} tasks (master creates), {b} for {tree_tasks} (trees)");
            // What remains is per round, not per task: the deques' buffers
            // grow again after shrinking when drained (a doubling each,
            // crossbeam-deque), and crossbeam-epoch's deferred frees of the
            // old buffers; a tree round may also reach a few more tasks in
            // flight than any earlier one. Bounded per round, whatever the
            // number of tasks (20 000 and 8 190 per round here).
            let per_round = PER_ROUND * ROUNDS;
            assert!(a <= per_round, "{threads} threads, {policy}: {a} allocations for {tasks} tasks (> {per_round})");
            assert!(
                b <= per_round,
                "{threads} threads, {policy}: {b} allocations for {tree_tasks} tree tasks (> {per_round})"
            );
            assert_eq!(sum.into_inner(), (3 + ROUNDS as u64) * (n_tasks as u64) * (n_tasks as u64 - 1) / 2);
            assert_eq!(leaves.into_inner(), (3 + ROUNDS as u64) << depth);
        }
    }
}
