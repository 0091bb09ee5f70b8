//! Gate, Latch and TaskQueue under every wait policy: no hang (a watchdog
//! aborts the process), no early pass, every task delivered exactly once.
//! Loops scale down under Miri (`cargo +nightly miri test --test sync`).

mod common;

use common::watchdog;
use phalanx::sync::{CountDownError, Gate, TimedPop, TryPop};
use phalanx::{Latch, TaskQueue, WaitPolicy};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const WATCHDOG_SECS: u64 = 60;

/// `n` normally, a small fraction under Miri; fewer still for `SleepPoll`,
/// whose every wait sleeps a millisecond.
fn scaled(n: usize, policy: WaitPolicy) -> usize {
    let n = if cfg!(miri) { (n / 100).max(2) } else { n };
    if matches!(policy, WaitPolicy::SleepPoll { .. }) {
        (n / 50).max(2)
    } else {
        n
    }
}

// ---------------------------------------------------------------- Gate

#[test]
fn gate_open_releases_all_waiters() {
    let _w = watchdog(WATCHDOG_SECS, "gate_open_releases_all_waiters");
    for policy in WaitPolicy::all() {
        let gate = Gate::with_policy(policy);
        let data = AtomicU64::new(0);
        let passed = AtomicUsize::new(0);
        let waiters = 4;
        thread::scope(|s| {
            for _ in 0..waiters {
                s.spawn(|| {
                    gate.wait();
                    // Relaxed: the gate's Release/Acquire must make it visible.
                    assert_eq!(data.load(Ordering::Relaxed), 42, "{policy}: passed the gate before open");
                    passed.fetch_add(1, Ordering::Relaxed);
                });
            }
            thread::yield_now();
            assert_eq!(passed.load(Ordering::Relaxed), 0, "{policy}: a waiter passed a closed gate");
            data.store(42, Ordering::Relaxed);
            gate.open();
        });
        assert_eq!(passed.load(Ordering::Relaxed), waiters, "{policy}");
        assert!(gate.is_open());
    }
}

#[test]
fn gate_reset_races_no_hang_no_early_pass() {
    let _w = watchdog(WATCHDOG_SECS, "gate_reset_races_no_hang_no_early_pass");
    for policy in WaitPolicy::all() {
        let rounds = scaled(2000, policy) as u64;
        let gate = Gate::with_policy(policy);
        // Round of the latest reset, stored right after it.
        let resets = AtomicU64::new(0);
        // Round published right before its open.
        let data = AtomicU64::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| loop {
                    // A waiter that saw reset r must not pass before open r.
                    let r = resets.load(Ordering::Acquire);
                    gate.wait();
                    let d = data.load(Ordering::Relaxed);
                    assert!(d >= r.max(1), "{policy}: arrived after reset {r}, passed with round {d}");
                    if r == rounds {
                        break;
                    }
                });
            }
            // The master does not wait for the waiters: late ones of round k
            // still arrive while it resets and opens round k + 1.
            for k in 1..=rounds {
                gate.reset();
                resets.store(k, Ordering::Release);
                data.store(k, Ordering::Relaxed);
                gate.open();
                if k % 8 == 0 {
                    thread::yield_now();
                }
            }
        });
    }
}

#[test]
fn gate_wait_timeout_on_closed_gate_returns_false() {
    let _w = watchdog(WATCHDOG_SECS, "gate_wait_timeout_on_closed_gate_returns_false");
    for policy in WaitPolicy::all() {
        let gate = Gate::with_policy(policy);
        assert!(!gate.is_open());
        assert!(!gate.wait_timeout(Duration::from_millis(5)), "{policy}: closed gate passed");
        assert!(!gate.wait_timeout(Duration::ZERO), "{policy}: closed gate passed a zero timeout");
        gate.open();
        assert!(gate.is_open());
        assert!(gate.wait_timeout(Duration::ZERO), "{policy}: open gate did not pass");
        gate.reset();
        assert!(!gate.is_open(), "{policy}: reset left the gate open");
        assert!(!gate.wait_timeout(Duration::from_millis(1)), "{policy}: reset gate passed");
    }
}

