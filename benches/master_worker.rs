//! Master-worker throughput: one producer hands out a batch of [`TASKS`] small
//! tasks ([`task`]: [`TASK_STEPS`] dependent multiply-adds, a few hundred ns)
//! and a team of 2 or 4 threads runs them. Time is per whole batch, the
//! throughput in tasks per second. Competitors:
//!
//! - `phalanx/fill-then-release`: one `team.parallel` region; the master
//!   pushes every task into a `TaskQueue` and closes it, `ctx.barrier()`, then
//!   every thread drains it (the seed's `!$OMP BARRIER` version);
//! - `phalanx/master-worker`: `team.master_worker`: workers run tasks while
//!   the master is still pushing, then the master joins them;
//! - `rayon/scope-spawn`: `ThreadPool::scope` with one `spawn` per task;
//! - `std-mpsc/mutex-receiver`: the timing thread sends every task down a
//!   `std::sync::mpsc` channel shared by the consumers as `Mutex<Receiver>`;
//! - `crossbeam/injector`: a `crossbeam_deque::Injector` plus a "no more
//!   tasks" flag; consumers that find it empty `yield_now` and look again;
//! - `seed/sleep-poll` (own group, [`TASKS_SLEEP_POLL`] tasks, 10 samples):
//!   the seed's `wait_thread`: the master fills a `Mutex<VecDeque>` and sets
//!   an `AtomicBool` `full`; the others check it and sleep [`SEED_POLL`]
//!   until it is set, then everybody drains. Slow by design.
//!
//! The producer is always one of the consumers (thread 0 of the team, rayon's
//! thread running the scope, the timing thread for the channel competitors).
//! Teams, pools and the channel competitors' helper threads are built once
//! per team size, outside the timed closure, and reused across samples; the
//! helpers get each batch as an `Arc` job over a blocking command channel (a
//! wake per batch, as a phalanx team's fork). Every task adds its result to
//! its thread's [`Tally`] slot; after each timed loop the tally must hold
//! exactly `iters × tasks` tasks and their checksum, or the bench panics.
//!
//! The channel competitors live in `master_worker/channels.rs`.
//!
//! `cargo bench --bench master_worker` runs everything; `cargo test --benches`
//! runs each once.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use crossbeam_utils::CachePadded;
use phalanx::sync::TryPop;
use phalanx::{TaskQueue, Team};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

#[path = "master_worker/channels.rs"]
mod channels;
mod common;
use channels::{InjectorQueue, MpscChannel};

/// Team sizes measured.
const THREADS: [usize; 2] = [2, 4];
/// Tasks per batch.
const TASKS: usize = 10_000;
/// Tasks per batch of the sleep-polling version (each batch sleeps at least
/// one [`SEED_POLL`]).
const TASKS_SLEEP_POLL: usize = 1_000;
/// The seed's `system_sleep(1)` between two checks of `full`.
const SEED_POLL: Duration = Duration::from_millis(1);
/// Dependent multiply-adds per task.
const TASK_STEPS: u32 = 128;

