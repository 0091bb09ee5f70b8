//! Nested regions: `max_active_levels`, the level routines
//! (`ancestor_thread_num`, `team_size`), and the former deadlock of a
//! `std::thread` spawned inside a region that calls `parallel` on the same
//! team.

mod common;

use common::watchdog;
use phalanx::config::Config;
use phalanx::{active_level, ancestor_thread_num, level, team_size, Team};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Used to deadlock: thread 0 holds the team's region lock while it waits
/// for the spawned thread, which waited for that lock.
#[test]
fn std_thread_inside_a_region_does_not_deadlock() {
    let _w = watchdog(20, "std_thread_inside_a_region_does_not_deadlock");
    let team = Team::builder().num_threads(2).build().unwrap();
    let inner_threads = AtomicUsize::new(0);
    team.parallel(|ctx| {
        if ctx.thread_num() == 0 {
            std::thread::scope(|s| {
                s.spawn(|| {
                    team.parallel(|c| {
                        assert_eq!((level(), c.num_threads()), (1, 2), "a top-level region of its own");
                        inner_threads.fetch_add(1, Ordering::Relaxed);
                    })
                });
            });
        }
        ctx.barrier();
    });
    assert_eq!(inner_threads.into_inner(), 2, "the spawned thread's region ran with the team's size");
    // The team itself is still fine.
    assert_eq!(team.parallel_collect(|c| c.thread_num()), vec![0, 1]);
}

/// By default (one active level, as OpenMP) a nested region runs on the
/// calling thread.
#[test]
fn nested_regions_run_alone_by_default() {
    let _w = watchdog(60, "nested_regions_run_alone_by_default");
    let outer = Team::builder().num_threads(2).build().unwrap();
    let inner = Team::builder().num_threads(2).build().unwrap();
    let seen = Mutex::new(Vec::new());
    outer.parallel(|o| {
        let me = o.thread_num();
        inner.parallel(|i| {
            seen.lock().unwrap().push((me, i.num_threads(), level(), active_level(), team_size(2)));
        })
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, vec![(0, 1, 2, 1, Some(1)), (1, 1, 2, 1, Some(1))]);
}

/// With two active levels every outer thread opens a real inner region on
/// its own inner team; every inner thread, workers included, knows its
/// ancestors.
#[test]
fn two_active_levels_nest_for_real() {
    let _w = watchdog(60, "two_active_levels_nest_for_real");
    for outer in [
        Team::builder().num_threads(2).max_active_levels(2).build().unwrap(),
        Team::builder()
            .num_threads(2)
            .env_config(Config { max_active_levels: Some(2), ..Config::default() })
            .build()
            .unwrap(),
    ] {
        let inners: Vec<Team> = (0..2).map(|_| Team::builder().num_threads(3).build().unwrap()).collect();
        let seen = Mutex::new(Vec::new());
        outer.parallel(|o| {
            let me = o.thread_num();
            inners[me].parallel(|i| {
                seen.lock().unwrap().push((
                    me,
                    i.thread_num(),
                    i.num_threads(),
                    level(),
                    active_level(),
                    ancestor_thread_num(1),
                    ancestor_thread_num(2),
                    team_size(1),
                    ancestor_thread_num(3),
                ));
            });
            assert_eq!((level(), ancestor_thread_num(1), ancestor_thread_num(2)), (1, Some(me), None));
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        let want: Vec<_> =
            (0..2).flat_map(|o| (0..3).map(move |t| (o, t, 3, 2, 2, Some(o), Some(t), Some(2), None))).collect();
        assert_eq!(seen, want);
    }
    assert_eq!((level(), ancestor_thread_num(0), team_size(0), team_size(1)), (0, Some(0), Some(1), None));
}
