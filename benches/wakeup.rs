//! Release latency: the timing thread opens a phalanx `Gate` and a waiter
//! thread notices. Measured with timestamps on both sides (open → observed)
//! and summed per batch, so criterion reports the latency per release, not the
//! harness's round trip. See `common/gate_waiter.rs` for the episode.
//!
//! Every `WaitPolicy`, plus `SleepPoll` at 50 µs beside the default 1 ms (the
//! seed's loop), each after two gaps between the waiter starting to wait and
//! the open:
//! - `spin-10us`: shorter than every spin budget (`DEFAULT_HYBRID_SPIN` is
//!   50 µs), so `Hybrid` and `Adaptive` are still spinning;
//! - `sleep-500us`: longer than every spin budget (`ADAPTIVE_MAX_SPIN` is
//!   100 µs), so they have blocked and pay a wake.
//!
//! Flat sampling: an episode lasts the gap plus the latency (up to ~1.5 ms),
//! which linear sampling's 5050-iteration minimum would turn into minutes.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use phalanx::WaitPolicy;
use std::time::Duration;

mod common;
use common::cores;
use common::gate_waiter::{Gap, GateWaiter};

/// The policies measured: all of them, and the seed's loop at a finer interval.
pub fn policies() -> Vec<WaitPolicy> {
    let mut p = WaitPolicy::all().to_vec();
    p.push(WaitPolicy::SleepPoll { interval: Duration::from_micros(50) });
    p
}

fn wakeup(c: &mut Criterion) {
    for gap in [Gap::Spin(Duration::from_micros(10)), Gap::Sleep(Duration::from_micros(500))] {
        let mut group = c.benchmark_group(format!("wakeup/{}", gap.label()));
        group.sampling_mode(SamplingMode::Flat).sample_size(20);
        for policy in policies() {
            if policy == WaitPolicy::Spin && cores() < 2 {
                println!("skip wakeup/{}/spin: 1 core, the spinning waiter would starve the opener", gap.label());
                continue;
            }
            let mut waiter: Option<GateWaiter> = None;
            group.bench_function(policy.to_string(), |b| {
                let waiter = waiter.get_or_insert_with(|| GateWaiter::spawn(policy));
                b.iter_custom(|iters| waiter.run(iters, gap, false));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, wakeup);
criterion_main!(benches);
