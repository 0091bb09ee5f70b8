//! Exactly-once: for every schedule, range and team size, every index of a
//! loop runs exactly once (a counter per index), with and without `nowait`,
//! and across many consecutive constructs (the claim word's re-tagging).

mod common;

use common::{schedules, watchdog, Rng};
use phalanx::{Schedule, Team};
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

fn ranges(rng: &mut Rng) -> Vec<Range<usize>> {
    let s = rng.below(1000) as usize;
    let l = rng.below(300) as usize;
    // `Range { start: 9, end: 3 }` is a reversed (empty) range.
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 9..3;
    vec![0..0, 5..5, reversed, 0..1, 17..18, 0..2, 0..7, s..s + l, usize::MAX - 5..usize::MAX]
}

fn check(counts: &[AtomicU32], range: &Range<usize>, expect: u32, what: &str) {
    for (k, c) in counts.iter().enumerate() {
        let v = c.swap(0, Ordering::Relaxed);
        let inside = k < range.end.saturating_sub(range.start);
        let want = if inside { expect } else { 0 };
        assert_eq!(v, want, "{what}: index {} ran {v} times", range.start.wrapping_add(k));
    }
}

#[test]
fn every_index_runs_exactly_once() {
    let _w = watchdog(60, "every_index_runs_exactly_once");
    let mut rng = Rng::new(7);
    let rounds = if cfg!(miri) { 1 } else { 4 };
    for n in [1, 2, 3, 4, 8] {
        let team = Team::builder().num_threads(n).schedule(Schedule::Dynamic(2)).build().unwrap();
        for _ in 0..rounds {
            for s in schedules(&mut rng) {
                for r in ranges(&mut rng) {
                    let len = r.end.saturating_sub(r.start);
                    let counts: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
                    let bump = |i: usize| {
                        counts[i - r.start].fetch_add(1, Ordering::Relaxed);
                    };
                    // for_each (with barrier), then 3 nowait loops in a row.
                    team.parallel(|ctx| ctx.for_each(r.clone(), s, bump));
                    check(&counts, &r, 1, &format!("for_each n={n} {s} {r:?}"));
                    team.parallel(|ctx| {
                        for _ in 0..3 {
                            ctx.for_each_nowait(r.clone(), s, bump);
                        }
                    });
                    check(&counts, &r, 3, &format!("3x for_each_nowait n={n} {s} {r:?}"));
                    team.parallel_for(r.clone(), s, bump);
                    check(&counts, &r, 1, &format!("parallel_for n={n} {s} {r:?}"));
                }
            }
        }
    }
}

#[test]
fn many_nowait_constructs_mixed_with_single() {
    let _w = watchdog(40, "many_nowait_constructs_mixed_with_single");
    let len = 50;
    for n in [2, 3, 4] {
        let team = Team::builder().num_threads(n).build().unwrap();
        let counts: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
        let singles = AtomicU32::new(0);
        let loops = if cfg!(miri) { 5 } else { 300 };
        team.parallel(|ctx| {
            for k in 0..loops {
                let s = if k % 2 == 0 { Schedule::Dynamic(1 + k % 5) } else { Schedule::Guided(1 + k % 3) };
                ctx.for_each_nowait(0..len, s, |i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                });
                if k % 7 == 0 {
                    ctx.single_nowait(|| singles.fetch_add(1, Ordering::Relaxed));
                }
            }
        });
        for c in &counts {
            assert_eq!(c.load(Ordering::Relaxed), loops as u32, "n = {n}");
        }
        assert_eq!(singles.load(Ordering::Relaxed), (0..loops).filter(|k| k % 7 == 0).count() as u32);
    }
}

#[test]
fn zero_chunk_is_refused_with_its_name() {
    let _w = watchdog(20, "zero_chunk_is_refused_with_its_name");
    for e in [Schedule::dynamic(0), Schedule::guided(0), Schedule::static_chunk(0)] {
        assert!(e.unwrap_err().to_string().contains("chunk = 0"));
    }
    assert_eq!(Schedule::dynamic(3).unwrap(), Schedule::Dynamic(3));
    let team = Team::builder().num_threads(2).build().unwrap();
    let r = team.try_parallel(|ctx| ctx.for_each(0..10, Schedule::Dynamic(0), |_| {}));
    match r {
        Err(phalanx::RegionError::Panicked { message, .. }) => assert!(message.contains("chunk = 0"), "{message}"),
        other => panic!("expected a chunk error, got {other:?}"),
    }
}

#[test]
fn runtime_schedule_comes_from_the_team() {
    let _w = watchdog(20, "runtime_schedule_comes_from_the_team");
    let team = Team::builder().num_threads(2).schedule(Schedule::StaticChunk(1)).build().unwrap();
    assert_eq!(team.runtime_schedule(), Schedule::StaticChunk(1));
    let owner: Vec<AtomicU32> = (0..6).map(|_| AtomicU32::new(9)).collect();
    team.parallel(|ctx| {
        ctx.for_each(0..6, Schedule::Runtime, |i| owner[i].store(ctx.thread_num() as u32, Ordering::Relaxed))
    });
    let got: Vec<u32> = owner.iter().map(|o| o.load(Ordering::Relaxed)).collect();
    assert_eq!(got, vec![0, 1, 0, 1, 0, 1], "static,1 deals indices round-robin");
}
