//! loom models of the barriers: every interleaving (up to
//! `LOOM_MAX_PREEMPTIONS` preemptions) of the real protocol code.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_barrier`
//!
//! `WaitPolicy::Block` exercises the condvar parker and the sleepers fence
//! protocol of `WaitCell` (under loom the block backend is Mutex + Condvar);
//! `WaitPolicy::Spin` exercises the pure spin path (each spin yields to loom).
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use phalanx::barrier::{BarrierError, BreakReason};
use phalanx::{Barrier, BarrierKind, WaitPolicy};

/// Episodes per no-early-pass model.
const EPISODES: usize = 2;

/// One party: `EPISODES` times, count the arrival, wait, and check that all
/// `n` arrivals of the episode are visible. Returns how often it led.
/// With `ids`, party `id` waits through `wait_as(id)`; without, through
/// `wait()` (the tree then takes tickets).
fn party(b: &Barrier, arrived: &AtomicUsize, n: usize, id: usize, ids: bool) -> usize {
    let mut led = 0;
    for ep in 0..EPISODES {
        // Relaxed, here and below: only the barrier may order the other
        // parties' increments before our load; loom explores stale reads.
        arrived.fetch_add(1, Ordering::Relaxed);
        let r = if ids { b.wait_as(id) } else { b.wait() };
        let r = r.unwrap_or_else(|e| panic!("party {id}, episode {ep}: {e}"));
        led += usize::from(r.is_leader());
        let seen = arrived.load(Ordering::Relaxed);
        assert!(seen >= (ep + 1) * n, "party {id} passed episode {ep} with {seen} arrivals");
    }
    led
}

/// Branch budget per execution. loom's default (1 000) is too small for
/// three spinners: every spin is a yield, hence a scheduling branch.
const MAX_BRANCHES: usize = 20_000;

fn no_early_pass(kind: BarrierKind, n: usize, policy: WaitPolicy, ids: bool) {
    let mut model = loom::model::Builder::new();
    model.max_branches = MAX_BRANCHES;
    model.check(move || {
        let b = Arc::new(Barrier::builder(n).kind(kind).wait_policy(policy).build().unwrap());
        let arrived = Arc::new(AtomicUsize::new(0));
        let others: Vec<_> = (1..n)
            .map(|id| {
                let (b, arrived) = (b.clone(), arrived.clone());
                thread::spawn(move || party(&b, &arrived, n, id, ids))
            })
            .collect();
        let mut leaders = party(&b, &arrived, n, 0, ids);
        for h in others {
            leaders += h.join().unwrap();
        }
        assert_eq!(leaders, EPISODES, "one leader per episode");
    });
}

#[test]
fn central_two_threads_block() {
    no_early_pass(BarrierKind::Central, 2, WaitPolicy::Block, false);
}

#[test]
fn central_two_threads_spin() {
    no_early_pass(BarrierKind::Central, 2, WaitPolicy::Spin, true);
}

#[test]
fn central_three_threads_block() {
    no_early_pass(BarrierKind::Central, 3, WaitPolicy::Block, true);
}

// No three-thread `Spin` model: loom lets a spinning Acquire load keep
// reading the old value (allowed by the memory model, which only promises
// that stores become visible *eventually*), and each such read is a branch.
// With two spinners the executions outgrow 20 000 branches and the model ran
// for minutes without finishing. The three-thread models use `Block`, whose
// waiters park instead of spinning.

#[test]
fn tree_three_threads_block() {
    // Node 0 (the root) waits for children 1 and 2.
    no_early_pass(BarrierKind::Tree, 3, WaitPolicy::Block, true);
}

#[test]
fn tree_three_threads_tickets_block() {
    no_early_pass(BarrierKind::Tree, 3, WaitPolicy::Block, false);
}

#[test]
fn condvar_two_threads_block() {
    no_early_pass(BarrierKind::Condvar, 2, WaitPolicy::Block, true);
}

#[test]
fn condvar_two_threads_spin() {
    no_early_pass(BarrierKind::Condvar, 2, WaitPolicy::Spin, true);
}

/// One party waits, another breaks the barrier instead of arriving: the
/// waiter must return `Err(Broken)` with the reason, never hang.
fn break_while_waiting(kind: BarrierKind, policy: WaitPolicy) {
    loom::model(move || {
        let b = Arc::new(Barrier::builder(2).kind(kind).wait_policy(policy).build().unwrap());
        let waiter = {
            let b = b.clone();
            thread::spawn(move || b.wait_as(0))
        };
        b.break_barrier(BreakReason::Other("breaker".into()));
        let r = waiter.join().unwrap().map(|r| r.is_leader());
        assert_eq!(r, Err(BarrierError::Broken(BreakReason::Other("breaker".into()))));
    });
}

#[test]
fn central_break_while_waiting_block() {
    break_while_waiting(BarrierKind::Central, WaitPolicy::Block);
}

#[test]
fn central_break_while_waiting_spin() {
    break_while_waiting(BarrierKind::Central, WaitPolicy::Spin);
}

#[test]
fn tree_break_while_waiting_block() {
    // The waiter is the root, blocked on its node word, not on the epoch.
    break_while_waiting(BarrierKind::Tree, WaitPolicy::Block);
}

#[test]
fn condvar_break_while_waiting_block() {
    break_while_waiting(BarrierKind::Condvar, WaitPolicy::Block);
}
