//! loom model of a team barrier that runs tasks ("Barriers that run tasks"
//! in `src/barrier/README.md`): the real central barrier's helping wait
//! (`Barrier::wait_helping_as`) and the real `TaskEvents` word, with a
//! one-slot task queue standing in for the deques (crossbeam's deques are not
//! loom-instrumented). The master pushes a task, drains (runs or waits for
//! it), then arrives; the worker is already waiting at the barrier, and may
//! take the task from there. Every interleaving must end with the task run
//! exactly once, both parties through the barrier, and the task's effect
//! visible to both: no lost wake-up (push → waiter blocked on the event
//! word; release → waiter blocked on the event word).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_barrier_tasks`
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use phalanx::barrier::Helper;
use phalanx::tasks::counter::TaskEvents;
use phalanx::{Barrier, BarrierKind, WaitPolicy};

/// The stand-in task pool: `queued` holds 0 or 1 task; running it sets
/// `effect` (plain data, published by the completion) and counts `done`.
struct Pool {
    queued: AtomicUsize,
    ran: AtomicUsize,
    effect: AtomicUsize,
    done: AtomicUsize,
    events: TaskEvents,
    policy: WaitPolicy,
}

impl Pool {
    fn push(&self) {
        // Release: the push publishes the task (as the deque's push does).
        self.queued.store(1, Ordering::Release);
        self.events.notify_one(&self.policy);
    }

    /// Take and run the task if it is still queued; true if we ran it.
    fn run_one(&self) -> bool {
        // AcqRel: take it exactly once (as a steal does).
        if self.queued.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return false;
        }
        self.ran.fetch_add(1, Ordering::Relaxed);
        // Relaxed: published by the Release completion below.
        self.effect.store(7, Ordering::Relaxed);
        // Release: as the root count's AcqRel decrement.
        self.done.store(1, Ordering::Release);
        // A completion that drains the region wakes every waiter.
        self.events.notify(&self.policy);
        true
    }

    fn completed(&self) -> bool {
        // Acquire: pairs with the completion's Release.
        self.done.load(Ordering::Acquire) == 1
    }
}

impl Helper for Pool {
    fn has_work(&self) -> bool {
        // Relaxed: a hint, as `TaskPool::has_work`.
        self.queued.load(Ordering::Relaxed) != 0
    }
    fn help(&self) {
        self.run_one();
    }
    fn block_until(&self, ready: &mut dyn FnMut() -> bool) {
        self.events.wait(&WaitPolicy::Block, 2, ready);
    }
    fn wake(&self) {
        self.events.notify(&self.policy);
    }
    fn pass_on(&self) {
        if self.has_work() {
            self.events.notify_one(&self.policy);
        }
    }
}

fn model(policy: WaitPolicy) {
    loom::model(move || {
        let barrier = Arc::new(Barrier::builder(2).kind(BarrierKind::Central).wait_policy(policy).build().unwrap());
        let pool = Arc::new(Pool {
            queued: AtomicUsize::new(0),
            ran: AtomicUsize::new(0),
            effect: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            events: TaskEvents::new(),
            policy,
        });
        let worker = {
            let (barrier, pool) = (barrier.clone(), pool.clone());
            thread::spawn(move || {
                barrier.wait_helping_as(1, &*pool).expect("worker passes");
                // Relaxed: the barrier's release carries the master's view,
                // which includes the completion it acquired while draining.
                assert_eq!(
                    pool.effect.load(Ordering::Relaxed),
                    7,
                    "{policy}: task effect not visible after the barrier"
                );
            })
        };
        // The master: create, drain (run it or wait for whoever took it),
        // then arrive.
        pool.push();
        while !pool.completed() {
            if !pool.run_one() {
                pool.events.wait(&policy, 2, || pool.completed() || pool.has_work());
            }
        }
        barrier.wait_helping_as(0, &*pool).expect("master passes");
        worker.join().unwrap();
        assert_eq!(
            pool.ran.load(Ordering::Relaxed),
            1,
            "{policy}: the task ran {} times",
            pool.ran.load(Ordering::Relaxed)
        );
        assert_eq!(pool.effect.load(Ordering::Relaxed), 7);
    });
}

#[test]
fn barrier_waiter_runs_a_task_block() {
    model(WaitPolicy::Block);
}

#[test]
fn barrier_waiter_runs_a_task_spin() {
    model(WaitPolicy::Spin);
}
