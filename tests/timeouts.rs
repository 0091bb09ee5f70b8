//! Every `*_timeout` returns after about its timeout, also under load, and
//! leaves its primitive in the documented state: a barrier broken with
//! `TimedOut` (every waiter told) and usable after `reset`; a gate, latch or
//! queue unchanged and reusable.
//!
//! Timing asserts are only the safe ones: "did not return before the
//! timeout" and "returned within [`UPPER`]" (100 times the timeout), so a
//! noisy machine cannot make them flake.

mod common;

use common::watchdog;
use phalanx::barrier::{BarrierError, BreakReason};
use phalanx::sync::TimedPop;
use phalanx::{Barrier, BarrierKind, Gate, Latch, TaskQueue, WaitPolicy};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The timeout every call here is given.
const TIMEOUT: Duration = Duration::from_millis(50);
/// Returning later than this is a failure (the wait ignored its deadline).
const UPPER: Duration = Duration::from_secs(5);
/// Threads burning CPU during the tests (the machine has 2 cores).
const LOAD_THREADS: usize = 2;

/// Busy threads that keep every core contended until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..LOAD_THREADS)
            .map(|_| {
                let stop = Arc::clone(&stop);
                // Relaxed: a stop flag; nothing is published with it.
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        // Relaxed: see `start`.
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn policies() -> Vec<WaitPolicy> {
    let mut v = WaitPolicy::all().to_vec();
    v.push(WaitPolicy::SleepPoll { interval: Duration::from_micros(50) });
    v
}

/// Time `f`, check the bounds, return its result.
fn timed<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let t0 = Instant::now();
    let r = f();
    let took = t0.elapsed();
    assert!(took >= TIMEOUT, "{what}: returned after {took:?}, before its timeout {TIMEOUT:?}");
    assert!(took < UPPER, "{what}: returned after {took:?}, its timeout was {TIMEOUT:?}");
    r
}

fn timed_out() -> BarrierError {
    BarrierError::Broken(BreakReason::TimedOut { after: TIMEOUT })
}

#[test]
fn barrier_wait_timeout_breaks_and_reset_restores() {
    let _w = watchdog(90, "barrier_wait_timeout_breaks_and_reset_restores");
    let _load = Load::start();
    for kind in BarrierKind::ALL {
        for policy in policies() {
            let what = format!("Barrier({kind}, {policy})::wait_timeout");
            let mut b = Barrier::builder(3).kind(kind).wait_policy(policy).build().expect("barrier");
            // One party waits without a deadline, we wait with one, the third never comes.
            let other = thread::scope(|s| {
                let h = s.spawn(|| b.wait());
                let r = timed(&what, || b.wait_timeout(TIMEOUT));
                assert_eq!(r, Err(timed_out()), "{what}");
                h.join().expect("untimed waiter")
            });
            assert_eq!(other, Err(timed_out()), "{what}: the untimed waiter must get the timeout too");
            assert_eq!(b.broken_reason(), Some(BreakReason::TimedOut { after: TIMEOUT }), "{what}");
            // Broken: every later wait fails at once, timed or not.
            assert_eq!(b.wait(), Err(timed_out()), "{what}: wait on a broken barrier");
            assert_eq!(b.wait_timeout(UPPER), Err(timed_out()), "{what}: wait_timeout on a broken barrier");
            b.reset();
            assert_eq!(b.broken_reason(), None, "{what}: reset");
            let leaders = thread::scope(|s| {
                let hs: Vec<_> = (0..3).map(|_| s.spawn(|| b.wait_timeout(UPPER))).collect();
                hs.into_iter()
                    .map(|h| h.join().expect("waiter").expect("pass after reset").is_leader())
                    .filter(|&l| l)
                    .count()
            });
            assert_eq!(leaders, 1, "{what}: one leader per episode after reset");
        }
    }
}

#[test]
fn gate_wait_timeout_leaves_the_gate_reusable() {
    let _w = watchdog(60, "gate_wait_timeout_leaves_the_gate_reusable");
    let _load = Load::start();
    for policy in policies() {
        let what = format!("Gate({policy})::wait_timeout");
        let g = Gate::with_policy(policy);
        assert!(!timed(&what, || g.wait_timeout(TIMEOUT)), "{what}: closed gate");
        assert!(!g.is_open(), "{what}: a timeout must not open the gate");
        assert!(!g.wait_timeout(Duration::ZERO), "{what}: zero timeout only checks");
        g.open();
        assert!(g.wait_timeout(TIMEOUT), "{what}: open gate");
        g.reset();
        assert!(!timed(&what, || g.wait_timeout(TIMEOUT)), "{what}: reset gate");
        // Opened by another thread while we wait.
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(5));
                g.open();
            });
            assert!(g.wait_timeout(UPPER), "{what}: opened while waiting");
        });
    }
}

