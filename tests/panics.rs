//! Failures: a panic in any construct is reported with its thread number and
//! releases every other thread; a thread that leaves early is reported as a
//! divergence naming it and the barrier; the team stays usable.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{RegionError, Schedule, Team};
use std::sync::atomic::{AtomicUsize, Ordering};

fn team(n: usize) -> Team {
    Team::builder().num_threads(n).build().expect("team")
}

/// The team still runs a full region with a barrier and a loop.
fn assert_usable(t: &Team) {
    let count = AtomicUsize::new(0);
    t.parallel(|ctx| {
        ctx.barrier();
        ctx.for_each(0..100, Schedule::Dynamic(3), |_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        ctx.barrier();
    });
    assert_eq!(count.load(Ordering::Relaxed), 100);
}

fn expect_panic(r: Result<(), RegionError>, thread: usize, what: &str) {
    match r {
        Err(RegionError::Panicked { thread: t, message, .. }) => {
            assert_eq!(t, thread, "{what}: wrong thread");
            assert!(message.starts_with("boom"), "{what}: message {message:?}");
        }
        other => panic!("{what}: expected a panic of thread {thread}, got {other:?}"),
    }
}

#[test]
fn panic_in_region_body_is_reported_with_its_thread() {
    quiet_boom_panics();
    let _w = watchdog(30, "panic_in_region_body");
    for n in [1, 2, 4] {
        let t = team(n);
        for culprit in 0..n {
            let r = t.try_parallel(|ctx| {
                if ctx.thread_num() == culprit {
                    panic!("boom from {culprit}");
                }
                // Everybody else waits: must be released.
                ctx.barrier();
                ctx.barrier();
            });
            expect_panic(r, culprit, "region body");
            assert_usable(&t);
        }
    }
}

#[test]
fn panic_in_every_construct() {
    quiet_boom_panics();
    let _w = watchdog(40, "panic_in_every_construct");
    let t = team(3);
    type Body = fn(&phalanx::Ctx<'_>);
    let cases: [(&str, Body, usize); 6] = [
        (
            "master",
            |ctx| {
                ctx.master(|| panic!("boom in master"));
                ctx.barrier();
            },
            0,
        ),
        (
            "single",
            |ctx| {
                let _: u32 = ctx.single(|| panic!("boom in single"));
            },
            usize::MAX,
        ),
        (
            "critical",
            |ctx| {
                ctx.critical(|| {
                    if ctx.thread_num() == 2 {
                        panic!("boom in critical")
                    }
                });
                ctx.barrier();
            },
            2,
        ),
        (
            "for_each body",
            |ctx| {
                ctx.for_each(0..30, Schedule::Static, |i| {
                    if i == 29 {
                        panic!("boom in for_each")
                    }
                })
            },
            2,
        ),
        (
            "reduce",
            |ctx| {
                let _ = ctx.reduce(
                    0..30,
                    Schedule::Static,
                    0,
                    |a, i| if i == 0 { panic!("boom in reduce") } else { a + i },
                    |a, b| a + b,
                );
            },
            0,
        ),
        (
            "at barrier",
            |ctx| {
                ctx.barrier();
                if ctx.thread_num() == 1 {
                    panic!("boom after barrier");
                }
                ctx.barrier();
            },
            1,
        ),
    ];
    for (what, body, thread) in cases {
        let r = t.try_parallel(body);
        match (thread, r) {
            // `single` runs on whichever thread arrives first.
            (usize::MAX, Err(RegionError::Panicked { thread, message, .. })) => {
                assert!(thread < 3 && message.starts_with("boom"), "{what}")
            }
            (_, r) => expect_panic(r, thread, what),
        }
        assert_usable(&t);
    }
}

#[test]
fn parallel_reraises_the_original_payload() {
    quiet_boom_panics();
    let _w = watchdog(20, "parallel_reraises_the_original_payload");
    let t = team(2);
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        t.parallel(|ctx| {
            if ctx.thread_num() == 1 {
                std::panic::panic_any(Custom(42));
            }
            ctx.barrier();
        })
    }));
    let payload = r.expect_err("must re-raise");
    assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(42)));
    assert_usable(&t);
}

