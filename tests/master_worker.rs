//! `Team::master_worker`: every task pushed runs exactly once, or comes back
//! in the error; nothing hangs (a watchdog aborts the process); the team is
//! usable after a failure. Loops scale down under Miri.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{MasterWorkerError, Team, WaitPolicy};
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

const WATCHDOG_SECS: u64 = 60;

fn team(n: usize, policy: WaitPolicy) -> Team {
    Team::builder().num_threads(n).wait_policy(policy).build().expect("valid team")
}

/// `n` normally, a small fraction under Miri; fewer still for `SleepPoll`,
/// whose every wait sleeps.
fn scaled(n: usize, policy: WaitPolicy) -> usize {
    let n = if cfg!(miri) { (n / 100).max(3) } else { n };
    if matches!(policy, WaitPolicy::SleepPoll { .. }) {
        (n / 50).max(3)
    } else {
        n
    }
}

/// Run `tasks` tasks through `team` and check each ran exactly once, on a
/// thread of the team.
fn check_exactly_once(team: &Team, tasks: usize, what: &str) {
    let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
    let by_thread: Vec<AtomicUsize> = (0..team.num_threads()).map(|_| AtomicUsize::new(0)).collect();
    team.master_worker(
        |feed| {
            for t in 0..tasks {
                feed.push(t).expect("nothing failed, the push is accepted");
                if t % 64 == 0 {
                    // Let workers drain and block again, so pushes meet blocked workers.
                    std::thread::yield_now();
                }
            }
        },
        |ctx, t| {
            assert!(ctx.num_threads() == team.num_threads(), "{what}: ctx of another team size");
            // Relaxed: counted; read after the run, which joins every thread.
            hits[t].fetch_add(1, Ordering::Relaxed);
            by_thread[ctx.thread_num()].fetch_add(1, Ordering::Relaxed);
        },
    );
    for (t, h) in hits.iter().enumerate() {
        // Relaxed: the run is over; its join ordered every increment before.
        assert_eq!(h.load(Ordering::Relaxed), 1, "{what}: task {t} ran {} times", h.load(Ordering::Relaxed));
    }
    let total: usize = by_thread.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    assert_eq!(total, tasks, "{what}: per-thread counts do not add up");
}

#[test]
fn exactly_once_every_size_and_policy() {
    let _w = watchdog(WATCHDOG_SECS, "exactly_once_every_size_and_policy");
    for n in [1, 2, 4, 8] {
        for policy in WaitPolicy::all() {
            let team = team(n, policy);
            let tasks = scaled(2000, policy);
            check_exactly_once(&team, tasks, &format!("{n} threads, {policy}"));
            // A second run on the same team.
            check_exactly_once(&team, tasks / 2, &format!("{n} threads, {policy}, second run"));
        }
    }
}

#[test]
fn workers_start_before_the_producer_returns() {
    let _w = watchdog(WATCHDOG_SECS, "workers_start_before_the_producer_returns");
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::SleepPoll { interval: MS1 }] {
        let team = team(2, policy);
        let first_ran = AtomicBool::new(false);
        let ran = AtomicUsize::new(0);
        team.master_worker(
            |feed| {
                feed.push(0usize).expect("open");
                // Only a worker can run task 0 now (thread 0 is here): if the
                // workers waited for the producer to return, this would hang.
                // Acquire: pairs with the worker's Release store.
                while !first_ran.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                for t in 1..10 {
                    feed.push(t).expect("open");
                }
            },
            |_ctx, t| {
                if t == 0 {
                    // Release: pairs with the producer's Acquire load.
                    first_ran.store(true, Ordering::Release);
                }
                // Relaxed: read after the run.
                ran.fetch_add(1, Ordering::Relaxed);
            },
        );
        assert_eq!(ran.into_inner(), 10, "{policy}");
    }
}

const MS1: std::time::Duration = std::time::Duration::from_millis(1);

#[test]
fn zero_tasks() {
    let _w = watchdog(WATCHDOG_SECS, "zero_tasks");
    for n in [1, 2, 4, 8] {
        for policy in [WaitPolicy::default(), WaitPolicy::Spin, WaitPolicy::SleepPoll { interval: MS1 }] {
            let team = team(n, policy);
            let calls = AtomicUsize::new(0);
            team.master_worker(
                |_feed: &phalanx::Feeder<'_, u32>| {},
                |_ctx, _t| {
                    // Relaxed: read after the run.
                    calls.fetch_add(1, Ordering::Relaxed);
                },
            );
            assert_eq!(calls.into_inner(), 0, "{n} threads, {policy}: a worker ran with no task");
        }
    }
}

#[test]
fn oversubscribed_64_workers_hybrid() {
    let _w = watchdog(WATCHDOG_SECS, "oversubscribed_64_workers_hybrid");
    let team = team(64, WaitPolicy::default());
    check_exactly_once(&team, scaled(5000, WaitPolicy::default()), "64 threads, hybrid");
    check_exactly_once(&team, 0, "64 threads, hybrid, no task");
}

/// Who saw which task: the ledger a failed run is checked against.
#[derive(Default)]
struct Ledger {
    started: Mutex<Vec<usize>>,
    refused: Mutex<Vec<usize>>,
}

impl Ledger {
    /// Every task in `0..pushed_or_refused` appears exactly once among the
    /// started, the refused and the unrun ones.
    fn check(&self, total: usize, err: MasterWorkerError<usize>, what: &str) {
        let started = self.started.lock().unwrap().clone();
        let refused = self.refused.lock().unwrap().clone();
        let unrun = err.into_unrun();
        let mut seen = HashSet::new();
        for (kind, list) in [("started", &started), ("refused", &refused), ("unrun", &unrun)] {
            for &t in list {
                assert!(t < total, "{what}: unknown task {t} in {kind}");
                assert!(seen.insert(t), "{what}: task {t} appears twice (second time in {kind})");
            }
        }
        assert_eq!(seen.len(), total, "{what}: {} task(s) lost", total - seen.len());
    }
}

