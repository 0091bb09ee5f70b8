//! Ordered loops (`Ctx::for_each_ordered`): under every schedule and team
//! size, every iteration runs exactly once, the ordered parts run in
//! iteration order (including iterations that skip theirs), the threads
//! that ran them are the threads the schedule gave the iteration to, and a
//! failure anywhere releases threads waiting for their turn.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{RegionError, Schedule, Team, WaitPolicy};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

fn schedules() -> Vec<Schedule> {
    vec![
        Schedule::Static,
        Schedule::StaticChunk(1),
        Schedule::StaticChunk(3),
        Schedule::Dynamic(1),
        Schedule::Dynamic(4),
        Schedule::Guided(1),
        Schedule::Guided(2),
        Schedule::Runtime,
        Schedule::Auto,
    ]
}

#[test]
fn ordered_parts_run_in_iteration_order_under_every_schedule() {
    let _w = watchdog(120, "ordered_parts_run_in_iteration_order_under_every_schedule");
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::SpinYield] {
        for n in [1, 2, 3, 4] {
            let team = Team::builder().num_threads(n).wait_policy(policy).build().unwrap();
            for s in schedules() {
                for (lo, len) in [(0, 0), (0, 1), (7, 2), (3, 57), (100, 200)] {
                    let log = Mutex::new(Vec::new());
                    let runs: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
                    let who: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(usize::MAX)).collect();
                    // Twice per region: the turn word goes back to 0 between loops.
                    team.parallel(|ctx| {
                        for round in 0..2 {
                            ctx.for_each_ordered(lo..lo + len, s, |i, ord| {
                                let k = i - lo;
                                if round == 0 {
                                    runs[k].fetch_add(1, Ordering::Relaxed);
                                    who[k].store(ctx.thread_num(), Ordering::Relaxed);
                                }
                                // Every third iteration has no ordered part.
                                if k % 3 != 1 {
                                    ord.ordered(|| {
                                        // The ordered part runs on the iteration's thread.
                                        if round == 0 {
                                            assert_eq!(who[k].load(Ordering::Relaxed), ctx.thread_num());
                                        }
                                        log.lock().unwrap().push((round, i));
                                    });
                                }
                            });
                        }
                    });
                    let want: Vec<(i32, usize)> = (0..2)
                        .flat_map(|r| (lo..lo + len).filter(move |i| (i - lo) % 3 != 1).map(move |i| (r, i)))
                        .collect();
                    assert_eq!(log.into_inner().unwrap(), want, "{policy} n={n} {s} {lo}+{len}");
                    for (k, r) in runs.iter().enumerate() {
                        assert_eq!(r.load(Ordering::Relaxed), 1, "iteration {k} {policy} n={n} {s}");
                    }
                    if let Schedule::StaticChunk(c) = s {
                        for (k, t) in who.iter().enumerate() {
                            assert_eq!(t.load(Ordering::Relaxed), (k / c) % n, "static,{c}: iteration {k}");
                        }
                    }
                }
            }
        }
    }
}

/// The unordered part overlaps: with 2 threads and `static,1`, iteration 1's
/// unordered part runs while iteration 0 has not yet run its ordered part.
#[test]
fn unordered_parts_run_concurrently() {
    let _w = watchdog(60, "unordered_parts_run_concurrently");
    let team = Team::builder().num_threads(2).build().unwrap();
    let started = AtomicU32::new(0);
    let seen = AtomicU32::new(0);
    team.parallel(|ctx| {
        ctx.for_each_ordered(0..2, Schedule::StaticChunk(1), |i, ord| {
            started.fetch_add(1, Ordering::SeqCst);
            if i == 0 {
                // Iteration 1 (the other thread) must be able to start before we
                // pass our turn: a loop that serialised whole iterations hangs
                // here until the watchdog fires.
                while started.load(Ordering::SeqCst) < 2 {
                    std::hint::spin_loop();
                }
            }
            ord.ordered(|| seen.fetch_add(1, Ordering::SeqCst));
        })
    });
    assert_eq!(seen.into_inner(), 2);
}

