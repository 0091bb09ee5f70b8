//! loom models of the task completion protocol (`src/tasks/README.md`):
//! the per-task reference count (`TaskNode`), the per-thread root count
//! (`RootCount`) and the event word with its idle announcement
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
use phalanx::tasks::counter::{ChildDone, RootCount, TaskEvents, TaskNode};
use phalanx::WaitPolicy;

const POLICIES: [WaitPolicy; 2] = [WaitPolicy::Block, WaitPolicy::Spin];

/// A running task with two children completing concurrently: its taskwait
/// returns exactly when both are done (their writes visible), the count ends
/// at the body's own reference, and dropping that frees the node.
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
                        // Relaxed: the child_done Release must publish it.
                        done[i].store(1, Ordering::Relaxed);
                        match node.child_done() {
                            ChildDone::LastChild => events.notify(&policy),
                            ChildDone::More => {}
                            ChildDone::Freed => panic!("{policy}: freed while the body runs"),
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
            assert_eq!(node.refs(), 1, "{policy}: count must end at the body's own reference");
            assert!(node.body_done(), "{policy}: the body's reference must be the last");
        });
    }
}

/// The body finishes before its children: the last child to complete frees
/// the node, exactly once.
#[test]
fn last_reference_frees_once() {
    loom::model(|| {
        let node = Arc::new(TaskNode::new());
        let freed = Arc::new(AtomicUsize::new(0));
        node.add_child();
        node.add_child();
        let children: Vec<_> = (0..2)
            .map(|_| {
                let (node, freed) = (node.clone(), freed.clone());
                thread::spawn(move || {
                    if node.child_done() == ChildDone::Freed {
                        // Relaxed: counted once, checked after join.
                        freed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        if node.body_done() {
            // Relaxed: as above.
            freed.fetch_add(1, Ordering::Relaxed);
        }
        for c in children {
            c.join().unwrap();
        }
        // Relaxed: after join.
        assert_eq!(freed.load(Ordering::Relaxed), 1, "exactly one holder frees the node");
        assert_eq!(node.refs(), 0);
    });
}

/// What `Ctx::complete` does with a root count.
fn complete(root: &RootCount, events: &TaskEvents, policy: WaitPolicy, child: bool) {
    let r = root.done(child);
    if r.drained || r.last_child {
        events.notify(&policy);
    }
}

/// A region body with two children, one of which creates a grandchild
/// before completing; a barrier-like waiter waits for the root to drain,
/// woken through the event word. Totals are conserved and end at zero.
#[test]
fn root_drains_with_a_grandchild() {
    for policy in POLICIES {
        loom::model(move || {
            let root = Arc::new(RootCount::new());
            let events = Arc::new(TaskEvents::new());
            let ran = Arc::new(AtomicUsize::new(0));
            root.add(true);
            root.add(true);
            let a = {
                let (root, events, ran) = (root.clone(), events.clone(), ran.clone());
                thread::spawn(move || {
                    // Relaxed: published by the root's Release decrement.
                    ran.fetch_add(1, Ordering::Relaxed);
                    complete(&root, &events, policy, true);
                })
            };
            let b = {
                let (root, events, ran) = (root.clone(), events.clone(), ran.clone());
                thread::spawn(move || {
                    // The child creates a grandchild (counted while it runs),
                    // completes, then runs the grandchild itself.
                    root.add(false);
                    // Relaxed: as above.
                    ran.fetch_add(1, Ordering::Relaxed);
                    complete(&root, &events, policy, true);
                    // Relaxed: as above.
                    ran.fetch_add(1, Ordering::Relaxed);
                    complete(&root, &events, policy, false);
                })
            };
            events.wait(&policy, 3, || root.drained());
            // Relaxed: `drained` acquired every completion.
            assert_eq!(ran.load(Ordering::Relaxed), 3, "{policy}: drained before every task ran");
            assert!(root.children_done());
            a.join().unwrap();
            b.join().unwrap();
            assert_eq!(root.word(), 0, "{policy}: root count must end at zero");
        });
    }
}