// ---------------------------------------------------------------- Latch

#[test]
fn latch_releases_waiters_only_at_zero() {
    let _w = watchdog(WATCHDOG_SECS, "latch_releases_waiters_only_at_zero");
    for policy in WaitPolicy::all() {
        let rounds = scaled(100, policy);
        let counters = 4u32;
        for _ in 0..rounds {
            let latch = Latch::with_policy(counters, policy);
            let work = AtomicU64::new(0);
            thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        latch.wait();
                        assert!(latch.is_done());
                        // Relaxed: visibility comes from the latch.
                        let w = work.load(Ordering::Relaxed);
                        assert_eq!(w, u64::from(counters), "{policy}: released before every count-down");
                    });
                }
                for _ in 0..counters {
                    s.spawn(|| {
                        work.fetch_add(1, Ordering::Relaxed);
                        latch.count_down();
                    });
                }
            });
            assert_eq!(latch.count(), 0);
        }
    }
}

#[test]
fn latch_wait_timeout_and_count_down_by() {
    let _w = watchdog(WATCHDOG_SECS, "latch_wait_timeout_and_count_down_by");
    for policy in WaitPolicy::all() {
        let latch = Latch::with_policy(3, policy);
        assert!(!latch.wait_timeout(Duration::from_millis(5)), "{policy}: latch of 3 opened");
        latch.count_down_by(2);
        assert_eq!(latch.count(), 1);
        assert!(!latch.is_done());
        assert!(!latch.wait_timeout(Duration::ZERO), "{policy}: latch of 1 opened");
        assert_eq!(latch.try_count_down_by(1), Ok(0));
        assert!(latch.wait_timeout(Duration::from_millis(5)), "{policy}: open latch timed out");
    }
}

#[test]
fn latch_of_zero_is_open() {
    let _w = watchdog(WATCHDOG_SECS, "latch_of_zero_is_open");
    let latch = Latch::new(0);
    assert!(latch.is_done());
    latch.wait();
    assert!(latch.wait_timeout(Duration::ZERO));
    latch.count_down_by(0);
    assert_eq!(latch.count(), 0);
}

#[test]
fn latch_count_down_past_zero_is_refused() {
    let _w = watchdog(WATCHDOG_SECS, "latch_count_down_past_zero_is_refused");
    let latch = Latch::new(1);
    let e = latch.try_count_down_by(2).unwrap_err();
    assert_eq!(e, CountDownError { count: 1, by: 2 });
    assert_eq!(latch.count(), 1, "a refused count-down changed the count");
    let msg = e.to_string();
    assert!(msg.contains("count_down by 2") && msg.contains("count = 1"), "message names the values: {msg}");
    latch.count_down();
    assert!(latch.is_done());
    let panic = std::panic::catch_unwind(|| latch.count_down()).unwrap_err();
    let msg = panic.downcast_ref::<String>().expect("panic message is a String");
    assert!(msg.contains("count = 0"), "panic names the count: {msg}");
    assert_eq!(latch.count(), 0);
}

// ---------------------------------------------------------------- TaskQueue

/// `producers` push disjoint id ranges, `consumers` pop until `None`, a
/// closer closes once a latch says every producer is done. Checks the
/// ledger: every id popped exactly once, count and sum conserved.
fn exactly_once(policy: WaitPolicy, producers: usize, consumers: usize, per_producer: usize) {
    let queue = TaskQueue::with_policy(policy);
    let pushed = Latch::with_policy(producers as u32, policy);
    let total = producers * per_producer;
    let popped: Vec<Vec<usize>> = thread::scope(|s| {
        let handles: Vec<_> = (0..consumers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(id) = queue.pop() {
                        mine.push(id);
                    }
                    mine
                })
            })
            .collect();
        for p in 0..producers {
            let (queue, pushed) = (&queue, &pushed);
            s.spawn(move || {
                for id in p * per_producer..(p + 1) * per_producer {
                    queue.push(id).expect("queue closed before every producer was done");
                }
                pushed.count_down();
            });
        }
        pushed.wait();
        queue.close();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = vec![0u8; total];
    for id in popped.iter().flatten() {
        seen[*id] += 1;
    }
    let wrong: Vec<_> = seen.iter().enumerate().filter(|(_, &n)| n != 1).take(5).collect();
    assert!(wrong.is_empty(), "{policy}: ids not popped exactly once (id, times): {wrong:?}");
    let count: usize = popped.iter().map(Vec::len).sum();
    let sum: usize = popped.iter().flatten().sum();
    assert_eq!((count, sum), (total, total * (total - 1) / 2), "{policy}: count and sum");
    assert!(queue.is_empty() && queue.is_closed());
}