#[test]
fn latch_wait_timeout_leaves_the_count_alone() {
    let _w = watchdog(60, "latch_wait_timeout_leaves_the_count_alone");
    let _load = Load::start();
    for policy in policies() {
        let what = format!("Latch({policy})::wait_timeout");
        let l = Latch::with_policy(2, policy);
        assert!(!timed(&what, || l.wait_timeout(TIMEOUT)), "{what}: count 2");
        assert_eq!(l.count(), 2, "{what}: a timeout must not count down");
        l.count_down();
        assert!(!timed(&what, || l.wait_timeout(TIMEOUT)), "{what}: count 1");
        assert!(!l.wait_timeout(Duration::ZERO), "{what}: zero timeout only checks");
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(5));
                l.count_down();
            });
            assert!(l.wait_timeout(UPPER), "{what}: counted down while waiting");
        });
        assert!(l.is_done() && l.wait_timeout(Duration::ZERO), "{what}: open for good");
    }
}

#[test]
fn queue_pop_timeout_leaves_the_queue_reusable() {
    let _w = watchdog(60, "queue_pop_timeout_leaves_the_queue_reusable");
    let _load = Load::start();
    for policy in policies() {
        let what = format!("TaskQueue({policy})::pop_timeout");
        let q: TaskQueue<u32> = TaskQueue::with_policy(policy);
        assert_eq!(timed(&what, || q.pop_timeout(TIMEOUT)), TimedPop::TimedOut, "{what}: empty");
        q.push(1).expect("open queue");
        assert_eq!(q.pop_timeout(TIMEOUT), TimedPop::Item(1), "{what}: after a timeout");
        assert_eq!(timed(&what, || q.pop_timeout(TIMEOUT)), TimedPop::TimedOut, "{what}: empty again");
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(5));
                q.push(2).expect("open queue");
            });
            assert_eq!(q.pop_timeout(UPPER), TimedPop::Item(2), "{what}: pushed while waiting");
        });
        q.push(3).expect("open queue");
        q.close();
        assert_eq!(q.pop_timeout(TIMEOUT), TimedPop::Item(3), "{what}: closed, not drained");
        let t0 = Instant::now();
        assert_eq!(q.pop_timeout(UPPER), TimedPop::Closed, "{what}: closed and drained");
        assert!(t0.elapsed() < UPPER, "{what}: Closed must not wait");
    }
}

/// Timeouts too large for an `Instant` (`Duration::MAX`) and merely huge
/// ones (a century, which the futex gets as a timespec): no panic on
/// overflow; the wait behaves like the untimed one and ends on its event.
#[test]
fn huge_timeouts_mean_no_deadline() {
    let _w = watchdog(90, "huge_timeouts_mean_no_deadline");
    let century = Duration::from_secs(100 * 365 * 24 * 3600);
    for huge in [Duration::MAX, century] {
        for policy in policies() {
            let what = format!("{policy}, timeout {huge:?}");
            let g = Gate::with_policy(policy);
            let l = Latch::with_policy(1, policy);
            let q: TaskQueue<u32> = TaskQueue::with_policy(policy);
            thread::scope(|s| {
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(2));
                    g.open();
                    l.count_down();
                    q.push(9).expect("open queue");
                });
                assert!(g.wait_timeout(huge), "Gate: {what}");
                assert!(l.wait_timeout(huge), "Latch: {what}");
                assert_eq!(q.pop_timeout(huge), TimedPop::Item(9), "TaskQueue: {what}");
            });
            assert!(g.wait_timeout(huge) && l.wait_timeout(huge), "already open: {what}");
            q.close();
            assert_eq!(q.pop_timeout(huge), TimedPop::Closed, "closed TaskQueue: {what}");
            for kind in BarrierKind::ALL {
                let b = Barrier::builder(2).kind(kind).wait_policy(policy).build().expect("barrier");
                let leaders = thread::scope(|s| {
                    let h = s.spawn(|| b.wait_timeout(huge));
                    thread::sleep(Duration::from_millis(1));
                    let mine = b.wait_timeout(huge).expect("both arrived").is_leader();
                    usize::from(mine) + usize::from(h.join().expect("waiter").expect("both arrived").is_leader())
                });
                assert_eq!(leaders, 1, "Barrier({kind}): {what}");
                assert_eq!(b.broken_reason(), None, "Barrier({kind}): {what}");
            }
        }
    }
}