#[test]
fn panic_in_ordered_part_releases_waiters_and_team_stays_usable() {
    quiet_boom_panics();
    let _w = watchdog(120, "panic_in_ordered_part_releases_waiters_and_team_stays_usable");
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::Spin] {
        for s in [Schedule::StaticChunk(1), Schedule::Dynamic(1), Schedule::Static] {
            let team = Team::builder().num_threads(3).wait_policy(policy).build().unwrap();
            for bad in [0usize, 5, 29] {
                let r = team.try_parallel(|ctx| {
                    ctx.for_each_ordered(0..30, s, |i, ord| {
                        ord.ordered(|| {
                            if i == bad {
                                panic!("boom at {i}");
                            }
                        })
                    })
                });
                match r {
                    Err(RegionError::Panicked { message, .. }) => assert!(message.contains("boom"), "{message}"),
                    other => panic!("{policy} {s} bad={bad}: expected the panic, got {other:?}"),
                }
                // A new region starts at turn 0 again.
                let log = Mutex::new(Vec::new());
                team.parallel(|ctx| {
                    ctx.for_each_ordered(0..9, s, |i, ord| ord.ordered(|| log.lock().unwrap().push(i)))
                });
                assert_eq!(log.into_inner().unwrap(), (0..9).collect::<Vec<_>>());
            }
        }
    }
}

/// A panic outside the loop (thread 1 never reaches it) must release thread
/// 0, which waits for iteration 1's turn (thread 1's under `static,1`).
#[test]
fn panic_outside_the_loop_releases_waiters() {
    quiet_boom_panics();
    let _w = watchdog(60, "panic_outside_the_loop_releases_waiters");
    for policy in [WaitPolicy::default(), WaitPolicy::Block, WaitPolicy::Spin] {
        let team = Team::builder().num_threads(2).wait_policy(policy).build().unwrap();
        let r = team.try_parallel(|ctx| {
            if ctx.thread_num() == 1 {
                std::thread::sleep(std::time::Duration::from_millis(5));
                panic!("boom outside");
            }
            ctx.for_each_ordered(0..4, Schedule::StaticChunk(1), |_, ord| ord.ordered(|| ()));
        });
        match r {
            Err(RegionError::Panicked { thread: 1, .. }) => {}
            other => panic!("{policy}: expected thread 1's panic, got {other:?}"),
        }
    }
}

/// A thread that leaves the region instead of joining the loop is reported
/// as a divergence, not a hang.
#[test]
fn thread_that_leaves_is_reported() {
    let _w = watchdog(60, "thread_that_leaves_is_reported");
    for policy in [WaitPolicy::default(), WaitPolicy::Block] {
        let team = Team::builder().num_threads(2).wait_policy(policy).build().unwrap();
        let r = team.try_parallel(|ctx| {
            if ctx.thread_num() == 1 {
                return;
            }
            ctx.for_each_ordered(0..4, Schedule::StaticChunk(1), |_, ord| ord.ordered(|| ()));
        });
        match r {
            Err(RegionError::Diverged { left: 1, waiting: 0, .. }) => {}
            other => panic!("{policy}: expected a divergence, got {other:?}"),
        }
    }
}

#[test]
fn bad_chunk_is_named() {
    let team = Team::builder().num_threads(1).build().unwrap();
    let r = team.try_parallel(|ctx| ctx.for_each_ordered(0..4, Schedule::Dynamic(0), |_, _| ()));
    match r {
        Err(RegionError::Panicked { message, .. }) => assert!(message.contains("chunk = 0"), "{message}"),
        other => panic!("expected the chunk error, got {other:?}"),
    }
    let r = team.try_parallel(|ctx| ctx.for_each_ordered(0..usize::MAX, Schedule::Static, |_, _| ()));
    match r {
        Err(RegionError::Panicked { message, .. }) => {
            assert!(message.contains("ordered loop") && message.contains(&usize::MAX.to_string()), "{message}")
        }
        other => panic!("expected the length error, got {other:?}"),
    }
}
