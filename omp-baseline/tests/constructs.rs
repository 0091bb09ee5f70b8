//! Runs every kernel once with 2 threads and a few repetitions.

// Benches and tests may use std sync types; the loom facade rule is for src/.
#![allow(clippy::disallowed_types)]

use phalanx_omp_baseline::{self as omp, Construct, OmpError, ScheduleKind};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Aborts the process with a message if the returned sender is not dropped
/// (or sent to) within `secs`: no test here may hang.
fn watchdog(secs: u64, name: &'static str) -> mpsc::Sender<()> {
    let (done, finished) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test `{name}` did not finish in {secs} s; aborting");
            std::process::abort();
        }
    });
    done
}

fn skip(name: &str) -> bool {
    if !omp::available() {
        println!("{name}: skipped, the OpenMP baseline was built without OpenMP (cfg omp_missing)");
    }
    !omp::available()
}

#[test]
fn every_construct_runs_and_takes_time() {
    if skip("every_construct_runs_and_takes_time") {
        return;
    }
    let _guard = watchdog(60, "every_construct_runs_and_takes_time");
    println!("runtime: {:?}, max threads {:?}", omp::runtime_name(), omp::max_threads());
    let reps: u64 = if cfg!(miri) { 2 } else { 20 };
    for c in Construct::ALL {
        // A multiple of what the construct needs (threads, or a tree's size).
        let reps = reps.div_ceil(c.rep_multiple(2)) * c.rep_multiple(2);
        let t = omp::run(c, 2, reps, 100).unwrap_or_else(|| panic!("{c}: None although available"));
        assert!(t > Duration::ZERO, "{c}: elapsed {t:?} is not positive");
        println!("{c:>14}: {reps} reps in {t:?}");
    }
    let chunked = Construct::Schedule { kind: ScheduleKind::Static, chunk: 4 };
    assert!(omp::run(chunked, 2, reps, 100).is_some_and(|t| t > Duration::ZERO), "{chunked}");
    let r = omp::reference(reps, 100).expect("reference: None although available");
    assert!(r > Duration::ZERO, "reference: elapsed {r:?} is not positive");
}

#[test]
fn bad_arguments_name_the_setting() {
    let e = omp::try_run(Construct::Barrier, 0, 1, 1).unwrap_err();
    assert_eq!(e, OmpError::InvalidArgument { setting: "threads", value: "0".into() });
    assert!(e.to_string().contains("threads = 0"), "{e}");
    let e = omp::try_run(Construct::Barrier, 1, u64::MAX, 1).unwrap_err();
    assert!(e.to_string().contains(&format!("inner_reps = {}", u64::MAX)), "{e}");
    if omp::available() {
        let _guard = watchdog(60, "bad_arguments_name_the_setting");
        let e = omp::try_run(Construct::TaskWait, 257, 1, 1).unwrap_err();
        assert!(e.to_string().contains("threads = 257"), "{e}");
    }
}

#[test]
fn names_follow_epcc() {
    assert_eq!(Construct::Lock.name(), "LOCK/UNLOCK");
    assert_eq!(Construct::Schedule { kind: ScheduleKind::Dynamic, chunk: 8 }.to_string(), "DYNAMIC_8");
    assert_eq!(Construct::Schedule { kind: ScheduleKind::Static, chunk: 0 }.to_string(), "STATIC");
    let mut names: Vec<String> = Construct::ALL.iter().map(|c| c.to_string()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Construct::ALL.len(), "every construct has its own name");
}

#[test]
fn delay_runs_with_or_without_openmp() {
    // The delay is a volatile loop: it must return, for 0 and for a long length.
    omp::delay(0);
    omp::delay(10_000);
    let unavailable = omp::run(Construct::Parallel, 2, 1, 1).is_none();
    assert_eq!(unavailable, !omp::available());
}

#[test]
fn the_team_reference_runs_at_once_and_in_turns() {
    if skip("the_team_reference_runs_at_once_and_in_turns") {
        return;
    }
    let _guard = watchdog(60, "the_team_reference_runs_at_once_and_in_turns");
    for turns in [false, true] {
        let t = omp::reference_team(2, 100, 10, turns).expect("two threads are allowed");
        assert!(t > Duration::ZERO, "turns {turns}: {t:?}");
    }
    assert!(matches!(omp::reference_team(0, 1, 1, false), Err(OmpError::InvalidArgument { .. })));
}
