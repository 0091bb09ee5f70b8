#![cfg(test)]

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn smoke_no_thread_passes_early() {
    for policy in WaitPolicy::all() {
        let n = 3;
        let b = Barrier::builder(n).wait_policy(policy).build().unwrap();
        let arrived = AtomicUsize::new(0);
        let leaders = AtomicUsize::new(0);
        // SleepPoll sees each release up to 1 ms late; oversubscribed Spin
        // waits for preemption. Both get few rounds.
        let slow = matches!(policy, WaitPolicy::SleepPoll { .. })
            || (policy == WaitPolicy::Spin && crate::wait::oversubscribed(n));
        let rounds = if cfg!(miri) {
            5
        } else if slow {
            20
        } else {
            500
        };
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    for r in 0..rounds {
                        arrived.fetch_add(1, Ordering::Relaxed);
                        if b.wait().unwrap().is_leader() {
                            leaders.fetch_add(1, Ordering::Relaxed);
                        }
                        let seen = arrived.load(Ordering::Relaxed);
                        assert!(seen >= (r + 1) * n, "{policy}: passed round {r} with {seen} arrivals");
                        b.wait().unwrap();
                    }
                });
            }
        });
        assert_eq!(leaders.load(Ordering::Relaxed), rounds);
    }
}
