//! Cancellation: `cancel_parallel` ends the region for every thread at its
//! next cancellation point (barrier, chunk claim, `cancellation_point`) and
//! the caller learns it (`parallel_outcome`), distinct from a failure;
//! `cancel_for` stops a loop at the next chunk claims, keeps its barrier and
//! counts the iterations not run; with cancellation disabled (the default,
//! `OMP_CANCELLATION` unset or false) every request is ignored.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::config::Config;
use phalanx::team::RegionOutcome;
use phalanx::{RegionError, Schedule, Team, WaitPolicy};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

fn team(n: usize, policy: WaitPolicy) -> Team {
    Team::builder().num_threads(n).wait_policy(policy).cancellation(true).build().unwrap()
}

#[test]
fn cancel_parallel_releases_every_thread_and_is_reported() {
    let _w = watchdog(60, "cancel_parallel_releases_every_thread_and_is_reported");
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::Spin] {
        for n in [1, 2, 4] {
            let t = team(n, policy);
            let after = AtomicUsize::new(0);
            let out = t.parallel_outcome(|ctx| {
                if ctx.thread_num() == n - 1 {
                    ctx.cancel_parallel();
                    unreachable!("cancel_parallel returned with cancellation enabled");
                }
                ctx.barrier();
                after.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(
                out.unwrap(),
                RegionOutcome::Cancelled { by: n - 1, skipped_iterations: 0, skipped_tasks: 0 },
                "{policy} n={n}"
            );
            assert_eq!(after.into_inner(), 0, "nobody passed the barrier of a cancelled region");
            // The next region is a normal one.
            let out = t.parallel_outcome(|ctx| ctx.barrier());
            assert_eq!(out.unwrap(), RegionOutcome::Completed);
            // `parallel` treats a cancelled region as finished, not failed.
            t.parallel(|ctx| {
                if ctx.thread_num() == 0 {
                    ctx.cancel_parallel();
                }
                ctx.barrier();
            });
        }
    }
}

#[test]
fn cancellation_point_leaves_and_loops_count_skipped_iterations() {
    let _w = watchdog(60, "cancellation_point_leaves_and_loops_count_skipped_iterations");
    let t = team(2, WaitPolicy::default());
    for s in [Schedule::Dynamic(1), Schedule::StaticChunk(2), Schedule::Guided(1)] {
        let hits: Vec<AtomicU8> = (0..500).map(|_| AtomicU8::new(0)).collect();
        let out = t.parallel_outcome(|ctx| {
            if ctx.thread_num() == 1 {
                ctx.cancel_parallel();
            }
            // Thread 0: it may or may not see the cancellation before some chunks.
            ctx.for_each_nowait(0..500, s, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            // Thread 0 leaves at a cancellation point once thread 1 cancelled
            // (a bounded wait: the watchdog turns a miss into a failure).
            loop {
                ctx.cancellation_point();
                std::thread::yield_now();
            }
        });
        let ran = hits.iter().filter(|h| h.load(Ordering::Relaxed) == 1).count();
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) <= 1), "{s}: an iteration ran twice");
        match out.unwrap() {
            RegionOutcome::Cancelled { by: 1, skipped_iterations, .. } => {
                // Thread 1 never reached the loop: under static,2 its chunks
                // are neither run nor counted; under dynamic, thread 0 claims
                // everything, running or skipping it.
                let owned = if let Schedule::StaticChunk(_) = s { 250 } else { 500 };
                assert_eq!(ran as u64 + skipped_iterations, owned, "{s}: ran {ran} skipped {skipped_iterations}");
            }
            other => panic!("{s}: expected Cancelled by 1, got {other:?}"),
        }
    }
}

#[test]
fn cancel_for_stops_the_loop_keeps_its_barrier_and_counts() {
    let _w = watchdog(60, "cancel_for_stops_the_loop_keeps_its_barrier_and_counts");
    for policy in [WaitPolicy::default(), WaitPolicy::Block] {
        let t = team(3, policy);
        for s in [Schedule::Dynamic(1), Schedule::Dynamic(7), Schedule::Guided(2), Schedule::StaticChunk(3)] {
            let hits: Vec<AtomicU8> = (0..3000).map(|_| AtomicU8::new(0)).collect();
            let after = AtomicUsize::new(0);
            let out = t.parallel_outcome(|ctx| {
                ctx.for_each(0..3000, s, |i| {
                    if i == 5 && ctx.cancel_for() {
                        return;
                    }
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                // The loop's barrier held, and the region goes on.
                after.fetch_add(1, Ordering::Relaxed);
                ctx.barrier();
                assert_eq!(after.load(Ordering::Relaxed), 3);
            });
            let ran = hits.iter().filter(|h| h.load(Ordering::Relaxed) == 1).count() as u64;
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) <= 1), "{s}: an iteration ran twice");
            match out.unwrap() {
                RegionOutcome::ConstructsCancelled { skipped_iterations, .. } => {
                    // Iteration 5 returned early: neither ran nor skipped.
                    assert_eq!(ran + 1 + skipped_iterations, 3000, "{policy} {s}");
                    assert!(skipped_iterations > 0, "{policy} {s}: nothing was skipped");
                }
                other => panic!("{policy} {s}: expected ConstructsCancelled, got {other:?}"),
            }
        }
    }
}

