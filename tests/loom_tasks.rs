//! loom models of the task completion protocol (`src/tasks/README.md`):
//! the per-task live/pending counts (`TaskNode`), the per-thread root count
//! (`RootCount`), finishing that propagates up the tree, and the event word
//! with its idle announcement
//! (`TaskEvents`), driven the way `Ctx::task`, `complete` and the help loop
//! drive them. Both with `Block` (exercises the parker: under loom a Mutex +
//! Condvar) and `Spin`.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_tasks`
//!
//! The deques are crossbeam's (not loom-instrumented) and are not modelled;
//! the counters and the wake-up protocol, which decide when a waiter may
//! return, are the real code.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use phalanx::tasks::counter::{RootCount, TaskEvents, TaskNode, LIVE_ONE};
use phalanx::WaitPolicy;

const POLICIES: [WaitPolicy; 2] = [WaitPolicy::Block, WaitPolicy::Spin];

/// A running task with two leaf children completing concurrently: its
/// taskwait returns exactly when both bodies returned (their writes visible),
/// the count ends at the body's own live unit, and dropping that finishes
/// the node.
#[test]
fn taskwait_for_two_children() {
    for policy in POLICIES {
        loom::model(move || {
            let node = Arc::new(TaskNode::new());
            let events = Arc::new(TaskEvents::new());
            let done = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
            node.add_child();
            node.add_child();
            let children: Vec<_> = (0..2)
                .map(|i| {
                    let (node, events, done) = (node.clone(), events.clone(), done.clone());
                    thread::spawn(move || {
                        // Relaxed: the signal's Release must publish it.
                        done[i].store(1, Ordering::Relaxed);
                        // A leaf: its body returned and its subtree finished.
                        let r = node.child_signal(true, true);
                        assert!(!r.finished, "{policy}: finished while the body runs");
                        if r.last_pending {
                            events.notify(&policy);
                        }
                    })
                })
                .collect();
            events.wait(&policy, 3, || node.children_done());
            for (i, d) in done.iter().enumerate() {
                // Relaxed: taskwait's Acquire must have made it visible.
                assert_eq!(d.load(Ordering::Relaxed), 1, "{policy}: taskwait returned before child {i} finished");
            }
            for c in children {
                c.join().unwrap();
            }
            assert_eq!(node.word(), LIVE_ONE, "{policy}: count must end at the body's own live unit");
            assert!(node.body_done(), "{policy}: the body's live unit must be the last");
        });
    }
}

/// The body returns before its children finish: exactly one party (the
/// body or the last child) finishes the node.
#[test]
fn last_live_unit_finishes_once() {
    loom::model(|| {
        let node = Arc::new(TaskNode::new());
        let finished = Arc::new(AtomicUsize::new(0));
        node.add_child();
        node.add_child();
        let children: Vec<_> = (0..2)
            .map(|_| {
                let (node, finished) = (node.clone(), finished.clone());
                thread::spawn(move || {
                    if node.child_signal(true, true).finished {
                        // Relaxed: counted once, checked after join.
                        finished.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        // The body returns: with live children `try_finish_leaf` fails and
        // the body drops its unit (after its pending signal, not modelled).
        if node.try_finish_leaf() || node.body_done() {
            // Relaxed: as above.
            finished.fetch_add(1, Ordering::Relaxed);
        }
        for c in children {
            c.join().unwrap();
        }
        // Relaxed: after join.
        assert_eq!(finished.load(Ordering::Relaxed), 1, "exactly one holder finishes the node");
        assert_eq!(node.word(), 0);
    });
}

/// What `Ctx::complete` does at the top of a cascade.
fn notify_root(root: &RootCount, events: &TaskEvents, policy: WaitPolicy, pending: bool, live: bool) {
    let r = root.child_signal(pending, live);
    if r.last_pending || r.finished {
        events.notify(&policy);
    }
}

/// A region body with two children: `a` a leaf, `b` a task that creates a
/// grandchild `g` and returns before `g` runs on another thread. `b`'s body
/// signals the root "pending" only; `g`'s finishing finishes `b`, which then
/// signals the root "live" (the cascade of `Ctx::complete`). A barrier-like
/// waiter waits for the root to drain, woken through the event word; it must
/// see all three bodies' writes, and the counts end at zero.
#[test]
fn root_drains_through_a_cascade() {
    for policy in POLICIES {
        loom::model(move || {
            let root = Arc::new(RootCount::new());
            let events = Arc::new(TaskEvents::new());
            let ran = Arc::new(AtomicUsize::new(0));
            root.add_child();
            root.add_child();
            let a = {
                let (root, events, ran) = (root.clone(), events.clone(), ran.clone());
                thread::spawn(move || {
                    // Relaxed: published by the root's Release decrement.
                    ran.fetch_add(1, Ordering::Relaxed);
                    notify_root(&root, &events, policy, true, true);
                })
            };
            let b = {
                let (root, events, ran) = (root.clone(), events.clone(), ran.clone());
                thread::spawn(move || {
                    let node = Arc::new(TaskNode::new());
                    node.add_child();
                    // `g` runs elsewhere (the spawn stands for push + steal).
                    let g = {
                        let (root, events, ran, node) = (root.clone(), events.clone(), ran.clone(), node.clone());
                        thread::spawn(move || {
                            // Relaxed: as above.
                            ran.fetch_add(1, Ordering::Relaxed);
                            if node.child_signal(true, true).finished {
                                notify_root(&root, &events, policy, false, true);
                            }
                        })
                    };
                    // Relaxed: as above.
                    ran.fetch_add(1, Ordering::Relaxed);
                    // As `Ctx::complete`: a leaf finishes in one step; with
                    // a live child, the pending signal goes first.
                    if node.try_finish_leaf() {
                        notify_root(&root, &events, policy, true, true);
                    } else {
                        notify_root(&root, &events, policy, true, false);
                        if node.body_done() {
                            notify_root(&root, &events, policy, false, true);
                        }
                    }
                    g.join().unwrap();
                })
            };
            events.wait(&policy, 3, || root.drained());
            // Relaxed: `drained` acquired every signal, and each chained the
            // writes before it.
            assert_eq!(ran.load(Ordering::Relaxed), 3, "{policy}: drained before every task ran");
            assert!(root.children_done());
            a.join().unwrap();
            b.join().unwrap();
            assert_eq!(root.word(), 0, "{policy}: root count must end at zero");
        });
    }
}
