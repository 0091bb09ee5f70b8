//! One rank's own team: the tasks this rank holds, the outcomes its threads
//! produced, and the wake-up of the owner thread (thread 0, which talks to
//! MPI) when an outcome is ready. Threads 1.. block in the phalanx
//! `TaskQueue`; thread 0 never blocks there (it must keep talking to MPI)
//! and runs tasks with `try_pop` between its MPI steps.

use super::protocol::Outcome;
use super::{Place, TaskId};
use phalanx::sync::TryPop;
use phalanx::{TaskQueue, WaitPolicy};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Outcomes, and tasks handed back unrun, as `Local::take` returns them.
pub(crate) type Taken<T, R> = (Vec<(TaskId, Outcome<R>)>, Vec<(TaskId, T)>);

/// What the threads hand to the owner.
struct Finished<T, R> {
    done: Vec<(TaskId, Outcome<R>)>,
    /// Taken from the queue after the rank failed: not run, handed back.
    returned: Vec<(TaskId, T)>,
    /// The owner sleeps on `Local::wake` and wants a notify.
    owner_waiting: bool,
}

pub(crate) struct Local<T, R> {
    pub(crate) queue: TaskQueue<(TaskId, T)>,
    finished: Mutex<Finished<T, R>>,
    wake: Condvar,
    /// Set once (never cleared) when a task of this rank panicked or rank 0
    /// aborted the run: tasks taken from the queue afterwards are returned.
    failed: AtomicBool,
}

impl<T, R> Local<T, R> {
    pub(crate) fn new(policy: WaitPolicy) -> Self {
        Local {
            queue: TaskQueue::with_policy(policy),
            finished: Mutex::new(Finished { done: Vec::new(), returned: Vec::new(), owner_waiting: false }),
            wake: Condvar::new(),
            failed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Finished<T, R>> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn has_failed(&self) -> bool {
        // Relaxed: a hint only; the outcome that caused the failure travels
        // under the `finished` lock, which orders everything the owner acts on.
        self.failed.load(Ordering::Relaxed)
    }

    /// Stop running tasks: what is queued, or taken from now on, is handed
    /// back; threads blocked in `pop` drain the queue and leave.
    pub(crate) fn fail(&self) {
        // Relaxed: see `has_failed`; `close` below has its own ordering.
        self.failed.store(true, Ordering::Relaxed);
        self.queue.close();
    }

    /// Run one task taken from the queue (or hand it back if the rank
    /// failed), and tell the owner.
    pub(crate) fn handle<W>(&self, place: Place, id: TaskId, task: T, worker: &W)
    where
        W: Fn(Place, T) -> R,
    {
        if self.has_failed() {
            let mut f = self.lock();
            f.returned.push((id, task));
            self.notify(f);
            return;
        }
        let outcome = match catch_unwind(AssertUnwindSafe(|| worker(place, task))) {
            Ok(r) => Outcome::Ok(r),
            Err(payload) => {
                // Relaxed: see `has_failed`.
                self.failed.store(true, Ordering::Relaxed);
                Outcome::Panicked { thread: place.thread, message: panic_message(payload.as_ref()) }
            }
        };
        let mut f = self.lock();
        f.done.push((id, outcome));
        self.notify(f);
    }

    fn notify(&self, f: MutexGuard<'_, Finished<T, R>>) {
        let waiting = f.owner_waiting;
        drop(f);
        if waiting {
            self.wake.notify_one();
        }
    }

    /// Threads 1..: take and run tasks until the queue is closed and drained.
    pub(crate) fn serve<W>(&self, place: Place, worker: &W)
    where
        W: Fn(Place, T) -> R,
    {
        while let Some((id, t)) = self.queue.pop() {
            self.handle(place, id, t, worker);
        }
    }

    /// The owner: run one queued task if there is one.
    pub(crate) fn run_one<W>(&self, place: Place, worker: &W) -> bool
    where
        W: Fn(Place, T) -> R,
    {
        match self.queue.try_pop() {
            TryPop::Item((id, t)) => {
                self.handle(place, id, t, worker);
                true
            }
            _ => false,
        }
    }

    /// The owner: every outcome and returned task so far.
    pub(crate) fn take(&self) -> Taken<T, R> {
        let mut f = self.lock();
        (std::mem::take(&mut f.done), std::mem::take(&mut f.returned))
    }

    /// The owner: sleep until an outcome is ready or `timeout` passed.
    pub(crate) fn wait(&self, timeout: Duration) {
        let mut f = self.lock();
        if !f.done.is_empty() || !f.returned.is_empty() {
            return;
        }
        f.owner_waiting = true;
        let (mut f, _) = self.wake.wait_timeout(f, timeout).unwrap_or_else(|e| e.into_inner());
        f.owner_waiting = false;
    }
}

/// The text of a panic payload (`&str` or `String`; otherwise a placeholder).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
