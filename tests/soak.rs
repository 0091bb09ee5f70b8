//! Oversubscription soak: far more threads than the 2 cores. Every barrier
//! kind under every wait policy but `Spin` (which oversubscribed only
//! measures the scheduler's patience) runs [`THREADS`] threads through many
//! barrier episodes, and [`THREADS`] consumers drain a `TaskQueue` that a
//! master fills. Everything must finish, each item run exactly once. With
//! `--nocapture` it prints the time per episode (per item) per policy.
//!
//! This test is the short version. `ci/soak.sh` runs the full one:
//! `PHALANX_SOAK_EPISODES=10000 PHALANX_SOAK_ITEMS=100000` in release.

mod fault_kit;

use fault_kit::{bounded, env_u64, Ledger, Outcome};
use phalanx::config::Config;
use phalanx::{BarrierKind, TaskQueue, Team, WaitPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Threads per team / consumers per queue (`PHALANX_SOAK_THREADS`).
const THREADS: u64 = 64;
/// Barrier episodes per (kind, policy) (`PHALANX_SOAK_EPISODES`).
const EPISODES: u64 = if cfg!(miri) { 5 } else { 200 };
/// Items per queue run (`PHALANX_SOAK_ITEMS`).
const ITEMS: u64 = if cfg!(miri) { 100 } else { 10_000 };

/// Every policy but `Spin`.
fn policies() -> Vec<WaitPolicy> {
    WaitPolicy::all().into_iter().filter(|p| *p != WaitPolicy::Spin).collect()
}

/// A bound for one run: far above anything seen, so only a hang hits it.
fn limit(work: u64) -> Duration {
    Duration::from_secs(120 + work / 100)
}

/// `threads` threads cross `episodes` barriers; returns the time per episode.
/// Each thread checks after every episode that all arrivals of it happened.
fn barrier_soak(kind: BarrierKind, policy: WaitPolicy, threads: usize, episodes: usize) -> Duration {
    let team = Team::builder()
        .num_threads(threads)
        .barrier(kind)
        .wait_policy(policy)
        .env_config(Config::default())
        .build()
        .expect("soak team");
    let arrived = AtomicUsize::new(0);
    let t0 = Instant::now();
    team.parallel(|ctx| {
        for e in 1..=episodes {
            // Relaxed: the barrier orders the increments before the check.
            arrived.fetch_add(1, Ordering::Relaxed);
            ctx.barrier();
            let seen = arrived.load(Ordering::Relaxed);
            assert!(seen >= e * threads, "passed episode {e} with only {seen} arrivals");
        }
    });
    let took = t0.elapsed();
    // Relaxed: the region joined.
    assert_eq!(arrived.load(Ordering::Relaxed), episodes * threads);
    took / episodes as u32
}

/// A master pushes `items`, `consumers` threads pop; returns the time per item.
fn queue_soak(policy: WaitPolicy, consumers: usize, items: usize) -> Duration {
    let q: TaskQueue<usize> = TaskQueue::with_policy(policy);
    let ledger = Ledger::new(items);
    let t0 = Instant::now();
    thread::scope(|s| {
        for _ in 0..consumers {
            s.spawn(|| {
                while let Some(id) = q.pop() {
                    ledger.hold(id).ran();
                }
            });
        }
        for id in 0..items {
            q.push(id).expect("open queue");
        }
        q.close();
    });
    let took = t0.elapsed();
    while let Some(id) = q.try_pop().item() {
        ledger.record(id, Outcome::Remained);
    }
    let t = ledger.tally(items);
    assert!(t.lost == 0 && t.duplicated == 0 && t.ran == items, "queue soak with {policy}: {t:?}");
    took / items as u32
}

fn knobs() -> (usize, usize, usize) {
    let threads = env_u64("PHALANX_SOAK_THREADS").unwrap_or(THREADS) as usize;
    let episodes = env_u64("PHALANX_SOAK_EPISODES").unwrap_or(EPISODES) as usize;
    let items = env_u64("PHALANX_SOAK_ITEMS").unwrap_or(ITEMS) as usize;
    (threads, episodes, items)
}

#[test]
fn oversubscribed_barriers_finish() {
    let (threads, episodes, _) = knobs();
    for kind in BarrierKind::ALL {
        for policy in policies() {
            let what = move || format!("soak: barrier={kind} policy={policy} threads={threads} episodes={episodes}");
            let per = bounded(limit(episodes as u64), what, move || barrier_soak(kind, policy, threads, episodes))
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            println!("{} per_episode={:.1}us", what(), per.as_secs_f64() * 1e6);
        }
    }
}

#[test]
fn oversubscribed_queue_finishes() {
    let (threads, _, items) = knobs();
    for policy in policies() {
        let what = move || format!("soak: queue policy={policy} consumers={threads} items={items}");
        let per = bounded(limit(items as u64 / 10), what, move || queue_soak(policy, threads, items))
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        println!("{} per_item={:.2}us", what(), per.as_secs_f64() * 1e6);
    }
}
