//! Exactly-once ledger for `TaskQueue`: many producers and consumers, random
//! consumer panics inside the handler, random `pop_timeout`s, and a close
//! while producers still push. Every item must end exactly once as one of:
//! run, failed in the handler (recorded by the consumer that held it),
//! returned by `push` (queue closed), or left in the queue (drained at the
//! end). Per-item counters (`fault_kit::Ledger`), not a guess.
//!
//! Knobs: `PHALANX_LEDGER_ITEMS` (default [`DEFAULT_ITEMS`] per policy;
//! `ci/ledger.sh` runs 10^7), `PHALANX_FAULT_SEED` (base seed). Prints
//! `ledger: pushed=N ran=N failed=N returned=N lost=0 duplicated=0`.

mod common;
mod fault_kit;

use common::watchdog;
use fault_kit::{clock_seed, derive_seed, env_u64, quiet_injected_panics, Ledger, Outcome, SplitMix64, Tally, BOOM};
use phalanx::sync::TimedPop;
use phalanx::{TaskQueue, WaitPolicy};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Items per policy unless `PHALANX_LEDGER_ITEMS` says otherwise.
const DEFAULT_ITEMS: u64 = if cfg!(miri) { 200 } else { 100_000 };
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 8;
/// A consumer's handler panics once in this many items.
const PANIC_ONE_IN: u64 = 1000;
/// A consumer uses `pop_timeout` (0..[`MAX_TIMEOUT_US`] µs) for one pop in this many.
const TIMED_POP_ONE_IN: u64 = 4;
const MAX_TIMEOUT_US: u64 = 100;
/// The queue is closed once this share (in %) of the items was offered; the
/// rest come back from `push`.
const CLOSE_AT_PERCENT: usize = 90;

/// What one consumer thread counted.
#[derive(Default)]
struct ConsumerCounts {
    panics: usize,
    timeouts: usize,
}

/// Pop and handle until the queue is finished; a handler panic unwinds out.
fn consume(q: &TaskQueue<usize>, ledger: &Ledger, rng: &mut SplitMix64, c: usize, counts: &mut ConsumerCounts) {
    loop {
        let id = if rng.one_in(TIMED_POP_ONE_IN) {
            match q.pop_timeout(Duration::from_micros(rng.below(MAX_TIMEOUT_US))) {
                TimedPop::Item(id) => id,
                TimedPop::TimedOut => {
                    counts.timeouts += 1;
                    continue;
                }
                TimedPop::Closed => return,
            }
        } else {
            match q.pop() {
                Some(id) => id,
                None => return,
            }
        };
        let held = ledger.hold(id);
        if rng.one_in(PANIC_ONE_IN) {
            panic!("{BOOM}: consumer {c} in the handler of item {id}");
        }
        held.ran();
    }
}

/// One full run with `policy`: returns the tally and the consumers' panics.
fn run(policy: WaitPolicy, items: usize, seed: u64) -> (Tally, usize, usize) {
    let q: TaskQueue<usize> = TaskQueue::with_policy(policy);
    let ledger = Ledger::new(items);
    let offered = AtomicUsize::new(0);
    let close_at = items * CLOSE_AT_PERCENT / 100;
    let counts: Vec<ConsumerCounts> = thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (q, ledger, offered) = (&q, &ledger, &offered);
            s.spawn(move || {
                for id in (p..items).step_by(PRODUCERS) {
                    if let Err(e) = q.push(id) {
                        ledger.record(e.into_inner(), Outcome::Returned);
                    }
                    // Relaxed: only counts attempts to pick the close moment.
                    if offered.fetch_add(1, Ordering::Relaxed) + 1 == close_at {
                        q.close();
                    }
                }
            });
        }
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| {
                let (q, ledger) = (&q, &ledger);
                s.spawn(move || {
                    let mut rng = SplitMix64::new(derive_seed(seed, c as u64));
                    let mut counts = ConsumerCounts::default();
                    // A consumer that panicked is replaced by a fresh one on
                    // the same thread: the queue must not care.
                    while let Err(_payload) =
                        panic::catch_unwind(AssertUnwindSafe(|| consume(q, ledger, &mut rng, c, &mut counts)))
                    {
                        counts.panics += 1;
                    }
                    counts
                })
            })
            .collect();
        consumers.into_iter().map(|h| h.join().expect("consumer thread")).collect()
    });
    // Tiny runs may never reach the close point.
    q.close();
    while let Some(id) = q.try_pop().item() {
        ledger.record(id, Outcome::Remained);
    }
    let panics = counts.iter().map(|c| c.panics).sum();
    let timeouts = counts.iter().map(|c| c.timeouts).sum();
    (ledger.tally(items), panics, timeouts)
}

#[test]
fn every_item_ends_exactly_once() {
    quiet_injected_panics();
    let items = env_u64("PHALANX_LEDGER_ITEMS").unwrap_or(DEFAULT_ITEMS) as usize;
    let base = env_u64("PHALANX_FAULT_SEED").unwrap_or_else(clock_seed);
    // Generous: about 100 µs per item in debug mode on 2 cores, plus a minute.
    let _w = watchdog(60 + items as u64 / 10_000 * 6, "every_item_ends_exactly_once");
    let policies = [
        WaitPolicy::SpinYield,
        WaitPolicy::Block,
        WaitPolicy::default(),
        WaitPolicy::Adaptive,
        WaitPolicy::SleepPoll { interval: Duration::from_micros(50) },
    ];
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for (i, policy) in policies.into_iter().enumerate() {
        let seed = derive_seed(base, i as u64);
        let t0 = Instant::now();
        let (t, panics, timeouts) = run(policy, items, seed);
        let pushed = t.ran + t.failed + t.remained;
        println!(
            "ledger: policy={policy} pushed={pushed} ran={} failed={} returned={} remained={} lost={} duplicated={} \
             panics={panics} timeouts={timeouts} time={:.2}s",
            t.ran,
            t.failed,
            t.returned,
            t.remained,
            t.lost,
            t.duplicated,
            t0.elapsed().as_secs_f64()
        );
        let sum_ok = pushed + t.returned == items;
        let close_ok = items < 100 || t.returned > 0;
        if t.lost != 0 || t.duplicated != 0 || t.failed != panics || !sum_ok || !close_ok {
            failures.push(format!("{policy} (seed {seed:#x}): {t:?}, {panics} handler panics"));
        }
        total = Tally {
            offered: total.offered + t.offered,
            ran: total.ran + t.ran,
            failed: total.failed + t.failed,
            remained: total.remained + t.remained,
            returned: total.returned + t.returned,
            lost: total.lost + t.lost,
            duplicated: total.duplicated + t.duplicated,
        };
    }
    println!(
        "ledger: pushed={} ran={} failed={} returned={} remained={} lost={} duplicated={} base_seed={base:#x}",
        total.ran + total.failed + total.remained,
        total.ran,
        total.failed,
        total.returned,
        total.remained,
        total.lost,
        total.duplicated
    );
    assert!(failures.is_empty(), "ledger mismatches:\n{}", failures.join("\n"));
}
