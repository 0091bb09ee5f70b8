//! The runtime routines without `&Ctx` (`phalanx::thread_num()` and friends)
//! report the innermost region of the calling thread, in helper code, in
//! tasks and in nested regions, and are restored on leaving; `AtomicF64`
//! updates lose nothing.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{AtomicF64, Schedule, Team};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// What deep helper code sees: (thread_num, num_threads, in_parallel, level, active_level).
fn here() -> (usize, usize, bool, usize, usize) {
    (phalanx::thread_num(), phalanx::num_threads(), phalanx::in_parallel(), phalanx::level(), phalanx::active_level())
}

const OUTSIDE: (usize, usize, bool, usize, usize) = (0, 1, false, 0, 0);

#[test]
fn routines_report_the_innermost_region() {
    let _w = watchdog(60, "routines_report_the_innermost_region");
    assert_eq!(here(), OUTSIDE);
    let team = Team::builder().num_threads(3).build().expect("team");
    let seen = Mutex::new(Vec::new());
    team.parallel(|ctx| {
        let t = ctx.thread_num();
        assert_eq!(here(), (t, 3, true, 1, 1), "thread {t} in the region");
        assert_eq!(phalanx::max_threads(), 1, "a nested region would run on one thread");
        // A nested region: one thread, one level deeper, still in parallel.
        team.parallel(|inner| {
            assert_eq!(inner.thread_num(), 0);
            assert_eq!(here(), (0, 1, true, 2, 1), "thread {t} in a nested region");
        });
        assert_eq!(here(), (t, 3, true, 1, 1), "thread {t} after the nested region");
        // Worksharing bodies and tasks: the thread that runs them.
        ctx.for_each(0..30, Schedule::Dynamic(1), |_| assert_eq!(phalanx::thread_num(), t));
        ctx.task(|c| assert_eq!(phalanx::thread_num(), c.thread_num(), "a task reports the thread running it"));
        ctx.taskwait();
        seen.lock().unwrap().push(phalanx::thread_num());
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2], "each thread reported its own number");
    assert_eq!(here(), OUTSIDE, "restored after the region");
    // A one-thread team: a region, but not an active one.
    let solo = Team::builder().num_threads(1).build().expect("team");
    solo.parallel(|_| assert_eq!(here(), (0, 1, false, 1, 0)));
    // Threads that are not in any region.
    std::thread::spawn(|| assert_eq!(here(), OUTSIDE)).join().unwrap();
}

#[test]
fn routines_are_restored_after_a_failed_region() {
    let _w = watchdog(30, "routines_are_restored_after_a_failed_region");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let r = team.try_parallel(|ctx| {
        if ctx.is_master() {
            panic!("boom on the master");
        }
    });
    assert!(r.is_err());
    assert_eq!(here(), OUTSIDE);
    team.parallel(|ctx| assert_eq!(phalanx::thread_num(), ctx.thread_num()));
}

#[test]
fn procs_tick_and_max_threads() {
    assert!(phalanx::num_procs() >= 1);
    let tick = phalanx::wtick();
    assert!(tick > 0.0 && tick < 1e-3, "wtick = {tick}");
    assert!(phalanx::max_threads() >= 1);
}

#[test]
fn atomic_f64_updates_lose_nothing() {
    let _w = watchdog(60, "atomic_f64_updates_lose_nothing");
    let team = Team::builder().num_threads(4).build().expect("team");
    let sum = AtomicF64::new(0.0);
    let hi = AtomicF64::new(f64::NEG_INFINITY);
    let lo = AtomicF64::new(f64::INFINITY);
    let down = AtomicF64::new(1e6);
    team.parallel_for(0..10_000, Schedule::Dynamic(7), |i| {
        let x = i as f64;
        // Relaxed: only the totals matter; the join publishes them.
        sum.fetch_add(x, Ordering::Relaxed);
        hi.fetch_max(x, Ordering::Relaxed);
        lo.fetch_min(x, Ordering::Relaxed);
        down.fetch_sub(1.0, Ordering::Relaxed);
    });
    // Sums of integers below 2^53 are exact in any order.
    assert_eq!(sum.into_inner(), 49_995_000.0);
    assert_eq!(hi.into_inner(), 9_999.0);
    assert_eq!(lo.into_inner(), 0.0);
    assert_eq!(down.into_inner(), 990_000.0);
    let a = AtomicF64::new(1.5);
    assert_eq!(a.swap(2.5, Ordering::Relaxed), 1.5);
    assert_eq!(a.compare_exchange(2.5, 3.0, Ordering::Relaxed, Ordering::Relaxed), Ok(2.5));
    assert_eq!(a.compare_exchange(2.5, 4.0, Ordering::Relaxed, Ordering::Relaxed), Err(3.0));
    assert_eq!(a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |_| None), Err(3.0));
    assert_eq!(a.load(Ordering::Relaxed), 3.0);
}

#[test]
fn parallel_collect_returns_every_threads_value_in_order() {
    let _w = watchdog(30, "parallel_collect_returns_every_threads_value_in_order");
    quiet_boom_panics();
    let team = Team::builder().num_threads(3).build().expect("team");
    let v = team.parallel_collect(|ctx| (ctx.thread_num(), phalanx::thread_num(), String::from("x")));
    assert_eq!(v, vec![(0, 0, "x".into()), (1, 1, "x".into()), (2, 2, "x".into())]);
    // Nested: one thread, one value.
    let nested = team.parallel_collect(|_| team.parallel_collect(|inner| inner.num_threads()));
    assert_eq!(nested, vec![vec![1], vec![1], vec![1]]);
    let r = team.try_parallel_collect(|ctx| {
        if ctx.thread_num() == 2 {
            panic!("boom collect");
        }
        1
    });
    assert_eq!(r.expect_err("thread 2 panicked").thread(), 2);
}

#[test]
fn critical_with_protects_its_value() {
    let _w = watchdog(30, "critical_with_protects_its_value");
    let team = Team::builder().num_threads(3).build().expect("team");
    let hist = phalanx::Critical::new(vec![0u32; 3]);
    team.parallel_for(0..3000, Schedule::Dynamic(5), |i| hist.with(|h| h[i % 3] += 1));
    assert_eq!(hist.into_inner(), vec![1000; 3]);
}
