//! Misuse panics point at the user's line (`#[track_caller]`), not at a line
//! inside phalanx: a panic hook records where each panic was raised.

mod common;

use common::watchdog;
use phalanx::sync::Lock;
use phalanx::{DisjointSlice, Latch, Schedule, Team};
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// (file, line, message) of the last panic raised on this thread.
    static LAST: RefCell<Option<(String, u32, String)>> = const { RefCell::new(None) };
}

fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| (l.file().to_owned(), l.line())).unwrap_or_default();
        let p = info.payload();
        let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
        LAST.with(|l| *l.borrow_mut() = Some((loc.0, loc.1, msg.unwrap_or_default())));
    }));
}

/// Run `f`, which must panic on this thread in this file, in the call that
/// follows line `line` (rustfmt may spread it over a few lines).
fn panics_here(what: &str, line: u32, f: impl FnOnce()) {
    LAST.with(|l| *l.borrow_mut() = None);
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    assert!(r.is_err(), "{what}: expected a panic");
    let (file, at, msg) = LAST.with(|l| l.borrow_mut().take()).expect("the hook saw the panic");
    assert!(
        file.ends_with("track_caller.rs") && at > line && at <= line + 4,
        "{what}: the panic must point at tests/track_caller.rs:{} or just below, it points at {file}:{at} ({msg})",
        line + 1
    );
}

#[test]
fn misuse_panics_point_at_the_caller() {
    let _w = watchdog(30, "misuse_panics_point_at_the_caller");
    install_hook();
    // One thread: the region runs on this thread, so the hook sees the panic here.
    let team = Team::builder().num_threads(1).build().expect("team");
    let run = |f: &(dyn Fn(&phalanx::Ctx<'_>) + Sync)| {
        if let Err(e) = team.try_parallel(f) {
            e.resume()
        }
    };
    let mut v = vec![0u8; 10];
    let s = DisjointSlice::new(&mut v);

    let l = line!();
    panics_here("for_each chunk 0", l, || run(&|ctx| ctx.for_each(0..10, Schedule::Dynamic(0), |_| {})));
    let l = line!();
    panics_here("reduce chunk 0", l, || {
        run(&|ctx| {
            let _ = ctx.reduce(0..10, Schedule::Guided(0), 0, |a, _| a, |a, b| a + b);
        })
    });
    let l = line!();
    panics_here("for_each_mut chunk 0", l, || run(&|ctx| ctx.for_each_mut(&s, Schedule::StaticChunk(0), |_, _| {})));
    let l = line!();
    panics_here("for_rows_mut row_len", l, || run(&|ctx| ctx.for_rows_mut(&s, 3, Schedule::Static, |_, _| {})));
    let l = line!();
    panics_here("nested critical", l, || run(&|ctx| ctx.critical_named("tc", || ctx.critical_named("tc", || ()))));

    let latch = Latch::new(0);
    let l = line!();
    panics_here("count_down below zero", l, || latch.count_down());
    let lock = Lock::new(());
    lock.set();
    let l = line!();
    panics_here("Lock::set twice", l, || lock.set());
    let l = line!();
    panics_here("Lock::lock while set", l, || drop(lock.lock()));
    lock.unset().expect("held");
    let _ = panic::take_hook();
}
