//! loom models of `Lock` and `NestLock` (`src/sync/README.md`, "Lock"): every
//! interleaving of two threads' lock / unlock, with the `Block` policy (the
//! parker, under loom a Mutex + Condvar: checks that no wake-up is lost when
//! a waiter parks while the holder releases) and with `Spin`. A counter
//! updated with a Relaxed load + store inside the lock checks both mutual
//! exclusion (no lost update) and publication (each holder sees the last
//! holder's write through the lock's Release/Acquire).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_lock`
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use phalanx::sync::{Lock, NestLock};
use phalanx::WaitPolicy;

const POLICIES: [WaitPolicy; 2] = [WaitPolicy::Block, WaitPolicy::Spin];

/// A non-atomic increment: lost if two threads interleave inside.
fn bump(data: &AtomicUsize) {
    // Relaxed: the lock must order and publish these.
    let v = data.load(Ordering::Relaxed);
    data.store(v + 1, Ordering::Relaxed);
}

#[test]
fn lock_guard_excludes_and_publishes() {
    for policy in POLICIES {
        loom::model(move || {
            let lock = Arc::new(Lock::with_policy((), policy));
            let data = Arc::new(AtomicUsize::new(0));
            let t = {
                let (lock, data) = (lock.clone(), data.clone());
                thread::spawn(move || {
                    let _g = lock.lock();
                    bump(&data);
                })
            };
            {
                let _g = lock.lock();
                bump(&data);
            }
            t.join().unwrap();
            assert_eq!(data.load(Ordering::Relaxed), 2, "{policy}: an update was lost");
            assert!(!lock.is_locked(), "{policy}");
        });
    }
}

#[test]
fn set_unset_vs_test() {
    for policy in POLICIES {
        loom::model(move || {
            let lock = Arc::new(Lock::with_policy((), policy));
            let data = Arc::new(AtomicUsize::new(0));
            let t = {
                let (lock, data) = (lock.clone(), data.clone());
                thread::spawn(move || {
                    lock.set();
                    bump(&data);
                    lock.unset().expect("held");
                })
            };
            // omp_test_lock: either it gets the lock (and bumps) or not.
            let mine = if lock.test() {
                bump(&data);
                lock.unset().expect("held");
                1
            } else {
                0
            };
            t.join().unwrap();
            assert_eq!(data.load(Ordering::Relaxed), 1 + mine, "{policy}");
        });
    }
}

#[test]
fn nest_lock_levels_vs_other_thread() {
    for policy in POLICIES {
        loom::model(move || {
            let lock = Arc::new(NestLock::with_policy(policy));
            let data = Arc::new(AtomicUsize::new(0));
            let t = {
                let (lock, data) = (lock.clone(), data.clone());
                thread::spawn(move || {
                    assert_eq!(lock.set(), 1);
                    bump(&data);
                    assert_eq!(lock.unset(), Ok(0));
                })
            };
            assert_eq!(lock.set(), 1);
            assert_eq!(lock.set(), 2);
            bump(&data);
            assert_eq!(lock.unset(), Ok(1));
            bump(&data);
            assert_eq!(lock.unset(), Ok(0));
            t.join().unwrap();
            assert_eq!(data.load(Ordering::Relaxed), 3, "{policy}");
        });
    }
}
