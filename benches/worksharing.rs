//! Worksharing loops and reductions at [`THREADS`] threads: what each
//! `Schedule` costs, on a loop of [`N`] iterations.
//!
//! Loops (`loop-balanced`: every iteration [`STEPS`] steps of [`work`];
//! `loop-triangular`: iteration `i` costs about `2·STEPS·i/N` steps, the same
//! total with the late iterations dear, so `Static` leaves thread 0 idle for
//! most of the loop), for every schedule ([`schedules`]: `Static`, and
//! `StaticChunk`, `Dynamic`, `Guided` with chunks 1, 8 and 64), two ways:
//! - `parallel_for/<schedule>`: one `team.parallel_for` per criterion
//!   iteration; **each includes a fork and a join** of the team;
//! - `for_each-in-region/<schedule>`: one `team.parallel` region per batch,
//!   `iters` × `ctx.for_each` inside it, timed by thread 0 after a lining-up
//!   barrier: the loop alone, with its implicit end barrier (`#pragma omp
//!   for` without `nowait`), without the fork/join;
//!
//! plus `serial` and `rayon/for_each-in-install` (`iters` ×
//! `par_iter().for_each` inside one `install` of a pool of the same size).
//!
//! Reductions (`reduce-f64`): the sum of [`N`] `f64`s by
//! `team.parallel_reduce` (fork/join included), `ctx.reduce` inside one
//! region, rayon's `par_iter().sum()` (one `install` per sum, and `iters` sums
//! inside one `install`), and a serial loop. The values are multiples of 0.5
//! far below 2^52, so every summation order gives the exact same `f64`; each
//! sum is compared with the serial one.
//!
//! Teams and pools are built once per group, outside the timed closures. Every
//! schedule is first checked (untimed) to run each index exactly once, by
//! `parallel_for` and by two `for_each` in one region.
//!
//! `cargo bench --bench worksharing -- --warm-up-time 1 --measurement-time 2`
//! runs everything in about 4 minutes here; `cargo test --benches` runs each once.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use phalanx::{Schedule, Team};
use rayon::prelude::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

mod common;

/// Team size (and rayon pool size).
const THREADS: usize = 2;
/// Iterations per loop, values per reduction.
const N: usize = 10_000;
/// Steps of [`work`] per iteration of the balanced loop.
const STEPS: usize = 32;
/// Chunk sizes given to the chunked schedules.
const CHUNKS: [usize; 3] = [1, 8, 64];

/// How the cost of an iteration depends on its index.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// Every iteration [`STEPS`] steps.
    Balanced,
    /// Iteration `i`: `1 + 2·STEPS·i/N` steps (triangular, same mean).
    Triangular,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Balanced => "balanced",
            Shape::Triangular => "triangular",
        }
    }

    /// Steps of iteration `i`.
    #[inline]
    fn steps(self, i: usize) -> usize {
        match self {
            Shape::Balanced => STEPS,
            Shape::Triangular => 1 + 2 * STEPS * i / N,
        }
    }
}