#[test]
fn producer_panic_fails_the_run_and_hands_back_the_tasks() {
    quiet_boom_panics();
    let _w = watchdog(WATCHDOG_SECS, "producer_panic_fails_the_run_and_hands_back_the_tasks");
    for n in [1, 2, 4] {
        for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::Spin] {
            let what = format!("{n} threads, {policy}");
            let team = team(n, policy);
            let total = scaled(300, policy);
            let ledger = Ledger::default();
            let r = team.try_master_worker(
                |feed| {
                    for t in 0..total {
                        if let Err(e) = feed.push(t) {
                            ledger.refused.lock().unwrap().push(e.into_inner());
                        }
                    }
                    panic!("boom producer");
                },
                |_ctx, t| ledger.started.lock().unwrap().push(t),
            );
            let err = r.expect_err("the producer panicked");
            assert_eq!(err.thread(), 0, "{what}: the producer runs on thread 0");
            assert!(err.to_string().contains("boom producer"), "{what}: {err}");
            assert!(ledger.refused.lock().unwrap().is_empty(), "{what}: refused before the failure");
            ledger.check(total, err, &what);
            check_exactly_once(&team, 50, &format!("{what}, after a producer panic"));
        }
    }
}

#[test]
fn worker_panic_fails_the_run_and_hands_back_the_tasks() {
    quiet_boom_panics();
    let _w = watchdog(WATCHDOG_SECS, "worker_panic_fails_the_run_and_hands_back_the_tasks");
    for n in [1, 2, 4] {
        for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::SleepPoll { interval: MS1 }] {
            let what = format!("{n} threads, {policy}");
            let team = team(n, policy);
            let total = scaled(500, policy);
            let bad = total / 3;
            let bad_thread = AtomicUsize::new(usize::MAX);
            let ledger = Ledger::default();
            let r = team.try_master_worker(
                |feed| {
                    for t in 0..total {
                        if let Err(e) = feed.push(t) {
                            ledger.refused.lock().unwrap().push(e.into_inner());
                        }
                    }
                },
                |ctx, t| {
                    ledger.started.lock().unwrap().push(t);
                    if t == bad {
                        // Relaxed: read after the run.
                        bad_thread.store(ctx.thread_num(), Ordering::Relaxed);
                        panic!("boom worker {t}");
                    }
                },
            );
            let err = r.expect_err("a worker panicked");
            assert_eq!(err.thread(), bad_thread.load(Ordering::Relaxed), "{what}: wrong thread blamed");
            assert!(err.to_string().contains(&format!("boom worker {bad}")), "{what}: {err}");
            ledger.check(total, err, &what);
            check_exactly_once(&team, 50, &format!("{what}, after a worker panic"));
        }
    }
}

#[test]
fn push_after_failure_is_refused_with_the_task() {
    quiet_boom_panics();
    let _w = watchdog(WATCHDOG_SECS, "push_after_failure_is_refused_with_the_task");
    for policy in [WaitPolicy::default(), WaitPolicy::Block] {
        let team = team(2, policy);
        let refused = Mutex::new(None);
        let r = team.try_master_worker(
            |feed| {
                feed.push(0usize).expect("open");
                // Thread 1 runs task 0 and panics; wait for the failure.
                while !feed.has_failed() {
                    std::thread::yield_now();
                }
                *refused.lock().unwrap() = Some(feed.push(7).expect_err("the run failed: push must be refused"));
            },
            |_ctx, t| panic!("boom task {t}"),
        );
        let err = r.expect_err("the worker panicked");
        assert_eq!(err.thread(), 1, "{policy}");
        assert_eq!(err.unrun_len(), 0, "{policy}: task 0 ran, task 7 was refused: nothing is unrun");
        assert_eq!(refused.into_inner().unwrap().map(|e| e.into_inner()), Some(7), "{policy}: the task comes back");
    }
}

#[test]
fn master_worker_reraises_the_first_panic() {
    quiet_boom_panics();
    let _w = watchdog(WATCHDOG_SECS, "master_worker_reraises_the_first_panic");
    let team = team(3, WaitPolicy::default());
    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        team.master_worker(
            |feed| {
                for t in 0..20u32 {
                    let _ = feed.push(t);
                }
            },
            |_ctx, t| {
                if t == 5 {
                    panic!("boom reraised");
                }
            },
        )
    }));
    let payload = r.expect_err("the panic is re-raised");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom reraised"));
    check_exactly_once(&team, 20, "after a re-raised panic");
}

#[test]
fn nested_in_a_region_runs_on_one_thread() {
    let _w = watchdog(WATCHDOG_SECS, "nested_in_a_region_runs_on_one_thread");
    let team = team(2, WaitPolicy::default());
    let ran = AtomicUsize::new(0);
    team.parallel(|_outer| {
        team.master_worker(
            |feed| {
                for t in 0..10u32 {
                    feed.push(t).expect("open");
                }
            },
            |ctx, _t| {
                assert_eq!(ctx.num_threads(), 1, "a nested master-worker runs alone");
                // Relaxed: read after the region.
                ran.fetch_add(1, Ordering::Relaxed);
            },
        );
    });
    assert_eq!(ran.into_inner(), 2 * 10, "each outer thread ran its own 10 tasks");
}
