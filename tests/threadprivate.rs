//! `threadprivate` / `copyin` / `lastprivate` / the thread start hook: what a
//! porter observes. Slot `t` of a `ThreadPrivate` is used only by thread `t`
//! and keeps its value across regions; `copyin` gives every thread thread
//! 0's value; `for_each_lastprivate` returns the sequentially last
//! iteration's value under every schedule; `on_thread_start` runs once per
//! team thread, on that thread, before the first region.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::team::ThreadPrivate;
use phalanx::{BuildError, Schedule, Team};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[test]
fn threadprivate_persists_per_thread_across_regions() {
    let _w = watchdog(60, "threadprivate_persists_per_thread_across_regions");
    let team = Team::builder().num_threads(3).build().unwrap();
    // Each slot records which OS thread used it, and how often.
    let tp = ThreadPrivate::new(3, |_| (None::<std::thread::ThreadId>, 0u32));
    for _ in 0..5 {
        team.parallel(|ctx| {
            tp.with(ctx, |(id, count)| {
                let me = std::thread::current().id();
                assert_eq!(*id.get_or_insert(me), me, "slot {} used by two OS threads", ctx.thread_num());
                *count += 1;
            });
            ctx.barrier();
        });
    }
    let v = tp.into_inner();
    assert!(v.iter().all(|&(_, c)| c == 5), "{v:?}");
    let ids: std::collections::HashSet<_> = v.iter().map(|(id, _)| id.unwrap()).collect();
    assert_eq!(ids.len(), 3, "three distinct threads");
}

#[test]
fn copyin_copies_thread_zeros_value() {
    let _w = watchdog(60, "copyin_copies_thread_zeros_value");
    let team = Team::builder().num_threads(4).build().unwrap();
    let mut tp = ThreadPrivate::new(4, |t| vec![t; 3]);
    *tp.get_mut(0).unwrap() = vec![42];
    team.parallel(|ctx| {
        tp.copyin(ctx);
        tp.with(ctx, |v| {
            assert_eq!(v, &vec![42]);
            v.push(ctx.thread_num());
        });
    });
    assert_eq!(tp.into_inner(), vec![vec![42, 0], vec![42, 1], vec![42, 2], vec![42, 3]]);
}

#[test]
fn too_few_slots_is_named() {
    let team = Team::builder().num_threads(2).build().unwrap();
    let tp = ThreadPrivate::new(1, |_| 0);
    let r = team.try_parallel(|ctx| tp.with(ctx, |v| *v += 1));
    match r {
        Err(phalanx::RegionError::Panicked { thread: 1, message, .. }) => {
            assert!(message.contains("1 slots used by thread 1"), "{message}")
        }
        other => panic!("expected thread 1's panic, got {other:?}"),
    }
}

#[test]
fn lastprivate_is_the_last_iteration_under_every_schedule() {
    let _w = watchdog(60, "lastprivate_is_the_last_iteration_under_every_schedule");
    for n in [1, 2, 3] {
        let team = Team::builder().num_threads(n).build().unwrap();
        for s in [
            Schedule::Static,
            Schedule::StaticChunk(1),
            Schedule::StaticChunk(4),
            Schedule::Dynamic(1),
            Schedule::Dynamic(5),
            Schedule::Guided(2),
            Schedule::Runtime,
        ] {
            for (lo, hi) in [(0usize, 1usize), (3, 40), (10, 11), (0, 0), (7, 3)] {
                let runs = AtomicUsize::new(0);
                let got = team.parallel_collect(|ctx| {
                    ctx.for_each_lastprivate(lo..hi, s, |i| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        (i, i * 3)
                    })
                });
                let want = (hi > lo).then(|| (hi - 1, (hi - 1) * 3));
                assert!(got.iter().all(|g| *g == want), "n={n} {s} {lo}..{hi}: {got:?}");
                assert_eq!(runs.into_inner(), hi.saturating_sub(lo), "every iteration ran once");
            }
        }
    }
}

thread_local! {
    static STARTED_AS: Cell<Option<usize>> = const { Cell::new(None) };
}

#[test]
fn start_hook_runs_once_per_thread_on_that_thread() {
    let _w = watchdog(60, "start_hook_runs_once_per_thread_on_that_thread");
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = Arc::clone(&calls);
    let team = Team::builder()
        .num_threads(3)
        .on_thread_start(move |tid| {
            STARTED_AS.with(|s| s.set(Some(tid)));
            c.lock().unwrap().push(tid);
        })
        .build()
        .unwrap();
    let mut v = calls.lock().unwrap().clone();
    v.sort();
    assert_eq!(v, vec![0, 1, 2], "every hook ran before build returned");
    for _ in 0..3 {
        team.parallel(|ctx| {
            assert_eq!(STARTED_AS.with(Cell::get), Some(ctx.thread_num()), "hook ran on this thread");
        });
    }
    assert_eq!(calls.lock().unwrap().len(), 3, "once per thread, not per region");
}

#[test]
fn panicking_start_hook_fails_build_naming_the_thread() {
    quiet_boom_panics();
    let _w = watchdog(60, "panicking_start_hook_fails_build_naming_the_thread");
    for bad in [0, 2] {
        let r = Team::builder()
            .num_threads(3)
            .on_thread_start(move |tid| {
                if tid == bad {
                    panic!("boom in hook {tid}");
                }
            })
            .build();
        match r {
            Err(e @ BuildError::ThreadStart { .. }) => {
                let BuildError::ThreadStart { thread, ref message } = e else { unreachable!() };
                assert_eq!(thread, bad);
                assert!(message.contains("boom in hook"), "{message}");
                assert!(e.to_string().contains(&format!("thread {bad}")), "{e}");
            }
            Err(other) => panic!("expected ThreadStart, got {other}"),
            Ok(_) => panic!("expected ThreadStart, got a team"),
        }
    }
}