/// One task's work: [`TASK_STEPS`] steps of an LCG seeded by `i`, each through
/// `black_box` so nothing is folded or vectorised.
#[inline]
fn task(i: usize) -> u64 {
    let mut x = i as u64;
    for _ in 0..TASK_STEPS {
        x = black_box(x).wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

/// The checksum of one batch of `tasks`: the wrapping sum of every result.
fn batch_checksum(tasks: usize) -> u64 {
    (0..tasks).fold(0u64, |a, i| a.wrapping_add(task(i)))
}

/// One thread's counters, on its own cache line.
#[derive(Default)]
struct Slot {
    tasks: AtomicU64,
    sum: AtomicU64,
}

/// What every thread ran: one [`Slot`] per thread index.
struct Tally {
    slots: Vec<CachePadded<Slot>>,
}

impl Tally {
    fn new(threads: usize) -> Self {
        Tally { slots: (0..threads).map(|_| CachePadded::new(Slot::default())).collect() }
    }

    /// Thread `thread` ran a task with result `value`.
    #[inline]
    fn record(&self, thread: usize, value: u64) {
        let slot = &self.slots[thread];
        // Relaxed (both): each slot has one writer at a time, and `check`
        // reads it after the batch's join (region end, scope end, helper's
        // done message), which orders these adds before it.
        slot.tasks.fetch_add(1, Ordering::Relaxed);
        slot.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Panics unless exactly `batches` batches of `tasks` ran since the last
    /// check; then starts over.
    fn check(&self, name: &str, batches: u64, tasks: usize, checksum: u64) {
        // Relaxed (both swaps): the batches are joined (see `record`).
        let ran: u64 = self.slots.iter().map(|s| s.tasks.swap(0, Ordering::Relaxed)).sum();
        let sum = self.slots.iter().fold(0u64, |a, s| a.wrapping_add(s.sum.swap(0, Ordering::Relaxed)));
        let want = batches * tasks as u64;
        assert_eq!(ran, want, "{name}: {ran} tasks ran in {batches} batch(es) of {tasks}");
        assert_eq!(sum, checksum.wrapping_mul(batches), "{name}: wrong checksum: a task ran twice or never");
    }
}

/// One way of running a batch of tasks.
trait Dispatcher {
    /// The benchmark id.
    fn name(&self) -> String;
    /// Run tasks `0..tasks`, each once, and return when all have run.
    fn batch(&self, tasks: usize);
    fn tally(&self) -> &Tally;
}

/// Times `iters` batches of `tasks`, then checks the tally.
fn bench<D: Dispatcher>(group: &mut BenchmarkGroup<'_, WallTime>, d: &D, tasks: usize) {
    let name = d.name();
    let checksum = batch_checksum(tasks);
    group.bench_function(&name, |b| {
        b.iter_custom(|iters| {
            let watch = common::watchdog(&name);
            let start = Instant::now();
            for _ in 0..iters {
                d.batch(tasks);
            }
            let elapsed = start.elapsed();
            drop(watch);
            d.tally().check(&name, iters, tasks, checksum);
            elapsed
        });
    });
}

/// Master fills and closes a `TaskQueue`, a barrier, everybody drains.
struct FillThenRelease<'t> {
    team: &'t Team,
    tally: Tally,
}

impl Dispatcher for FillThenRelease<'_> {
    fn name(&self) -> String {
        format!("phalanx/fill-then-release/{}", self.team.wait_policy())
    }
    fn batch(&self, tasks: usize) {
        let queue = TaskQueue::with_policy(self.team.wait_policy());
        self.team.parallel(|ctx| {
            if ctx.is_master() {
                for i in 0..tasks {
                    queue.push(i).expect("the queue is open until the master closes it");
                }
                queue.close();
            }
            ctx.barrier();
            loop {
                match queue.try_pop() {
                    TryPop::Item(i) => self.tally.record(ctx.thread_num(), task(i)),
                    TryPop::Closed => break,
                    TryPop::Empty => unreachable!("the queue was filled and closed before the barrier"),
                }
            }
        });
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

/// `Team::master_worker`: workers start on the first task.
struct MasterWorker<'t> {
    team: &'t Team,
    tally: Tally,
}

impl Dispatcher for MasterWorker<'_> {
    fn name(&self) -> String {
        format!("phalanx/master-worker/{}", self.team.wait_policy())
    }
    fn batch(&self, tasks: usize) {
        self.team.master_worker(
            |feed| {
                for i in 0..tasks {
                    feed.push(i).expect("no worker failed");
                }
            },
            |ctx, i| self.tally.record(ctx.thread_num(), task(i)),
        );
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

/// rayon: `scope` + one `spawn` per task.
struct RayonScope {
    pool: rayon::ThreadPool,
    tally: Tally,
}

impl RayonScope {
    fn new(threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("bench-rayon-{i}"))
            .build()
            .unwrap_or_else(|e| panic!("building a rayon pool of {threads}: {e}"));
        RayonScope { pool, tally: Tally::new(threads) }
    }
}

impl Dispatcher for RayonScope {
    fn name(&self) -> String {
        "rayon/scope-spawn".into()
    }
    fn batch(&self, tasks: usize) {
        let tally = &self.tally;
        self.pool.scope(|s| {
            for i in 0..tasks {
                s.spawn(move |_| {
                    let me = rayon::current_thread_index().expect("scope tasks run in the pool");
                    tally.record(me, task(i));
                });
            }
        });
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

/// The seed's version: `full` polled with a 1 ms sleep, a locked `VecDeque`.
struct SleepPoll<'t> {
    team: &'t Team,
    tally: Tally,
}

impl Dispatcher for SleepPoll<'_> {
    fn name(&self) -> String {
        format!("seed/sleep-poll({}ms)", SEED_POLL.as_millis())
    }
    fn batch(&self, tasks: usize) {
        let queue = Mutex::new(VecDeque::with_capacity(tasks));
        let full = AtomicBool::new(false);
        self.team.parallel(|ctx| {
            if ctx.is_master() {
                for i in 0..tasks {
                    queue.lock().unwrap_or_else(PoisonError::into_inner).push_back(i);
                }
                // Release: publishes the filled queue to the pollers' Acquire.
                full.store(true, Ordering::Release);
            } else {
                // Acquire: pairs with the master's Release store.
                while !full.load(Ordering::Acquire) {
                    thread::sleep(SEED_POLL);
                }
            }
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                match next {
                    Some(i) => self.tally.record(ctx.thread_num(), task(i)),
                    None => break,
                }
            }
        });
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

fn build_team(threads: usize) -> Team {
    Team::builder().num_threads(threads).build().unwrap_or_else(|e| panic!("building a team of {threads}: {e}"))
}

fn master_worker(c: &mut Criterion) {
    println!("master_worker bench: {} cores, {TASKS} tasks per batch", common::cores());
    for threads in THREADS {
        let team = build_team(threads);
        let mut group = c.benchmark_group(format!("master-worker/{threads}t"));
        group.sampling_mode(SamplingMode::Flat).sample_size(20).throughput(Throughput::Elements(TASKS as u64));
        bench(&mut group, &FillThenRelease { team: &team, tally: Tally::new(threads) }, TASKS);
        bench(&mut group, &MasterWorker { team: &team, tally: Tally::new(threads) }, TASKS);
        bench(&mut group, &RayonScope::new(threads), TASKS);
        bench(&mut group, &MpscChannel::new(threads), TASKS);
        bench(&mut group, &InjectorQueue::new(threads), TASKS);
        group.finish();
    }
}

fn sleep_poll(c: &mut Criterion) {
    for threads in THREADS {
        let team = build_team(threads);
        let mut group = c.benchmark_group(format!("master-worker-sleep-poll/{threads}t"));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .throughput(Throughput::Elements(TASKS_SLEEP_POLL as u64));
        bench(&mut group, &SleepPoll { team: &team, tally: Tally::new(threads) }, TASKS_SLEEP_POLL);
        // The same batch size through `master_worker`, for comparison.
        bench(&mut group, &MasterWorker { team: &team, tally: Tally::new(threads) }, TASKS_SLEEP_POLL);
        group.finish();
    }
}

criterion_group!(benches, master_worker, sleep_poll);
criterion_main!(benches);
