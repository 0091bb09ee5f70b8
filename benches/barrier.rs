//! Barrier crossing time: every phalanx `BarrierKind` × every `WaitPolicy`,
//! against `std::sync::Barrier`, rayon's `broadcast`, threadteam's section
//! barrier, a bare spinning two-atomic floor and libgomp's
//! `#pragma omp barrier`, at 2, 4 and 8 threads. The reported time is per
//! crossing (criterion divides the batch by its iteration count).
//!
//! The threads are spawned once per benchmark (a [`common::Crew`]) and reused
//! across samples. Skipped, with a printed reason: `Spin` with more threads
//! than cores (the spinners starve the last arriver: milliseconds per crossing)
//! and `SleepPoll` above 2 threads (every crossing costs a sleep interval per
//! round; 2 threads already show it). `SleepPoll` runs in its own group with
//! flat sampling, because criterion's linear sampling needs at least 5050
//! iterations, over 5 s at 1 ms each.
//!
//! `cargo bench --bench barrier -- --warm-up-time 1 --measurement-time 2`
//! runs everything; `cargo test --benches` runs each once.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};
use phalanx::{BarrierKind, WaitPolicy};
use phalanx_omp_baseline::{self as omp, Construct};

mod common;
use common::{cores, Competitor, Crew, PhalanxBarrier, RayonBroadcast, SpinFloor, StdBarrier, ThreadteamSection};

/// Team sizes measured.
const THREADS: [usize; 3] = [2, 4, 8];

/// Why `policy` is not measured at `threads`, if it is not.
fn skip_reason(policy: WaitPolicy, threads: usize) -> Option<String> {
    match policy {
        WaitPolicy::Spin if threads > cores() => {
            Some(format!("{threads} threads > {} cores: pure spinners starve the thread they wait for", cores()))
        }
        WaitPolicy::SleepPoll { .. } if threads > 2 => {
            Some("> 2 threads: each crossing sleeps a poll interval per party; 2 threads show it".into())
        }
        _ => None,
    }
}

/// Benchmarks one competitor; its crew is spawned on first use (so a filtered
/// benchmark spawns nothing) and shut down when this returns.
fn bench_competitor<C: Competitor>(group: &mut BenchmarkGroup<'_, WallTime>, competitor: C) {
    let name = competitor.name();
    let mut pending = Some(competitor);
    let mut crew: Option<Crew<C>> = None;
    group.bench_function(name, |b| {
        let crew = crew.get_or_insert_with(|| Crew::spawn(pending.take().expect("competitor used once")));
        b.iter_custom(|iters| crew.run(iters));
    });
}

fn barriers(c: &mut Criterion) {
    println!("barrier bench: {} cores", cores());
    for threads in THREADS {
        let mut group = c.benchmark_group(format!("barrier/{threads}t"));
        for kind in BarrierKind::ALL {
            for policy in WaitPolicy::all() {
                if matches!(policy, WaitPolicy::SleepPoll { .. }) {
                    continue; // its own group below
                }
                match skip_reason(policy, threads) {
                    Some(why) => println!("skip barrier/{threads}t/{kind}/{policy}: {why}"),
                    None => bench_competitor(&mut group, PhalanxBarrier::new(kind, policy, threads)),
                }
            }
        }
        bench_competitor(&mut group, StdBarrier::new(threads));
        bench_competitor(&mut group, RayonBroadcast::new(threads));
        bench_competitor(&mut group, ThreadteamSection::new(threads));
        match skip_reason(WaitPolicy::Spin, threads) {
            Some(why) => println!("skip barrier/{threads}t/spin floor: {why}"),
            None => bench_competitor(&mut group, SpinFloor::new(threads)),
        }
        bench_openmp(&mut group, threads);
        group.finish();
    }
}

/// libgomp's barrier through the C kernel with an empty body: one parallel
/// region per batch, `iters` barriers in it (the fork is amortised).
fn bench_openmp(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize) {
    if !omp::available() {
        println!("skip barrier/{threads}t/openmp: the OpenMP baseline was built without OpenMP");
        return;
    }
    let policy = omp::OmpWaitPolicy::from_env().map_or("default", |p| p.name());
    group.bench_function(format!("openmp/{policy}"), |b| {
        b.iter_custom(|iters| {
            let _watch = common::watchdog("openmp barrier");
            omp::run(Construct::Barrier, threads, iters, 0).expect("OpenMP is available")
        });
    });
}

fn sleep_poll(c: &mut Criterion) {
    let policy = WaitPolicy::SleepPoll { interval: std::time::Duration::from_millis(1) };
    for threads in THREADS {
        if let Some(why) = skip_reason(policy, threads) {
            println!("skip barrier-sleep-poll/{threads}t: {why}");
            continue;
        }
        let mut group = c.benchmark_group(format!("barrier-sleep-poll/{threads}t"));
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        for kind in BarrierKind::ALL {
            bench_competitor(&mut group, PhalanxBarrier::new(kind, policy, threads));
        }
        group.finish();
    }
}

criterion_group!(benches, barriers, sleep_poll);
criterion_main!(benches);
