//! CPU burned by one wait: a waiter waits a fixed 2 ms for a phalanx `Gate`
//! (the timing thread sleeps, then opens it), and criterion measures process
//! CPU time ([`common::cpu_time::CpuTime`]) instead of wall time. Read beside
//! `wakeup`: latency bought against CPU burned, per policy. `Spin` should
//! burn about the whole 2 ms; `Block` only the wake; `SleepPoll` one short
//! wake per interval.
//!
//! `reference/open-gate` runs the same episode with the gate already open:
//! the harness's own CPU (channels, the sleeping opener) to subtract.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use phalanx::WaitPolicy;
use std::time::Duration;

mod common;
use common::cores;
use common::cpu_time::{process_cpu_time, CpuTime};
use common::gate_waiter::{Gap, GateWaiter};

/// How long every waiter waits.
const WAIT: Duration = Duration::from_millis(2);

fn cpu_cost(c: &mut Criterion<CpuTime>) {
    let mut group = c.benchmark_group("cpu-per-2ms-wait");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    let mut policies = WaitPolicy::all().to_vec();
    policies.push(WaitPolicy::SleepPoll { interval: Duration::from_micros(50) });
    let cases = policies.into_iter().map(|p| (p.to_string(), p, false));
    for (name, policy, open_early) in cases.chain([("reference/open-gate".to_string(), WaitPolicy::Block, true)]) {
        if policy == WaitPolicy::Spin && cores() < 2 {
            println!("skip cpu-per-2ms-wait/spin: 1 core, the spinning waiter would starve the opener");
            continue;
        }
        let mut waiter: Option<GateWaiter> = None;
        group.bench_function(name, |b| {
            let waiter = waiter.get_or_insert_with(|| GateWaiter::spawn(policy));
            b.iter_custom(|iters| {
                let start = process_cpu_time();
                waiter.run(iters, Gap::Sleep(WAIT), open_early);
                process_cpu_time().saturating_sub(start)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = cpu_cost
}
criterion_main!(benches);