/// `steps` dependent multiply-adds seeded by `i`, each through `black_box`.
#[inline]
fn work(i: usize, steps: usize) -> u64 {
    let mut x = i as u64;
    for _ in 0..steps {
        x = black_box(x).wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

/// The loop body every competitor runs.
#[inline]
fn body(shape: Shape, i: usize) {
    black_box(work(i, shape.steps(i)));
}

/// Every schedule measured.
fn schedules() -> Vec<Schedule> {
    let mut s = vec![Schedule::Static];
    for make in [Schedule::StaticChunk, Schedule::Dynamic, Schedule::Guided] {
        s.extend(CHUNKS.map(make));
    }
    s
}

/// Panics unless `schedule` runs every index exactly once, by
/// `parallel_for` and by two consecutive `for_each` in one region.
fn check_schedule(team: &Team, schedule: Schedule) {
    let hits: Vec<AtomicU32> = (0..N).map(|_| AtomicU32::new(0)).collect();
    // Relaxed (all hits): counters read after the region's join.
    team.parallel_for(0..N, schedule, |i| {
        hits[i].fetch_add(1, Ordering::Relaxed);
    });
    team.parallel(|ctx| {
        for _ in 0..2 {
            ctx.for_each(0..N, schedule, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    for (i, h) in hits.iter().enumerate() {
        let h = h.load(Ordering::Relaxed);
        assert_eq!(h, 3, "{schedule}: index {i} ran {h} times in 3 loops");
    }
}

/// `iters` runs of `each` by every thread of one region, as thread 0 timed
/// them after a barrier that lines the threads up.
fn time_in_region(team: &Team, iters: u64, each: impl Fn(&phalanx::Ctx<'_>) + Sync) -> Duration {
    let elapsed = Mutex::new(Duration::ZERO);
    team.parallel(|ctx| {
        ctx.barrier();
        let start = Instant::now();
        for _ in 0..iters {
            each(ctx);
        }
        if ctx.is_master() {
            *elapsed.lock().unwrap_or_else(PoisonError::into_inner) = start.elapsed();
        }
    });
    elapsed.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// `iters` runs of `f` on `pool`, timed inside one `install`.
fn time_in_install(pool: &rayon::ThreadPool, iters: u64, f: impl Fn() + Send + Sync) -> Duration {
    pool.install(|| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed()
    })
}

fn build_team() -> Team {
    Team::builder().num_threads(THREADS).build().unwrap_or_else(|e| panic!("building a team of {THREADS}: {e}"))
}

fn build_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .thread_name(|i| format!("bench-rayon-{i}"))
        .build()
        .unwrap_or_else(|e| panic!("building a rayon pool of {THREADS}: {e}"))
}

/// Runs `f(iters)` under the watchdog.
fn watched(name: &str, iters: u64, f: impl FnOnce(u64) -> Duration) -> Duration {
    let _watch = common::watchdog(name);
    f(iters)
}

fn loops(c: &mut Criterion) {
    let team = build_team();
    let pool = build_pool();
    println!("worksharing bench: {} cores, team {team:?}", common::cores());
    for s in schedules() {
        check_schedule(&team, s);
    }
    for shape in [Shape::Balanced, Shape::Triangular] {
        let mut group = c.benchmark_group(format!("loop-{}/{THREADS}t", shape.label()));
        // 50 samples: a loop takes up to a few ms here, and 100 linear
        // samples (5050 iterations) would not fit a 2 s measurement.
        group.throughput(Throughput::Elements(N as u64)).sample_size(50);
        bench_loop(&mut group, &team, &pool, shape);
        group.finish();
    }
}

fn bench_loop(group: &mut BenchmarkGroup<'_, WallTime>, team: &Team, pool: &rayon::ThreadPool, shape: Shape) {
    let label = shape.label();
    group.bench_function("serial", |b| {
        b.iter(|| {
            for i in 0..N {
                body(shape, i);
            }
        })
    });
    for s in schedules() {
        group.bench_function(format!("parallel_for/{s}"), |b| {
            b.iter_custom(|iters| {
                watched(&format!("{label} parallel_for/{s}"), iters, |iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        team.parallel_for(0..N, s, |i| body(shape, i));
                    }
                    start.elapsed()
                })
            })
        });
    }
    for s in schedules() {
        group.bench_function(format!("for_each-in-region/{s}"), |b| {
            b.iter_custom(|iters| {
                watched(&format!("{label} for_each-in-region/{s}"), iters, |iters| {
                    time_in_region(team, iters, |ctx| ctx.for_each(0..N, s, |i| body(shape, i)))
                })
            })
        });
    }
    group.bench_function("rayon/for_each-in-install", |b| {
        b.iter_custom(|iters| {
            watched(&format!("{label} rayon"), iters, |iters| {
                time_in_install(pool, iters, || (0..N).into_par_iter().for_each(|i| body(shape, i)))
            })
        })
    });
}

fn reductions(c: &mut Criterion) {
    let team = build_team();
    let pool = build_pool();
    let values: Vec<f64> = (0..N).map(|i| (i % 1000) as f64 * 0.5).collect();
    let expected: f64 = values.iter().sum();
    let check = |who: &str, got: f64| assert!(got == expected, "{who}: sum {got}, serial sum {expected}");
    let v = &values;
    let fold = |a: f64, i: usize| a + v[i];
    let combine = |a: f64, b: f64| a + b;
    let mut group = c.benchmark_group(format!("reduce-f64/{THREADS}t"));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("serial", |b| b.iter(|| check("serial", black_box(v).iter().sum())));
    let s = Schedule::Static;
    group.bench_function(format!("parallel_reduce/{s}"), |b| {
        b.iter_custom(|iters| {
            watched("parallel_reduce", iters, |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    check("parallel_reduce", team.parallel_reduce(0..N, s, 0.0, fold, combine));
                }
                start.elapsed()
            })
        })
    });
    group.bench_function(format!("reduce-in-region/{s}"), |b| {
        b.iter_custom(|iters| {
            watched("reduce-in-region", iters, |iters| {
                time_in_region(&team, iters, |ctx| check("ctx.reduce", ctx.reduce(0..N, s, 0.0, fold, combine)))
            })
        })
    });
    group.bench_function("rayon/sum-per-install", |b| {
        b.iter(|| check("rayon", pool.install(|| v.par_iter().sum())));
    });
    group.bench_function("rayon/sum-in-install", |b| {
        b.iter_custom(|iters| {
            watched("rayon sum-in-install", iters, |iters| {
                time_in_install(&pool, iters, || check("rayon", v.par_iter().sum()))
            })
        })
    });
    group.finish();
}

criterion_group!(benches, loops, reductions);
criterion_main!(benches);
