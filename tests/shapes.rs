//! Loop shapes: collapsed 2-D / 3-D spaces and strided, inclusive and signed
//! ranges, under every schedule and team size: every point runs exactly once,
//! on the thread the schedule gives its row-major number to, and the values
//! are those of the sequential loop.

mod common;

use common::watchdog;
use phalanx::worksharing::{LoopSpace, Strided};
use phalanx::{RegionError, Schedule, Team};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

fn schedules() -> Vec<Schedule> {
    vec![
        Schedule::Static,
        Schedule::StaticChunk(1),
        Schedule::StaticChunk(4),
        Schedule::Dynamic(1),
        Schedule::Dynamic(3),
        Schedule::Guided(1),
        Schedule::Guided(2),
        Schedule::Runtime,
        Schedule::Auto,
    ]
}

/// Run `space` on `team` under `s`; check each point ran once, in the set the
/// sequential loop visits, and (for `static,c`) on the schedule's thread.
fn check<S>(team: &Team, space: S, s: Schedule, what: &str)
where
    S: LoopSpace + Clone + Sync,
    S::Item: Send + Ord + Clone + std::fmt::Debug,
{
    let len = space.len().unwrap();
    let want: Vec<S::Item> = (0..len).map(|k| space.at(k)).collect();
    let seen = Mutex::new(Vec::new());
    team.parallel(|ctx| {
        ctx.for_each_in(space.clone(), s, |p| seen.lock().unwrap().push((p, ctx.thread_num())));
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    let pts: Vec<S::Item> = seen.iter().map(|(p, _)| p.clone()).collect();
    let mut sorted_want = want.clone();
    sorted_want.sort();
    assert_eq!(pts, sorted_want, "{what} {s}: points (each exactly once)");
    if let Schedule::StaticChunk(c) = s {
        let n = team.num_threads();
        for (p, t) in &seen {
            let k = want.iter().position(|w| w == p).unwrap();
            assert_eq!(*t, (k / c) % n, "{what} static,{c}: point {p:?} (number {k})");
        }
    }
}

#[test]
fn every_shape_under_every_schedule() {
    let _w = watchdog(120, "every_shape_under_every_schedule");
    for n in [1, 2, 3] {
        let team = Team::builder().num_threads(n).build().unwrap();
        for s in schedules() {
            check(&team, (0..5usize, 0..7usize), s, "2d");
            check(&team, (0..0usize, 0..7usize), s, "2d empty");
            check(&team, (-3i64..=3, 2..5usize, 0..2u32), s, "3d");
            check(&team, Strided::new(50, -50, -7).unwrap(), s, "strided down");
            check(&team, Strided::inclusive(-20, 20, 4).unwrap(), s, "strided inclusive");
            check(&team, -10i32..=10, s, "signed inclusive");
            check(&team, (Strided::new(0, 9, 2).unwrap(), 5u64..=6), s, "2d strided");
        }
    }
}

/// `for_each_2d` / `for_each_3d` hand the indices over separately and end
/// with a barrier: everything counted before the barrier is visible after it.
#[test]
fn collapse_forms_end_with_a_barrier() {
    let _w = watchdog(60, "collapse_forms_end_with_a_barrier");
    let team = Team::builder().num_threads(2).build().unwrap();
    let grid: Vec<AtomicU32> = (0..4 * 6).map(|_| AtomicU32::new(0)).collect();
    let cube = AtomicUsize::new(0);
    team.parallel(|ctx| {
        ctx.for_each_2d((0..4usize, 0..6usize), Schedule::Guided(2), |i, j| {
            grid[i * 6 + j].fetch_add(1, Ordering::Relaxed);
        });
        assert!(grid.iter().all(|c| c.load(Ordering::Relaxed) == 1), "after the 2d loop's barrier");
        ctx.for_each_3d((0..2usize, 0..3usize, 0..4usize), Schedule::Dynamic(5), |i, j, k| {
            cube.fetch_add(i * 100 + j * 10 + k + 1, Ordering::Relaxed);
        });
        let want: usize = (0..24).map(|x| x / 12 * 100 + x / 4 % 3 * 10 + x % 4 + 1).sum();
        assert_eq!(cube.load(Ordering::Relaxed), want, "after the 3d loop's barrier");
    });
}

#[test]
fn bad_shapes_are_named() {
    let e = Strided::new(0, 10, 0).unwrap_err();
    assert!(e.to_string().contains("step") && e.value() == "0", "{e}");
    let team = Team::builder().num_threads(2).build().unwrap();
    let r = team.try_parallel(|ctx| ctx.for_each_in((0..usize::MAX, 0..3usize), Schedule::Static, |_| ()));
    match r {
        Err(RegionError::Panicked { message, .. }) => assert!(message.contains("does not fit in usize"), "{message}"),
        other => panic!("expected the overflow error, got {other:?}"),
    }
    // Dynamic and guided loops have no length limit any more (the claim
    // word counts units of 2^s iterations for loops over 2^32 - 1; see
    // `long_loops_claim_in_units` in src/worksharing/claim.rs), so a 2^41
    // space is not an error: nothing to refuse here.
}
