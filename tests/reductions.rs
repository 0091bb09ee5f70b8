//! Reductions: combining once, named operators (`Sum`, `Max`, tuples),
//! element-wise array reductions, and the construct check that refuses
//! threads reaching one loop with different ranges or schedules.

mod common;

use common::watchdog;
use phalanx::worksharing::{Max, Min, Product, Sum};
use phalanx::{RegionError, Schedule, Team};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `reduce` combines `n - 1` times in all (not `n - 1` on each thread) and
/// every thread gets the same total.
#[test]
fn reduce_combines_once() {
    let _w = watchdog(60, "reduce_combines_once");
    for n in [2, 3, 4] {
        let team = Team::builder().num_threads(n).build().unwrap();
        let combines = AtomicUsize::new(0);
        let totals = team.parallel_collect(|ctx| {
            ctx.reduce(
                0..100,
                Schedule::Dynamic(3),
                Vec::new(),
                |mut v: Vec<usize>, i| {
                    v.push(i);
                    v
                },
                |mut a, b| {
                    combines.fetch_add(1, Ordering::Relaxed);
                    a.extend(b);
                    a
                },
            )
        });
        assert_eq!(combines.into_inner(), n - 1, "{n} threads");
        for t in &totals {
            let mut s = t.clone();
            s.sort_unstable();
            assert_eq!(s, (0..100).collect::<Vec<_>>(), "{n} threads");
            assert_eq!(t, &totals[0], "every thread gets the same total");
        }
    }
}

/// Several reductions in a row (both hand-over parities, a `nowait` loop in
/// between) keep their totals apart.
#[test]
fn reductions_in_a_row() {
    let _w = watchdog(60, "reductions_in_a_row");
    let team = Team::builder().num_threads(3).build().unwrap();
    team.parallel(|ctx| {
        for round in 0..50u64 {
            let s = ctx.reduce(0..30, Schedule::Guided(2), 0u64, |a, i| a + i as u64 + round, |a, b| a + b);
            assert_eq!(s, 435 + 30 * round);
            ctx.for_each_nowait(0..5, Schedule::Static, |_| {});
            let m: u64 = ctx.reduce_by(0..30, Schedule::Static, Max, |a: u64, i| a.max(i as u64 * round));
            assert_eq!(m, 29 * round);
        }
    });
}

#[test]
fn named_operators_and_tuples() {
    let _w = watchdog(60, "named_operators_and_tuples");
    let xs: Vec<i64> = (0..1000).map(|i| (i * 7919) % 1013 - 500).collect();
    let team = Team::builder().num_threads(3).build().unwrap();
    let (s, hi, lo, c) = team.parallel_reduce_by(
        0..xs.len(),
        Schedule::Dynamic(7),
        (Sum, Max, Min, Sum),
        |(s, hi, lo, c): (i64, i64, i64, usize), i| (s + xs[i], hi.max(xs[i]), lo.min(xs[i]), c + 1),
    );
    assert_eq!(s, xs.iter().sum::<i64>());
    assert_eq!(hi, *xs.iter().max().unwrap());
    assert_eq!(lo, *xs.iter().min().unwrap());
    assert_eq!(c, xs.len());
    team.parallel(|ctx| {
        let p: f64 = ctx.reduce_by(1..11, Schedule::Static, Product, |a: f64, i| a * i as f64);
        assert_eq!(p, 3_628_800.0);
        let (m, n): (f32, f32) = ctx.reduce_by(0..0, Schedule::Dynamic(1), (Max, Min), |a, _| a);
        assert_eq!((m, n), (f32::NEG_INFINITY, f32::INFINITY), "an empty loop gives the identities");
    });
}

#[test]
fn elementwise_histogram() {
    let _w = watchdog(60, "elementwise_histogram");
    let data: Vec<usize> = (0..5000).map(|i| (i * i) % 17).collect();
    let mut want = vec![0u64; 17];
    for &d in &data {
        want[d] += 1;
    }
    let team = Team::builder().num_threads(4).build().unwrap();
    let got = team.parallel_collect(|ctx| {
        ctx.reduce_elementwise(0..data.len(), Schedule::Guided(8), 17, Sum, |h: &mut [u64], i| h[data[i]] += 1)
    });
    for g in got {
        assert_eq!(g, want);
    }
    let hi = team.parallel_reduce_elementwise(0..data.len(), Schedule::Static, 17, Max, |h: &mut [usize], i| {
        h[data[i]] = h[data[i]].max(i)
    });
    for (k, &v) in hi.iter().enumerate() {
        assert_eq!(v, data.iter().rposition(|&d| d == k).unwrap_or(0), "the identity where no index counts");
    }
}

