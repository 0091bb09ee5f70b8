//! Every public error type fits `?` into `Box<dyn Error + Send + Sync>` (what
//! `anyhow::Error` also requires), and the panic payload and unrun tasks stay
//! reachable after the conversion's type checks.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{MasterWorkerError, RegionError, Team};
use std::error::Error;

type AnyError = Box<dyn Error + Send + Sync + 'static>;

/// Compile-level: each `?` below needs `From<E> for AnyError`, that is
/// `E: Error + Send + Sync + 'static`. The task type is deliberately not
/// `Sync`.
fn every_error_fits(team: &Team) -> Result<(), AnyError> {
    let _ = Team::builder().num_threads(1).build()?;
    team.try_parallel(|_ctx| {})?;
    type Task = Box<dyn FnOnce() + Send>;
    team.try_master_worker(|feed| feed.push(Box::new(|| {}) as Task).map_err(|_| ()).unwrap(), |_ctx, t: Task| t())?;
    // `PushError<T>(pub T)` is `Sync` when `T` is, like std's
    // `SendError<T>`: a `u32` task fits.
    let q = phalanx::TaskQueue::<u32>::new();
    q.close();
    q.push(1)?;
    Ok(())
}

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[test]
fn errors_are_send_sync_and_fit_question_mark() {
    let _w = watchdog(30, "errors_are_send_sync_and_fit_question_mark");
    assert_send_sync::<RegionError>();
    assert_send_sync::<MasterWorkerError<Box<dyn FnOnce() + Send>>>();
    assert_send_sync::<phalanx::BuildError>();
    assert_send_sync::<phalanx::ConfigError>();
    assert_send_sync::<phalanx::barrier::BarrierError>();
    let team = Team::builder().num_threads(2).build().expect("team");
    let err = every_error_fits(&team).expect_err("the push into a closed queue fails");
    assert!(err.to_string().contains("closed"), "{err}");
}

#[derive(Debug, PartialEq)]
struct Custom(u32);

#[test]
fn region_error_through_box_dyn_error_keeps_the_payload() {
    let _w = watchdog(30, "region_error_through_box_dyn_error_keeps_the_payload");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let run = || -> Result<(), AnyError> {
        team.try_parallel(|ctx| {
            if ctx.thread_num() == 1 {
                std::panic::panic_any(Custom(42));
            }
        })?;
        Ok(())
    };
    let boxed = run().expect_err("thread 1 panicked");
    let region = boxed.downcast::<RegionError>().expect("a RegionError inside");
    assert_eq!(region.thread(), 1);
    let mut payload = region.into_payload().expect("a panic, not a divergence");
    assert_eq!(payload.get_mut().downcast_mut::<Custom>(), Some(&mut Custom(42)));
    let original = payload.into_inner().downcast::<Custom>().expect("the original payload");
    assert_eq!(*original, Custom(42));
}

#[test]
fn master_worker_error_through_box_dyn_error_keeps_the_unrun_tasks() {
    let _w = watchdog(30, "master_worker_error_through_box_dyn_error_keeps_the_unrun_tasks");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let run = || -> Result<(), AnyError> {
        team.try_master_worker(
            |feed| {
                feed.push(0u32).expect("open");
                // The worker's panic ends the run: wait for it (bounded by
                // the watchdog), then every push is refused.
                while !feed.has_failed() {
                    std::thread::yield_now();
                }
                feed.push(1).expect_err("the run failed");
            },
            |_ctx, t| panic!("boom {t}"),
        )?;
        Ok(())
    };
    let boxed = run().expect_err("the worker panicked");
    let e = boxed.downcast::<MasterWorkerError<u32>>().expect("a MasterWorkerError inside");
    assert_eq!(e.unrun_len(), e.unrun().len());
    let (region, unrun) = e.into_parts();
    assert!(matches!(region, RegionError::Panicked { ref message, .. } if message == "boom 0"), "{region:?}");
    assert!(unrun.is_empty(), "task 0 ran, task 1 was refused: {unrun:?}");
}
