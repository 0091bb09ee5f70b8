//! loom model of the ordered hand-off (`OrderedTurns`, "Ordered hand-off" in
//! `src/worksharing/README.md`): two threads share a three-iteration loop
//! as `static,1` gives it (thread 0: iterations 0 and 2, thread 1:
//! iteration 1). Every interleaving must run the ordered parts in iteration
//! order, each seeing the previous one's plain (Relaxed) writes through the
//! turn word alone, and end with the word back at turn 0. A poisoned word
//! must release a waiter whose turn never comes (no lost wake-up).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --release --test loom_ordered`
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use phalanx::worksharing::{OrderedTurns, TurnLost};
use phalanx::WaitPolicy;

const LEN: u32 = 3;

/// Iteration `i`'s ordered part: the previous part's write must be visible.
fn ordered_part(turns: &OrderedTurns, policy: &WaitPolicy, log: &AtomicUsize, i: u32) {
    let r: Result<(), TurnLost<()>> = turns.wait_turn(policy, 2, i, None, || Ok(()));
    assert_eq!(r, Ok(()), "turn {i}");
    // Relaxed, here and below: only the turn word may order these.
    assert_eq!(log.load(Ordering::Relaxed), i as usize, "ordered part {i} ran out of order");
    log.store(i as usize + 1, Ordering::Relaxed);
    turns.pass(policy, i, i + 1 == LEN);
}

fn hand_off(policy: WaitPolicy) {
    let mut model = loom::model::Builder::new();
    model.max_branches = 20_000;
    model.check(move || {
        let turns = Arc::new(OrderedTurns::new());
        let log = Arc::new(AtomicUsize::new(0));
        let (t2, l2) = (turns.clone(), log.clone());
        let other = thread::spawn(move || ordered_part(&t2, &policy, &l2, 1));
        ordered_part(&turns, &policy, &log, 0);
        ordered_part(&turns, &policy, &log, 2);
        other.join().unwrap();
        assert_eq!(log.load(Ordering::Relaxed), LEN as usize);
        // The next loop starts at turn 0 without a reset.
        let r: Result<(), TurnLost<()>> = turns.wait_turn(&policy, 2, 0, None, || Ok(()));
        assert_eq!(r, Ok(()));
    });
}

fn poison_releases(policy: WaitPolicy) {
    let mut model = loom::model::Builder::new();
    model.max_branches = 20_000;
    model.check(move || {
        let turns = Arc::new(OrderedTurns::new());
        let t2 = turns.clone();
        // Thread 1 "panics" before passing turn 0: it poisons the word.
        let other = thread::spawn(move || t2.poison(&policy));
        let r: Result<(), TurnLost<()>> = turns.wait_turn(&policy, 2, 1, None, || Ok(()));
        assert_eq!(r, Err(TurnLost::Poisoned));
        other.join().unwrap();
    });
}

#[test]
fn hand_off_block() {
    hand_off(WaitPolicy::Block);
}

#[test]
fn hand_off_spin() {
    hand_off(WaitPolicy::Spin);
}

#[test]
fn poison_releases_block() {
    poison_releases(WaitPolicy::Block);
}

#[test]
fn poison_releases_spin() {
    poison_releases(WaitPolicy::Spin);
}