#[test]
fn first_real_panic_wins_over_released_threads() {
    quiet_boom_panics();
    let _w = watchdog(30, "first_real_panic_wins");
    let t = team(4);
    for _ in 0..20 {
        let r = t.try_parallel(|ctx| {
            if ctx.thread_num() == 3 {
                panic!("boom 3");
            }
            for _ in 0..3 {
                ctx.barrier();
            }
        });
        expect_panic(r, 3, "released threads must not be reported");
    }
    assert_usable(&t);
}

#[test]
fn thread_leaving_early_is_reported_as_divergence() {
    let _w = watchdog(30, "thread_leaving_early");
    let t = team(2);
    let mut line = 0;
    for _ in 0..20 {
        let r = t.try_parallel(|ctx| {
            if ctx.thread_num() == 1 {
                return; // leaves without reaching the barrier
            }
            ctx.barrier();
        });
        line = line!() - 2; // the `ctx.barrier()` two lines up
        match r {
            Err(RegionError::Diverged { left, waiting, waiting_at }) => {
                assert_eq!(left, 1);
                assert_eq!(waiting, 0);
                assert_eq!(waiting_at.file(), file!());
                assert_eq!(waiting_at.line(), line);
                let msg = RegionError::Diverged { left, waiting, waiting_at }.to_string();
                assert!(msg.contains("thread 1") && msg.contains(&format!("{}:{line}", file!())), "{msg}");
            }
            other => panic!("expected a divergence, got {other:?}"),
        }
        assert_usable(&t);
    }
    assert!(line > 0);
}

#[test]
fn master_leaving_early_releases_workers() {
    let _w = watchdog(30, "master_leaving_early");
    let t = team(3);
    let r = t.try_parallel(|ctx| {
        if !ctx.is_master() {
            ctx.for_each(0..10, Schedule::Static, |_| {});
        }
    });
    match r {
        Err(RegionError::Diverged { left: 0, waiting, .. }) => assert!(waiting == 1 || waiting == 2),
        other => panic!("expected thread 0 to be named, got {other:?}"),
    }
    assert_usable(&t);
}

#[test]
fn parallel_panics_with_the_divergence_message() {
    let _w = watchdog(20, "parallel_panics_with_the_divergence_message");
    let t = team(2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        t.parallel(|ctx| {
            if ctx.thread_num() == 0 {
                ctx.barrier();
            }
        })
    }));
    let p = r.expect_err("must panic");
    let msg = p.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.contains("thread 1 left"), "{msg}");
    assert_usable(&t);
}

#[test]
fn nested_region_panic_propagates_to_the_outer_region() {
    quiet_boom_panics();
    let _w = watchdog(20, "nested_region_panic");
    let t = team(2);
    let r = t.try_parallel(|ctx| {
        if ctx.thread_num() == 1 {
            t.parallel(|_| panic!("boom nested"));
        }
        ctx.barrier();
    });
    expect_panic(r, 1, "nested");
    assert_usable(&t);
}

#[test]
fn failures_interleaved_with_good_regions_under_every_blocking_policy() {
    quiet_boom_panics();
    let _w = watchdog(60, "failures_interleaved");
    let rounds = if cfg!(miri) { 2 } else { 40 };
    for policy in [phalanx::WaitPolicy::Block, phalanx::WaitPolicy::default(), phalanx::WaitPolicy::SpinYield] {
        for n in [2, 3] {
            let t = Team::builder().num_threads(n).wait_policy(policy).build().unwrap();
            for round in 0..rounds {
                let culprit = round % n;
                match round % 3 {
                    0 => {
                        let r = t.try_parallel(|ctx| {
                            if ctx.thread_num() == culprit {
                                return;
                            }
                            ctx.barrier();
                        });
                        match r {
                            Err(RegionError::Diverged { left, .. }) => assert_eq!(left, culprit, "{policy} n={n}"),
                            other => panic!("{policy} n={n}: expected divergence, got {other:?}"),
                        }
                    }
                    1 => {
                        let r = t.try_parallel(|ctx| {
                            ctx.barrier();
                            if ctx.thread_num() == culprit {
                                panic!("boom {culprit}");
                            }
                            ctx.barrier();
                        });
                        expect_panic(r, culprit, "interleaved panic");
                    }
                    _ => assert_usable(&t),
                }
            }
            assert_usable(&t);
        }
    }
}