/// Two threads reaching one `Dynamic` reduction with different trip counts
/// used to agree silently on a wrong sum; now the region fails with a named
/// error.
#[test]
fn different_trip_counts_are_refused() {
    let _w = watchdog(60, "different_trip_counts_are_refused");
    let team = Team::builder().num_threads(2).build().unwrap();
    for schedule in [Schedule::Dynamic(4), Schedule::Static, Schedule::Guided(1)] {
        let r = team.try_parallel(|ctx| {
            let n = if ctx.thread_num() == 0 { 100 } else { 50 };
            let _ = ctx.reduce(0..n, schedule, 0u64, |a, i| a + i as u64, |a, b| a + b);
        });
        let msg = match r {
            Err(RegionError::Panicked { message, .. }) => message,
            other => panic!("{schedule}: expected a mismatch, got {other:?}"),
        };
        assert!(msg.contains("worksharing construct mismatch"), "{schedule}: {msg}");
    }
    let r = team.try_parallel(|ctx| {
        let lo = if ctx.thread_num() == 0 { 0 } else { 1 };
        let _ = ctx.reduce(lo..lo + 10, Schedule::Dynamic(2), 0u64, |a, i| a + i as u64, |a, b| a + b);
    });
    assert!(matches!(&r, Err(RegionError::Panicked { message, .. }) if message.contains("mismatch")), "{r:?}");
    let r = team.try_parallel(|ctx| {
        let s = if ctx.thread_num() == 0 { Schedule::Dynamic(1) } else { Schedule::Dynamic(2) };
        ctx.for_each(0..10, s, |_| {});
    });
    assert!(matches!(r, Err(RegionError::Panicked { .. })), "{r:?}");
    // The team is still usable.
    let s = team.parallel_reduce(0..100, Schedule::Dynamic(4), 0u64, |a, i| a + i as u64, |a, b| a + b);
    assert_eq!(s, 4950);
}

/// A value that counts its clones and refuses to be cloned once dropped.
struct Watched<'a> {
    rows: &'a [Vec<u32>],
    clones: &'a AtomicUsize,
    alive: &'a std::sync::atomic::AtomicBool,
}

impl Clone for Watched<'_> {
    fn clone(&self) -> Self {
        assert!(self.alive.load(Ordering::SeqCst), "cloned after the winner dropped it");
        if std::thread::current().name() == Some("phalanx-2") && self.rows.len() == 99 {
            panic!("boom: clone fails on thread 2");
        }
        self.clones.fetch_add(1, Ordering::Relaxed);
        Watched { rows: self.rows, clones: self.clones, alive: self.alive }
    }
}

/// `single_ref` hands a borrowing value to every thread: `n - 1` clones, each
/// made before the winner lets the value go.
#[test]
fn single_ref_broadcasts_borrowed_values() {
    let _w = watchdog(60, "single_ref_broadcasts_borrowed_values");
    let rows: Vec<Vec<u32>> = (0..10).map(|i| (0..i).collect()).collect();
    let team = Team::builder().num_threads(3).build().unwrap();
    let clones = AtomicUsize::new(0);
    let alive = std::sync::atomic::AtomicBool::new(true);
    team.parallel(|ctx| {
        for round in 0..200usize {
            let longest: &Vec<u32> = ctx.single_ref(|| &rows[round % rows.len()]);
            assert!(std::ptr::eq(longest, &rows[round % rows.len()]), "the very same row on every thread");
            let w = ctx.single_ref(|| Watched { rows: &rows[..], clones: &clones, alive: &alive });
            assert_eq!(w.rows.len(), 10);
            ctx.for_each_nowait(0..3, phalanx::Schedule::Static, |_| {});
        }
    });
    assert_eq!(clones.load(Ordering::Relaxed), 200 * 2, "n - 1 clones per construct");
}

/// The winner does not return (and drop the value) while a reader clones;
/// a reader that panics while cloning fails the region, with no hang.
#[test]
fn single_ref_winner_outlives_readers() {
    let _w = watchdog(60, "single_ref_winner_outlives_readers");
    common::quiet_boom_panics();
    let rows: Vec<Vec<u32>> = vec![Vec::new(); 10];
    let team = Team::builder().num_threads(3).build().unwrap();
    let clones = AtomicUsize::new(0);
    for _ in 0..50 {
        let alive = std::sync::atomic::AtomicBool::new(true);
        let winner = AtomicUsize::new(usize::MAX);
        team.parallel(|ctx| {
            let w = ctx.single_ref(|| {
                winner.store(ctx.thread_num(), Ordering::SeqCst);
                Watched { rows: &rows[..], clones: &clones, alive: &alive }
            });
            if winner.load(Ordering::SeqCst) == ctx.thread_num() {
                // The winner's value is dead once `single_ref` returns: every
                // reader must have cloned it by then.
                alive.store(false, Ordering::SeqCst);
            }
            assert_eq!(w.rows.len(), 10);
            ctx.barrier();
            alive.store(true, Ordering::SeqCst);
            ctx.barrier();
        });
    }
    let many: Vec<Vec<u32>> = vec![Vec::new(); 99];
    let alive = std::sync::atomic::AtomicBool::new(true);
    let r = team.try_parallel(|ctx| {
        let _ = ctx.single_ref(|| Watched { rows: &many[..], clones: &clones, alive: &alive });
    });
    match r {
        Err(RegionError::Panicked { message, .. }) => assert!(message.contains("boom"), "{message}"),
        other => panic!("expected thread 2's clone panic, got {other:?}"),
    }
}
