//! [`Team::master_worker`]: the seed's master-worker pattern, packaged. The
//! master (thread 0) runs a producer that pushes tasks into a [`TaskQueue`];
//! every thread, the master too once its producer returns, pops and runs
//! them. Protocol and failure rules: "Master-worker" in `README.md` beside
//! this file.

use super::{Ctx, Exclusive, RegionError, Team};
use crate::primitive::{AtomicBool, Mutex, Ordering};
use crate::sync::{PushError, TaskQueue, TryPop};
use std::fmt;

/// What a [`Team::master_worker`] producer gets: the handle through which it
/// pushes tasks. Borrowed for the producer's call only, so no task can be
/// pushed after the producer returns.
pub struct Feeder<'r, T> {
    run: &'r RunState<T>,
}

impl<T> fmt::Debug for Feeder<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feeder").field("queue", &self.run.queue).field("failed", &self.has_failed()).finish()
    }
}

impl<T> Feeder<'_, T> {
    /// Queue `task` for the workers; a blocked worker wakes at once. Once the
    /// run has failed (a worker panicked) the queue is closed and the task is
    /// handed back in the [`PushError`] instead of being lost: the producer
    /// should stop, keep it, or drop it knowingly.
    pub fn push(&self, task: T) -> Result<(), PushError<T>> {
        self.run.queue.push(task)
    }

    /// Whether the run has failed: every later [`push`](Self::push) is refused.
    pub fn has_failed(&self) -> bool {
        // Acquire: pairs with the Release store in `FailGuard::drop`.
        self.run.failed.load(Ordering::Acquire)
    }

    /// Tasks queued and not yet taken by a worker (a snapshot).
    pub fn backlog(&self) -> usize {
        self.run.queue.len()
    }
}

/// A master-worker run failed: the region's error, and every task that was
/// pushed but never given to a worker. "Every task pushed runs exactly once,
/// or comes back here" (the task a panicking worker was running counts as
/// run: it was consumed).
///
/// It is `Send + Sync` for every `T: Send`, even a task type that is not
/// `Sync` (a `Box<dyn FnOnce() + Send>`): the unrun tasks are reached by value
/// ([`into_unrun`](Self::into_unrun)) or, for `Sync` tasks, through
/// [`unrun`](Self::unrun). So `?` converts it into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error` (with `T: 'static`).
pub struct MasterWorkerError<T> {
    /// Why the region failed (the first panic, with its thread).
    pub region: RegionError,
    /// The tasks never run, in no particular order.
    unrun: Exclusive<Vec<T>>,
    /// `unrun`'s length (fixed: nothing removes or adds tasks through `&mut`).
    unrun_len: usize,
}

impl<T> MasterWorkerError<T> {
    fn new(region: RegionError, unrun: Vec<T>) -> Self {
        MasterWorkerError { region, unrun_len: unrun.len(), unrun: Exclusive::new(unrun) }
    }

    /// The thread at fault (0 = the producer's thread).
    pub fn thread(&self) -> usize {
        self.region.thread()
    }

    /// How many tasks never ran.
    pub fn unrun_len(&self) -> usize {
        self.unrun_len
    }

    /// The tasks never run, in no particular order (for `Sync` tasks; any
    /// task type: [`into_unrun`](Self::into_unrun)).
    pub fn unrun(&self) -> &[T]
    where
        T: Sync,
    {
        self.unrun.get()
    }

    /// The tasks never run, in no particular order.
    pub fn into_unrun(self) -> Vec<T> {
        self.unrun.into_inner()
    }

    /// The region's error and the tasks never run.
    pub fn into_parts(self) -> (RegionError, Vec<T>) {
        (self.region, self.unrun.into_inner())
    }

    /// Re-raise the region's panic on this thread (the unrun tasks are dropped).
    pub fn resume(self) -> ! {
        self.region.resume()
    }
}

impl<T> fmt::Display for MasterWorkerError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "master-worker run failed: {}; {} task(s) never ran and are handed back in MasterWorkerError::unrun",
            self.region, self.unrun_len
        )
    }
}

impl<T> fmt::Debug for MasterWorkerError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterWorkerError")
            .field("region", &self.region)
            .field("unrun", &format_args!("[{} task(s)]", self.unrun_len))
            .finish()
    }
}

impl<T> std::error::Error for MasterWorkerError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.region)
    }
}

/// What the members of one run share.
struct RunState<T> {
    queue: TaskQueue<T>,
    /// Set (once, never cleared) when a member unwinds; workers stop taking
    /// tasks and hand back the one they just popped.
    failed: AtomicBool,
    /// Tasks popped after the failure, not run.
    returned: Mutex<Vec<T>>,
}

