//! `Lock`, `NestLock` and `critical`: mutual exclusion under every wait
//! policy (counts conserved), the OpenMP set/unset/test calls, unlocking a
//! lock one does not hold as a named error, re-locking as a clear panic,
//! nest depths, and named critical sections that exclude only their name.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::sync::{Lock, NestLock, UnlockError};
use phalanx::{Gate, Latch, RegionError, Team, WaitPolicy};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

fn policies() -> Vec<WaitPolicy> {
    if cfg!(miri) {
        return vec![WaitPolicy::Block, WaitPolicy::default()];
    }
    let mut v = WaitPolicy::all().to_vec();
    v.push(WaitPolicy::SleepPoll { interval: Duration::from_micros(20) });
    v
}

const THREADS: usize = 3;
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 400 };

#[test]
fn lock_guard_and_set_unset_exclude() {
    let _w = watchdog(120, "lock_guard_and_set_unset_exclude");
    for policy in policies() {
        // The data form: a plain u64, only reachable through the guard.
        let counter = Lock::with_policy(0u64, policy);
        // The OpenMP form: the lock guards something else.
        let raw = Lock::with_policy((), policy);
        let inside = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..ROUNDS {
                        *counter.lock() += 1;
                        raw.set();
                        // Relaxed: the lock orders these; the count checks exclusion.
                        assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "{policy}: two holders");
                        inside.fetch_sub(1, Ordering::Relaxed);
                        raw.unset().expect("held by this thread");
                    }
                });
            }
        });
        assert_eq!(counter.into_inner(), THREADS as u64 * ROUNDS, "{policy}: increments lost");
        assert!(!raw.is_locked(), "{policy}");
    }
}

#[test]
fn unset_without_holding_is_a_named_error() {
    let _w = watchdog(30, "unset_without_holding_is_a_named_error");
    let l = Lock::new(5u8);
    assert_eq!(l.unset(), Err(UnlockError::NotLocked));
    {
        let g = l.lock();
        assert_eq!(*g, 5);
        assert_eq!(l.unset(), Err(UnlockError::HeldByGuard), "the guard's lock is not released by unset");
        assert!(l.is_locked());
        assert!(UnlockError::HeldByGuard.to_string().contains("drop the guard"));
    }
    assert!(!l.is_locked(), "guard dropped");
    // Held by another thread: refused, and the holder still holds it.
    let (held, done) = (Gate::new(), Gate::new());
    thread::scope(|s| {
        s.spawn(|| {
            l.set();
            held.open();
            done.wait();
            l.unset().expect("the holder unsets");
        });
        held.wait();
        assert_eq!(l.unset(), Err(UnlockError::NotOwner));
        assert!(l.is_locked(), "a refused unset must not release");
        assert!(!l.test(), "test on a lock held elsewhere");
        assert!(l.try_lock().is_none());
        done.open();
    });
    assert!(l.test(), "free again");
    assert_eq!(l.unset(), Ok(()));
    assert!(UnlockError::NotOwner.to_string().contains("another thread"));
}

#[test]
fn relocking_a_simple_lock_panics_instead_of_deadlocking() {
    let _w = watchdog(30, "relocking_a_simple_lock_panics_instead_of_deadlocking");
    quiet_boom_panics();
    let l = Lock::new(());
    l.set();
    let e = panic::catch_unwind(AssertUnwindSafe(|| l.set())).expect_err("second set");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("Lock::set") && msg.contains("already holds") && msg.contains("NestLock"), "{msg}");
    let e = panic::catch_unwind(AssertUnwindSafe(|| drop(l.lock()))).expect_err("lock after set");
    assert!(e.downcast_ref::<String>().is_some_and(|m| m.contains("Lock::lock")));
    assert!(l.is_locked(), "the first set still holds it");
    l.unset().expect("held");
    // A panic while a guard lives releases the lock.
    let data = Lock::new(vec![1]);
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut g = data.lock();
        g.push(2);
        panic!("boom with the guard");
    }));
    assert!(!data.is_locked());
    assert_eq!(*data.lock(), vec![1, 2]);
}

