//! Tests of the EPCC method in `examples/epcc/measure.rs`: the reference
//! subtraction and the rule for a negative overhead, on synthetic samples
//! (exact), and one loose end-to-end check that the method recovers a cost
//! of known size added to a construct.

// The example's module, compiled here as it is there; the test uses part of it.
#[allow(dead_code)]
#[path = "../examples/epcc/measure.rs"]
mod measure;

mod common;

use measure::{measure_with_retry, overhead, time_reps, Measured, Method, Sample};
use phalanx::Team;
use phalanx_omp_baseline as omp;
use std::time::{Duration, Instant};

fn sample(time: f64, ref_per_delay: f64) -> Sample {
    Sample { time, ref_per_delay }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn each_repetition_subtracts_its_own_reference() {
    // The delays cost 0.1 µs in some repetitions and 0.3 µs in others (a
    // slow moment); every repetition's construct adds 0.05 µs to 4 delays.
    // A reference measured once, at another moment, would get this wrong;
    // the interleaved one gets 0.05 in every repetition.
    let s: Vec<Sample> = [0.1, 0.3, 0.1, 0.3, 0.3].iter().map(|&r| sample(4.0 * r + 0.05, r)).collect();
    match overhead(&s, 4) {
        Measured::Overhead { median, min, max, reference, .. } => {
            assert!(close(median, 0.05) && close(min, 0.05) && close(max, 0.05), "{median} [{min}, {max}]");
            assert!(close(reference, 0.3), "median reference {reference}");
        }
        other => panic!("expected an overhead, got {other:?}"),
    }
}

#[test]
fn no_delay_on_the_critical_path_subtracts_nothing() {
    let s = [sample(0.02, 0.5), sample(0.03, 0.5), sample(0.04, 0.5)];
    match overhead(&s, 0) {
        Measured::Overhead { median, reference, .. } => {
            assert!(close(median, 0.03), "{median}");
            assert!(reference.is_nan(), "no reference applies: {reference}");
        }
        other => panic!("expected an overhead, got {other:?}"),
    }
}

#[test]
fn a_negative_median_is_remeasured_then_reported_unreliable() {
    // The delays alone (2 x 0.3 µs) always take longer than the construct
    // with them (0.5 µs): no overhead can be read off that.
    let mut calls = 0;
    let (m, tries) = measure_with_retry(2, || {
        calls += 1;
        Ok(vec![sample(0.5, 0.3); 3])
    });
    assert_eq!((calls, tries), (2, 2), "one measurement and one re-measurement");
    match m {
        Measured::Unreliable { time, reference } => assert!(close(time, 0.5) && close(reference, 0.6)),
        other => panic!("expected unreliable, got {other:?}"),
    }
}

#[test]
fn a_negative_median_that_goes_away_on_remeasure_gives_the_new_number() {
    let mut calls = 0;
    let (m, tries) = measure_with_retry(1, || {
        calls += 1;
        Ok(if calls == 1 { vec![sample(0.1, 0.3); 3] } else { vec![sample(0.4, 0.3); 3] })
    });
    assert_eq!(tries, 2);
    assert!(m.median().is_some_and(|x| close(x, 0.1)), "{m:?}");
}

#[test]
fn a_positive_median_is_not_remeasured_and_errors_pass_through() {
    let mut calls = 0;
    let (m, tries) = measure_with_retry(1, || {
        calls += 1;
        Ok(vec![sample(0.4, 0.3), sample(-5.0, 0.3), sample(0.5, 0.3)])
    });
    assert_eq!((calls, tries), (1, 1));
    assert!(m.median().is_some_and(|x| close(x, 0.1)), "{m:?}");
    let (m, _) = measure_with_retry(1, || Err("kernel failed".to_string()));
    assert!(matches!(m, Measured::Failed(ref e) if e == "kernel failed"), "{m:?}");
}

/// One construct instance: a parallel region of a one-thread team running
/// `omp::delay(len)`, plus `extra` more delays of the same length.
fn region_kernel(team: &Team, reps: u64, len: u32, extra: u32) -> Result<Duration, String> {
    let t = Instant::now();
    for _ in 0..reps {
        team.parallel(|_| {
            omp::delay(len);
            for _ in 0..extra {
                omp::delay(len);
            }
        });
    }
    Ok(t.elapsed())
}

/// The EPCC overhead of `region_kernel` with `extra` added delays.
fn region_overhead(m: &Method, team: &Team, extra: u32) -> Measured {
    let len = m.delay_len;
    measure_with_retry(1, || {
        time_reps(
            m,
            1,
            1,
            |reps| region_kernel(team, reps, len, extra),
            |n| measure::phalanx_team_reference(team, n, len, false),
        )
    })
    .0
}

#[test]
fn the_method_recovers_a_known_added_cost() {
    let _dog = common::watchdog(120, "the_method_recovers_a_known_added_cost");
    // A construct (a one-thread parallel region, whose own cost is a small
    // fraction of a 5 µs delay, even in a debug build) with one delay of known cost added to its body on
    // top of the one the method subtracts: the overhead must come out at
    // about one delay (its interleaved reference). Loose bounds (half to one
    // and a half delays) and three tries, because the machine is shared.
    // Subtracting no reference gives about two delays, and a reference three
    // times too slow (the old bug) gives a negative number: both fail.
    let (len, _) = measure::calibrate_delay(5.0);
    let m = Method { threads: 1, outer_reps: 9, test_time: Duration::from_millis(2), delay_len: len };
    let team = Team::builder().num_threads(1).build().expect("a one-thread team");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let added = region_overhead(&m, &team, 1);
        let (Some(o), Some(r)) = (added.median(), added.reference()) else {
            seen.push(format!("no number: {added:?}"));
            continue;
        };
        let recovered = o / r;
        if (0.5..=1.5).contains(&recovered) {
            return;
        }
        seen.push(format!("overhead {o:.3} us = {recovered:.2} delays of {r:.3} us"));
    }
    panic!("the method did not recover one added delay within [0.5, 1.5] delays in 3 tries: {seen:?}");
}

#[test]
fn a_team_reference_in_turns_is_scaled_to_the_critical_path() {
    use measure::{per_thread_delays, scale_reference};
    // 10 critical-path delays in turns on 4 threads: 3 each (12 timed), so
    // the summed turns are scaled by 10 / 12.
    assert_eq!(per_thread_delays(10, 4, true), 3);
    let took = Duration::from_micros(12);
    assert_eq!(scale_reference(took, 10, 3, 4, true), Duration::from_micros(10));
    // At once, every thread runs all of them and the slowest thread's time stands.
    assert_eq!(per_thread_delays(10, 4, false), 10);
    assert_eq!(scale_reference(took, 10, 10, 4, false), took);
}

#[test]
fn the_phalanx_team_reference_runs_on_every_thread() {
    let _dog = common::watchdog(60, "the_phalanx_team_reference_runs_on_every_thread");
    let team = Team::builder().num_threads(2).build().expect("a two-thread team");
    for turns in [false, true] {
        let t = measure::phalanx_team_reference(&team, 100, 10, turns).expect("the reference runs");
        assert!(t > Duration::ZERO, "turns {turns}: {t:?}");
    }
}