impl<T: Send> RunState<T> {
    /// Pop and run tasks until the queue is closed and drained, or the run
    /// failed.
    fn drain<W: Fn(&Ctx<'_>, T)>(&self, ctx: &Ctx<'_>, worker: &W) {
        while let Some(task) = self.queue.pop() {
            // Acquire: pairs with the Release store in `FailGuard::drop`; a
            // worker woken by the failure's `close` sees the flag here.
            if self.failed.load(Ordering::Acquire) {
                self.returned.lock().unwrap_or_else(|e| e.into_inner()).push(task);
                return;
            }
            worker(ctx, task);
        }
    }
}

/// Marks the run failed and closes the queue if dropped while unwinding:
/// the queue is closed on every exit path, so no worker stays blocked in
/// `pop`, and every later push is refused.
struct FailGuard<'r, T>(&'r RunState<T>);

impl<T> Drop for FailGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Release: before the close below, whose Release RMW on the queue
            // words a woken worker acquires; it then sees this flag.
            self.0.failed.store(true, Ordering::Release);
            self.0.queue.close();
        }
    }
}

impl Team {
    /// The seed's master-worker pattern: thread 0 runs `producer`, which
    /// pushes tasks through its [`Feeder`]; the other threads run
    /// `worker(ctx, task)` for each task as soon as it is queued (they wait
    /// under the team's wait policy, no polling). When the producer returns
    /// the queue is closed and thread 0 joins the draining. Returns once
    /// every task has run.
    ///
    /// Called inside a region, it runs with one thread (producer, then every
    /// task), like a nested [`parallel`](Self::parallel). `worker` must not
    /// call barriers: the threads run different numbers of tasks.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// let team = phalanx::Team::builder().num_threads(3).build().unwrap();
    /// let sum = AtomicU64::new(0);
    /// team.master_worker(
    ///     |feed| for t in 1..=100u64 { feed.push(t).unwrap() },
    ///     |_ctx, t| { sum.fetch_add(t, Relaxed); },
    /// );
    /// assert_eq!(sum.into_inner(), 5050);
    /// ```
    ///
    /// # Panics
    /// Re-raises the first panic of the producer or of a worker (the tasks
    /// not yet run are dropped; use [`try_master_worker`](Self::try_master_worker)
    /// to get them back).
    pub fn master_worker<T, P, W>(&self, producer: P, worker: W)
    where
        T: Send,
        P: FnOnce(&Feeder<'_, T>) + Send,
        W: Fn(&Ctx<'_>, T) + Sync,
    {
        if let Err(e) = self.try_master_worker(producer, worker) {
            e.resume()
        }
    }

    /// As [`master_worker`](Self::master_worker), returning a failure instead
    /// of re-raising it, with every task that never ran. On a failure the
    /// queue is closed (pushes are refused, blocked workers wake), each
    /// worker finishes the task it is running and stops, and what is left in
    /// the queue comes back in [`MasterWorkerError::unrun`]. The team stays
    /// usable.
    pub fn try_master_worker<T, P, W>(&self, producer: P, worker: W) -> Result<(), MasterWorkerError<T>>
    where
        T: Send,
        P: FnOnce(&Feeder<'_, T>) + Send,
        W: Fn(&Ctx<'_>, T) + Sync,
    {
        let run = RunState {
            queue: TaskQueue::with_policy(self.wait_policy()),
            failed: AtomicBool::new(false),
            returned: Mutex::new(Vec::new()),
        };
        let producer = Mutex::new(Some(producer));
        let result = self.try_parallel(|ctx| {
            let _guard = FailGuard(&run);
            if ctx.is_master() {
                let p = producer.lock().unwrap_or_else(|e| e.into_inner()).take();
                let p = p.expect("phalanx: master_worker: thread 0 runs the producer once");
                p(&Feeder { run: &run });
                run.queue.close();
            }
            run.drain(ctx, &worker);
        });
        // Every member has finished: no push is in flight and none can start.
        run.queue.close();
        let mut unrun = run.returned.into_inner().unwrap_or_else(|e| e.into_inner());
        while let TryPop::Item(t) = run.queue.try_pop() {
            unrun.push(t);
        }
        match result {
            Ok(()) => {
                debug_assert!(unrun.is_empty(), "a successful master-worker run left {} task(s)", unrun.len());
                Ok(())
            }
            Err(region) => Err(MasterWorkerError::new(region, unrun)),
        }
    }
}