#[test]
fn queue_exactly_once_many_producers_many_consumers() {
    let _w = watchdog(WATCHDOG_SECS, "queue_exactly_once_many_producers_many_consumers");
    for policy in WaitPolicy::all() {
        exactly_once(policy, 3, 3, scaled(5000, policy));
    }
}

#[test]
fn queue_oversubscribed_hybrid_16_consumers() {
    let _w = watchdog(WATCHDOG_SECS, "queue_oversubscribed_hybrid_16_consumers");
    let policy = WaitPolicy::default();
    exactly_once(policy, 2, 16, scaled(10_000, policy));
}

#[test]
fn queue_push_racing_close_is_popped_or_handed_back() {
    let _w = watchdog(WATCHDOG_SECS, "queue_push_racing_close_is_popped_or_handed_back");
    for policy in WaitPolicy::all() {
        let per = 64;
        for round in 0..scaled(100, policy) {
            let queue = TaskQueue::with_policy(policy);
            let (popped, refused): (Vec<usize>, Vec<usize>) = thread::scope(|s| {
                let consumers: Vec<_> =
                    (0..2).map(|_| s.spawn(|| std::iter::from_fn(|| queue.pop()).collect::<Vec<_>>())).collect();
                let producers: Vec<_> = (0..2)
                    .map(|p| {
                        let queue = &queue;
                        s.spawn(move || {
                            (p * per..(p + 1) * per).filter_map(|id| queue.push(id).err()).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                // Close somewhere in the middle of the pushes.
                for _ in 0..round % 16 {
                    thread::yield_now();
                }
                queue.close();
                let refused = producers.into_iter().flat_map(|h| h.join().unwrap()).map(|e| e.into_inner());
                let refused = refused.collect();
                (consumers.into_iter().flat_map(|h| h.join().unwrap()).collect(), refused)
            });
            let mut seen = vec![0u8; 2 * per];
            for id in popped.iter().chain(&refused) {
                seen[*id] += 1;
            }
            assert!(seen.iter().all(|&n| n == 1), "{policy}: an id lost or duplicated: {seen:?}");
        }
    }
}

#[test]
fn queue_push_after_close_hands_the_value_back() {
    let _w = watchdog(WATCHDOG_SECS, "queue_push_after_close_hands_the_value_back");
    let queue = TaskQueue::new();
    queue.push(1).unwrap();
    assert!(!queue.is_closed());
    queue.close();
    queue.close(); // idempotent
    assert!(queue.is_closed());
    let e = queue.push(7).unwrap_err();
    assert!(e.to_string().contains("closed TaskQueue"), "{e}");
    assert_eq!(e.into_inner(), 7);
    assert_eq!(queue.len(), 1, "a refused push was queued");
    assert_eq!(queue.pop(), Some(1), "close dropped a queued task");
    assert_eq!(queue.pop(), None);
}

#[test]
fn queue_pop_returns_none_only_after_drain() {
    let _w = watchdog(WATCHDOG_SECS, "queue_pop_returns_none_only_after_drain");
    for policy in WaitPolicy::all() {
        let n = scaled(500, policy);
        let queue = TaskQueue::with_policy(policy);
        let got: Vec<usize> = thread::scope(|s| {
            let consumer = s.spawn(|| std::iter::from_fn(|| queue.pop()).collect());
            for i in 0..n {
                queue.push(i).unwrap();
                if i % 16 == 0 {
                    thread::yield_now(); // let the consumer catch up and wait
                }
            }
            // Tasks may still be queued here: close must not cut them off.
            queue.close();
            consumer.join().unwrap()
        });
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{policy}: None before drain, or out of order");
    }
}

#[test]
fn queue_pop_timeout_outcomes() {
    let _w = watchdog(WATCHDOG_SECS, "queue_pop_timeout_outcomes");
    for policy in WaitPolicy::all() {
        let queue = TaskQueue::with_policy(policy);
        assert_eq!(queue.pop_timeout(Duration::from_millis(5)), TimedPop::TimedOut, "{policy}: empty open queue");
        assert_eq!(queue.pop_timeout(Duration::ZERO), TimedPop::TimedOut, "{policy}: zero timeout");
        queue.push(3).unwrap();
        assert_eq!(queue.pop_timeout(Duration::from_millis(5)), TimedPop::Item(3), "{policy}");
        queue.close();
        assert_eq!(queue.pop_timeout(Duration::from_millis(5)), TimedPop::Closed, "{policy}: closed and drained");
    }
}

#[test]
fn queue_pop_timeout_gets_a_late_push() {
    let _w = watchdog(WATCHDOG_SECS, "queue_pop_timeout_gets_a_late_push");
    for policy in WaitPolicy::all() {
        let queue = TaskQueue::with_policy(policy);
        thread::scope(|s| {
            let c = s.spawn(|| queue.pop_timeout(Duration::from_secs(WATCHDOG_SECS / 2)));
            thread::yield_now();
            queue.push(9).unwrap();
            assert_eq!(c.join().unwrap(), TimedPop::Item(9), "{policy}: a waiting pop missed the push");
        });
    }
}

#[test]
fn queue_try_pop_never_blocks() {
    let _w = watchdog(WATCHDOG_SECS, "queue_try_pop_never_blocks");
    for policy in WaitPolicy::all() {
        let queue = TaskQueue::with_policy(policy);
        assert_eq!(queue.try_pop(), TryPop::Empty, "{policy}: empty open queue");
        queue.push("a").unwrap();
        queue.close();
        assert_eq!(queue.try_pop(), TryPop::Item("a"), "{policy}: closed but not drained");
        assert_eq!(queue.try_pop(), TryPop::Closed, "{policy}: closed and drained");
        assert_eq!(queue.try_pop().item(), None);
    }
}

#[test]
fn queue_fifo_single_producer_single_consumer() {
    let _w = watchdog(WATCHDOG_SECS, "queue_fifo_single_producer_single_consumer");
    for policy in [WaitPolicy::Block, WaitPolicy::default(), WaitPolicy::SpinYield] {
        let n = scaled(20_000, policy);
        let queue = TaskQueue::with_policy(policy);
        thread::scope(|s| {
            s.spawn(|| {
                let mut next = 0;
                while let Some(i) = queue.pop() {
                    assert_eq!(i, next, "{policy}: out of order");
                    next += 1;
                }
                assert_eq!(next, n, "{policy}: tasks missing");
            });
            for i in 0..n {
                queue.push(i).unwrap();
            }
            queue.close();
        });
    }
}

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn queue_drops_every_task_exactly_once() {
    let _w = watchdog(WATCHDOG_SECS, "queue_drops_every_task_exactly_once");
    // More than one block of crossbeam's Injector (63 slots), so that drop
    // walks several blocks.
    let n = if cfg!(miri) { 150 } else { 1000 };
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = TaskQueue::new();
    for _ in 0..n {
        queue.push(Counted(drops.clone())).unwrap();
    }
    for _ in 0..n / 3 {
        drop(queue.pop().expect("queued task missing"));
    }
    assert_eq!(drops.load(Ordering::Relaxed), n / 3, "popped tasks are dropped by the caller only");
    queue.close();
    drop(queue.push(Counted(drops.clone())).unwrap_err());
    assert_eq!(drops.load(Ordering::Relaxed), n / 3 + 1, "a refused task is dropped with its error");
    assert_eq!(queue.len(), n - n / 3);
    drop(queue);
    assert_eq!(drops.load(Ordering::Relaxed), n + 1, "dropping the queue drops every queued task once");
    assert_eq!(Arc::strong_count(&drops), 1, "a task leaked");
}