#[test]
fn disabled_cancellation_ignores_requests() {
    let _w = watchdog(60, "disabled_cancellation_ignores_requests");
    let t = Team::builder().num_threads(2).env_config(Config::default()).build().unwrap();
    assert!(!t.cancellation());
    let ran = AtomicUsize::new(0);
    let out = t.parallel_outcome(|ctx| {
        ctx.cancel_parallel();
        ctx.for_each(0..100, Schedule::Dynamic(1), |_| {
            assert!(!ctx.cancel_for());
            assert!(!ctx.loop_cancelled());
            ran.fetch_add(1, Ordering::Relaxed);
        });
        ctx.cancellation_point();
        ctx.barrier();
    });
    assert_eq!(out.unwrap(), RegionOutcome::Completed);
    assert_eq!(ran.into_inner(), 100);
}

#[test]
fn omp_cancellation_is_parsed_with_named_errors() {
    let parse = |v: &str| Config::from_lookup(|k| (k == "OMP_CANCELLATION").then(|| v.to_string()));
    assert_eq!(parse("true").unwrap().cancellation, Some(true));
    assert_eq!(parse(" FALSE ").unwrap().cancellation, Some(false));
    assert_eq!(parse("").unwrap().cancellation, None);
    let e = parse("yes").unwrap_err();
    assert_eq!((e.name(), e.value()), ("OMP_CANCELLATION", "yes"));
    assert!(e.to_string().contains("true or false"), "{e}");
    let cfg = parse("true").unwrap();
    let t = Team::builder().num_threads(2).env_config(cfg).build().unwrap();
    assert!(t.cancellation());
    let t = Team::builder().num_threads(2).env_config(parse("true").unwrap()).cancellation(false).build().unwrap();
    assert!(!t.cancellation(), "explicit beats the environment");
}

#[test]
fn panic_inside_a_cancelled_loop_is_reported() {
    quiet_boom_panics();
    let _w = watchdog(60, "panic_inside_a_cancelled_loop_is_reported");
    let t = team(2, WaitPolicy::default());
    let r = t.parallel_outcome(|ctx| {
        ctx.for_each(0..100, Schedule::Dynamic(1), |i| {
            if i == 3 {
                ctx.cancel_for();
                panic!("boom after cancel");
            }
        });
    });
    match r {
        Err(RegionError::Panicked { message, .. }) => assert!(message.contains("boom after cancel")),
        other => panic!("expected the panic, got {other:?}"),
    }
}

#[test]
fn cancel_for_in_an_ordered_loop_is_refused() {
    let t = team(1, WaitPolicy::default());
    let r = t.parallel_outcome(|ctx| {
        ctx.for_each_ordered(0..3, Schedule::Static, |_, _| {
            ctx.cancel_for();
        })
    });
    match r {
        Err(RegionError::Panicked { message, .. }) => assert!(message.contains("ordered loop"), "{message}"),
        other => panic!("expected the refusal, got {other:?}"),
    }
}

#[test]
fn cancel_taskgroup_drops_unstarted_tasks_and_counts_them() {
    let _w = watchdog(60, "cancel_taskgroup_drops_unstarted_tasks_and_counts_them");
    for n in [1, 2, 3] {
        let t = Team::builder().num_threads(n).cancellation(true).max_queued_tasks(usize::MAX).build().unwrap();
        let ran = AtomicUsize::new(0);
        let dropped = AtomicUsize::new(0);
        struct CountDrop<'a>(&'a AtomicUsize);
        impl Drop for CountDrop<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let out = t.parallel_outcome(|ctx| {
            ctx.single(|| {
                ctx.taskgroup(|ctx| {
                    for _ in 0..200 {
                        let (ran, guard) = (&ran, CountDrop(&dropped));
                        ctx.task(move |_| {
                            let _g = guard;
                            ran.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                    assert!(ctx.cancel_taskgroup());
                    assert!(ctx.taskgroup_cancelled());
                    // Created after the cancellation: never run.
                    let ran = &ran;
                    ctx.task(move |_| {
                        ran.fetch_add(1000, Ordering::Relaxed);
                    });
                });
                // Outside the group: not cancelled.
                assert!(!ctx.taskgroup_cancelled());
            });
        });
        let (ran, dropped) = (ran.into_inner(), dropped.into_inner());
        assert!(ran < 1000, "n={n}: a task created after the cancellation ran");
        assert_eq!(dropped, 200, "n={n}: every closure dropped once, run or not");
        match out.unwrap() {
            RegionOutcome::ConstructsCancelled { skipped_tasks, skipped_iterations: 0 } => {
                assert_eq!(ran as u64 + skipped_tasks, 201, "n={n}: ran {ran} + skipped {skipped_tasks}");
                if n == 1 {
                    assert_eq!(skipped_tasks, 201, "one thread: nothing started before the cancellation");
                }
            }
            other => panic!("n={n}: expected ConstructsCancelled, got {other:?}"),
        }
    }
    // Disabled: a no-op.
    let t = Team::builder().num_threads(1).env_config(Config::default()).build().unwrap();
    let ran = AtomicUsize::new(0);
    let out = t.parallel_outcome(|ctx| {
        ctx.taskgroup(|ctx| {
            let ran = &ran;
            ctx.task(move |_| {
                ran.fetch_add(1, Ordering::Relaxed);
            });
            assert!(!ctx.cancel_taskgroup());
        })
    });
    assert_eq!((out.unwrap(), ran.into_inner()), (RegionOutcome::Completed, 1));
}
