//! Team and region constructs: every `Ctx` method, nested regions, concurrent
//! callers, team sizes, the global team.

mod common;

use common::watchdog;
use phalanx::{BarrierKind, Schedule, Team, WaitPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn team(n: usize) -> Team {
    Team::builder().num_threads(n).build().expect("team")
}

#[test]
fn every_thread_runs_once_with_its_number() {
    let _w = watchdog(30, "every_thread_runs_once_with_its_number");
    for n in [1, 2, 4, 8, 64] {
        let t = team(n);
        assert_eq!(t.num_threads(), n);
        let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..3 {
            t.parallel(|ctx| {
                assert_eq!(ctx.num_threads(), n);
                assert_eq!(ctx.is_master(), ctx.thread_num() == 0);
                seen[ctx.thread_num()].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 3), "n = {n}: {seen:?}");
    }
}

#[test]
fn master_thread_is_the_caller() {
    let _w = watchdog(20, "master_thread_is_the_caller");
    let t = team(3);
    let me = std::thread::current().id();
    t.parallel(|ctx| assert_eq!(std::thread::current().id() == me, ctx.is_master()));
}

#[test]
fn barrier_separates_phases() {
    let _w = watchdog(30, "barrier_separates_phases");
    for n in [2, 4, 8] {
        let t = team(n);
        let count = AtomicUsize::new(0);
        t.parallel(|ctx| {
            for round in 1..=20 {
                count.fetch_add(1, Ordering::Relaxed);
                ctx.barrier();
                assert_eq!(count.load(Ordering::Relaxed), round * n);
                ctx.barrier();
            }
        });
    }
}

#[test]
fn master_runs_only_on_thread_zero() {
    let _w = watchdog(20, "master_runs_only_on_thread_zero");
    let t = team(4);
    let who = Mutex::new(Vec::new());
    t.parallel(|ctx| {
        let r = ctx.master(|| who.lock().unwrap().push(ctx.thread_num()));
        assert_eq!(r.is_some(), ctx.is_master());
    });
    assert_eq!(*who.lock().unwrap(), vec![0]);
}

#[test]
fn single_runs_once_and_copies_to_everyone() {
    let _w = watchdog(30, "single_runs_once_and_copies_to_everyone");
    for n in [1, 2, 3, 8] {
        let t = team(n);
        let runs = AtomicUsize::new(0);
        let got = Mutex::new(Vec::new());
        t.parallel(|ctx| {
            for k in 0..10 {
                let v = ctx.single(|| {
                    runs.fetch_add(1, Ordering::Relaxed);
                    format!("value {k}")
                });
                got.lock().unwrap().push(v);
            }
        });
        assert_eq!(runs.load(Ordering::Relaxed), 10, "n = {n}");
        let got = got.into_inner().unwrap();
        assert_eq!(got.len(), 10 * n);
        for k in 0..10 {
            assert_eq!(got.iter().filter(|v| **v == format!("value {k}")).count(), n);
        }
    }
}

#[test]
fn single_nowait_runs_once() {
    let _w = watchdog(20, "single_nowait_runs_once");
    let t = team(4);
    let runs = AtomicUsize::new(0);
    let somes = AtomicUsize::new(0);
    t.parallel(|ctx| {
        for _ in 0..50 {
            if ctx.single_nowait(|| runs.fetch_add(1, Ordering::Relaxed)).is_some() {
                somes.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    assert_eq!(runs.load(Ordering::Relaxed), 50);
    assert_eq!(somes.load(Ordering::Relaxed), 50);
}

#[test]
fn critical_sections_exclude_each_other() {
    let _w = watchdog(30, "critical_sections_exclude_each_other");
    let t = team(4);
    let inside = AtomicUsize::new(0);
    let named_inside = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    t.parallel(|ctx| {
        for _ in 0..200 {
            ctx.critical(|| {
                assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two threads in critical");
                total.fetch_add(1, Ordering::Relaxed);
                inside.fetch_sub(1, Ordering::Relaxed);
            });
            ctx.critical_named("a", || {
                assert_eq!(named_inside.fetch_add(1, Ordering::Relaxed), 0, "two threads in critical(a)");
                named_inside.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 800);
}

#[test]
fn differently_named_criticals_do_not_exclude() {
    let _w = watchdog(20, "differently_named_criticals_do_not_exclude");
    let t = team(2);
    // Thread 0 holds "a" until thread 1 got through "b": would deadlock if
    // the two names shared a lock.
    let b_done = AtomicUsize::new(0);
    t.parallel(|ctx| {
        if ctx.is_master() {
            ctx.critical_named("a", || {
                while b_done.load(Ordering::Acquire) == 0 {
                    std::hint::spin_loop();
                }
            });
        } else {
            ctx.critical_named("b", || b_done.store(1, Ordering::Release));
        }
    });
}

#[test]
fn sections_run_each_once() {
    let _w = watchdog(20, "sections_run_each_once");
    for n in [1, 2, 3, 8] {
        let t = team(n);
        let hits: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
        t.parallel(|ctx| {
            let s0 = || {
                hits[0].fetch_add(1, Ordering::Relaxed);
            };
            let s1 = || {
                hits[1].fetch_add(1, Ordering::Relaxed);
            };
            let s2 = || {
                hits[2].fetch_add(1, Ordering::Relaxed);
            };
            let s3 = || {
                hits[3].fetch_add(1, Ordering::Relaxed);
            };
            let s4 = || {
                hits[4].fetch_add(1, Ordering::Relaxed);
            };
            ctx.sections(&[&s0, &s1, &s2, &s3, &s4]);
            // Implicit barrier: every section is done here.
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        });
    }
}

#[test]
fn reduce_gives_everyone_the_total() {
    let _w = watchdog(30, "reduce_gives_everyone_the_total");
    for n in [1, 2, 3, 8] {
        let t = team(n);
        for s in [Schedule::Static, Schedule::StaticChunk(3), Schedule::Dynamic(2), Schedule::Guided(1)] {
            t.parallel(|ctx| {
                for len in [0usize, 1, 7, 100] {
                    let sum = ctx.reduce(0..len, s, 0u64, |a, i| a + i as u64, |a, b| a + b);
                    assert_eq!(sum, (len as u64) * (len as u64).saturating_sub(1) / 2, "n={n} {s} len={len}");
                }
            });
            let v = t.parallel_reduce(
                5..10,
                s,
                Vec::new(),
                |mut a, i| {
                    a.push(i);
                    a
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
            );
            let mut sorted = v.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![5, 6, 7, 8, 9]);
            if matches!(s, Schedule::Static) {
                assert_eq!(v, sorted, "static blocks combined in thread order keep index order");
            }
        }
    }
}

#[test]
fn parallel_for_covers_the_range() {
    let _w = watchdog(20, "parallel_for_covers_the_range");
    let t = team(3);
    let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
    t.parallel_for(0..1000, Schedule::Dynamic(7), |i| {
        hits[i].fetch_add(1, Ordering::Relaxed);
    });
    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
}

#[test]
fn nested_parallel_runs_on_one_thread() {
    let _w = watchdog(20, "nested_parallel_runs_on_one_thread");
    let t = team(3);
    let inner_runs = AtomicUsize::new(0);
    t.parallel(|ctx| {
        let outer = ctx.thread_num();
        t.parallel(|inner| {
            assert_eq!(inner.num_threads(), 1);
            assert_eq!(inner.thread_num(), 0);
            inner.barrier();
            let v = inner.single(|| outer);
            assert_eq!(v, outer);
            inner_runs.fetch_add(1, Ordering::Relaxed);
        });
        ctx.barrier();
    });
    assert_eq!(inner_runs.load(Ordering::Relaxed), 3);
}

#[test]
fn two_os_threads_share_one_team() {
    let _w = watchdog(40, "two_os_threads_share_one_team");
    let t = team(2);
    let total = AtomicUsize::new(0);
    let rounds = if cfg!(miri) { 5 } else { 200 };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..rounds {
                    t.parallel(|ctx| {
                        total.fetch_add(1, Ordering::Relaxed);
                        ctx.barrier();
                    });
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 2 * rounds * 2);
}

#[test]
fn every_policy_and_barrier_kind_runs_regions() {
    let _w = watchdog(40, "every_policy_and_barrier_kind_runs_regions");
    for policy in WaitPolicy::all() {
        for kind in BarrierKind::ALL {
            let t = Team::builder().num_threads(2).wait_policy(policy).barrier(kind).build().unwrap();
            let count = AtomicUsize::new(0);
            for _ in 0..5 {
                t.parallel(|ctx| {
                    ctx.for_each(0..10, Schedule::Dynamic(1), |_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                });
            }
            assert_eq!(count.load(Ordering::Relaxed), 50, "{policy} {kind}");
        }
    }
}

#[test]
fn oversubscribed_team_with_default_policy() {
    let _w = watchdog(60, "oversubscribed_team_with_default_policy");
    let t = team(64);
    let count = AtomicUsize::new(0);
    for _ in 0..3 {
        t.parallel(|ctx| {
            ctx.barrier();
            let v = ctx.single(|| 7usize);
            ctx.for_each(0..640, Schedule::Guided(2), |_| {
                count.fetch_add(v, Ordering::Relaxed);
            });
        });
    }
    assert_eq!(count.load(Ordering::Relaxed), 3 * 640 * 7);
}

#[test]
fn builder_options_and_errors() {
    let _w = watchdog(20, "builder_options_and_errors");
    let e = Team::builder().num_threads(0).build().unwrap_err().to_string();
    assert!(e.contains("num_threads = 0"), "{e}");
    let e = Team::builder().schedule(Schedule::Dynamic(0)).build().unwrap_err().to_string();
    assert!(e.contains("chunk = 0"), "{e}");
    let t = Team::builder().num_threads(3).stack_size(256 * 1024).pin_threads(true).build().unwrap();
    let n = AtomicUsize::new(0);
    t.parallel(|_| {
        n.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(n.load(Ordering::Relaxed), 3);
}

#[test]
fn wait_stats_add_up_per_thread() {
    let _w = watchdog(20, "wait_stats_add_up_per_thread");
    let t = Team::builder().num_threads(2).wait_policy(WaitPolicy::Spin).build().unwrap();
    let before = t.wait_stats().waits;
    let mine = AtomicUsize::new(0);
    t.parallel(|ctx| {
        let start = ctx.wait_stats().waits;
        for _ in 0..10 {
            ctx.barrier();
        }
        mine.fetch_add((ctx.wait_stats().waits - start) as usize, Ordering::Relaxed);
    });
    // At every barrier crossing the first to arrive waits (the last passes).
    let waited = mine.load(Ordering::Relaxed) as u64;
    assert!(waited >= 10, "{waited} waits for 10 crossings");
    assert!(t.wait_stats().waits >= before + waited, "{:?}", t.wait_stats());
}

#[test]
fn global_team_and_wtime() {
    let _w = watchdog(20, "global_team_and_wtime");
    let n = AtomicUsize::new(0);
    phalanx::parallel(|ctx| {
        assert_eq!(ctx.num_threads(), phalanx::global_team().num_threads());
        n.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(n.load(Ordering::Relaxed), phalanx::global_team().num_threads());
    let a = phalanx::wtime();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let b = phalanx::wtime();
    assert!(b > a && a >= 0.0);
}

#[test]
fn critical_is_program_wide_even_in_nested_regions() {
    let _w = watchdog(20, "critical_is_program_wide_even_in_nested_regions");
    let t = team(2);
    let other = team(2);
    let inside = AtomicUsize::new(0);
    let body = |ctx: &phalanx::Ctx<'_>| {
        for _ in 0..100 {
            ctx.critical(|| {
                assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two threads in critical");
                inside.fetch_sub(1, Ordering::Relaxed);
            });
        }
    };
    std::thread::scope(|s| {
        s.spawn(|| other.parallel(body));
        // Each thread of `t` runs a nested (one-thread) region.
        t.parallel(|_| t.parallel(body));
    });
}