#[test]
fn nest_lock_counts_levels_and_excludes_others() {
    let _w = watchdog(30, "nest_lock_counts_levels_and_excludes_others");
    for policy in policies() {
        let l = NestLock::with_policy(policy);
        assert_eq!(l.unset(), Err(UnlockError::NotLocked), "{policy}");
        assert_eq!(l.set(), 1);
        assert_eq!(l.set(), 2);
        assert_eq!(l.test(), Some(3));
        let (tried, released) = (Latch::new(1), Gate::new());
        let got = AtomicU32::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(l.test(), None, "{policy}: owned elsewhere");
                assert_eq!(l.unset(), Err(UnlockError::NotOwner), "{policy}");
                tried.count_down();
                // Blocks until the owner is back at depth 0.
                let d = l.set();
                // Relaxed: read after the join.
                got.store(d, Ordering::Relaxed);
                assert!(released.is_open(), "{policy}: acquired before the last unset");
                assert_eq!(l.unset(), Ok(0));
            });
            tried.wait();
            assert_eq!(l.unset(), Ok(2));
            {
                let _g = l.lock();
                assert_eq!(l.test(), Some(4));
                assert_eq!(l.unset(), Ok(3));
            } // the guard removes its level
            assert_eq!(l.unset(), Ok(1));
            released.open();
            assert_eq!(l.unset(), Ok(0));
        });
        assert_eq!(got.into_inner(), 1, "{policy}: the other thread starts at depth 1");
        assert!(!l.is_locked());
    }
}

#[test]
fn nest_lock_mutual_exclusion_counts() {
    let _w = watchdog(60, "nest_lock_mutual_exclusion_counts");
    let l = NestLock::new();
    let inside = AtomicU32::new(0);
    let total = AtomicU32::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..ROUNDS {
                    let _outer = l.lock();
                    let _inner = l.lock();
                    // Relaxed: the lock orders these.
                    assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two owners");
                    total.fetch_add(1, Ordering::Relaxed);
                    inside.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(total.into_inner(), THREADS as u32 * ROUNDS as u32);
}

#[test]
fn critical_names_exclude_only_themselves() {
    let _w = watchdog(60, "critical_names_exclude_only_themselves");
    quiet_boom_panics();
    for policy in [WaitPolicy::Block, WaitPolicy::default(), WaitPolicy::SpinYield] {
        let team = Team::builder().num_threads(2).wait_policy(policy).build().expect("team");
        // Thread 0 stays inside critical("a") until thread 1 has been inside
        // critical("b"): if the names shared a lock this would hang.
        let b_done = Gate::new();
        team.parallel(|ctx| {
            if ctx.thread_num() == 0 {
                ctx.critical_named("a", || b_done.wait());
            } else {
                ctx.critical_named("b", || b_done.open());
            }
        });
        // Same name: counts conserved, one thread inside at a time.
        let inside = AtomicU32::new(0);
        let total = Lock::new(0u64);
        team.parallel(|ctx| {
            for _ in 0..500 {
                ctx.critical_named("same", || {
                    // Relaxed: the critical lock orders these.
                    assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "{policy}: two threads in critical(same)");
                    *total.lock() += 1;
                    inside.fetch_sub(1, Ordering::Relaxed);
                });
                // Different names nest freely; the same name nested panics.
                ctx.critical(|| ctx.critical_named("inner", || ()));
            }
        });
        assert_eq!(total.into_inner(), 1000, "{policy}");
        let r = team.try_parallel(|ctx| ctx.critical_named("twice", || ctx.critical_named("twice", || ())));
        match r {
            Err(RegionError::Panicked { message, .. }) => {
                assert!(message.contains("critical(\"twice\")") && message.contains("deadlock"), "{message}")
            }
            other => panic!("{policy}: nested same-name critical must panic, got {other:?}"),
        }
        // The panic released the lock: it is usable again.
        team.parallel(|ctx| ctx.critical_named("twice", || ()));
    }
}
