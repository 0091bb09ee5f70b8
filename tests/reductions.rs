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
        let s = if ctx.thread_num() == 0 { Schedule::Dynamic(1) } else { Schedule::Dynamic(2) };
        ctx.for_each(0..10, s, |_| {});
    });
    assert!(matches!(r, Err(RegionError::Panicked { .. })), "{r:?}");
    // The team is still usable.
    let s = team.parallel_reduce(0..100, Schedule::Dynamic(4), 0u64, |a, i| a + i as u64, |a, b| a + b);
    assert_eq!(s, 4950);
}
