//! The distributed master-worker: rank 0's producer pushes tasks, every
//! rank (rank 0's own team included) pulls them on demand, runs them on its
//! local `phalanx::Team` and sends the results back. The protocol, its
//! invariants and why the idle wait is what it is: `README.md` beside this
//! file.

mod local;
mod protocol;
mod root;
mod sends;
mod worker;

use crate::cluster::Cluster;
use crate::wire::Wire;
use local::Local;
use phalanx::sync::PushError;
use phalanx::Team;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A task's number, given by [`DistFeeder::push`] in push order from 0.
pub type TaskId = u64;

/// Where a task runs: the rank and the thread of that rank's team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// MPI rank.
    pub rank: usize,
    /// Thread of the rank's team (`ctx.thread_num()`).
    pub thread: usize,
}

/// How a rank waits for MPI when it holds no task at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleWait {
    /// `MPI_Iprobe` in a loop for [`DistConfig::spin`], then sleeps that
    /// double from [`MIN_SLEEP`] up to [`DistConfig::max_sleep`], probing
    /// between them; any message or local outcome resets it. The default:
    /// OpenMPI's blocking probe spins (see `Probe`).
    Backoff,
    /// A blocking `MPI_Probe`. The MPI standard calls it blocking, but
    /// OpenMPI's progress engine busy-polls inside it: an idle rank burns a
    /// whole core (measured in docs/mpi.md). Kept to show that cost.
    Probe,
}

/// The first sleep of [`IdleWait::Backoff`] after its spin phase. A wake
/// from a sleep costs 35–55 µs on the reference VM (DESIGN.md), so shorter
/// sleeps buy no latency.
pub const MIN_SLEEP: Duration = Duration::from_micros(50);

/// Settings of a distributed master-worker run. The same on every rank.
#[derive(Debug, Clone)]
pub struct DistConfig {
    /// Back-pressure: a rank holds at most this many tasks per thread of its
    /// team (queued, running, or finished and not yet reported). It asks for
    /// more once it holds half of that.
    pub in_flight_per_thread: usize,
    /// Smallest chunk rank 0 sends once the producer is done and the pool
    /// has that many tasks; chunks are otherwise guided (the requester's
    /// share, by threads, of half the pool, capped by what it asked for).
    /// While the producer runs a rank gets what is there, up to its request.
    pub min_chunk: usize,
    /// How a rank with no task waits for MPI.
    pub idle: IdleWait,
    /// Spin phase of a wait for MPI (probing in a loop) before sleeping.
    pub spin: Duration,
    /// Longest sleep between probes; bounds how late a rank notices a message.
    pub max_sleep: Duration,
}

impl Default for DistConfig {
    fn default() -> Self {
        DistConfig {
            in_flight_per_thread: 32,
            min_chunk: 1,
            idle: IdleWait::Backoff,
            spin: Duration::from_micros(20),
            max_sleep: Duration::from_millis(1),
        }
    }
}

impl DistConfig {
    fn bound(&self, threads: usize) -> usize {
        (self.in_flight_per_thread * threads).max(1)
    }

    fn low_water(&self, threads: usize) -> usize {
        self.bound(threads) / 2
    }
}

/// A task that panicked: where, which, and the panic's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The rank it ran on.
    pub rank: usize,
    /// The thread of that rank's team.
    pub thread: usize,
    /// The task.
    pub id: TaskId,
    /// The panic message.
    pub message: String,
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} panicked on rank {} thread {}: {}", self.id, self.rank, self.thread, self.message)
    }
}

/// A distributed run that failed. Every task pushed is in exactly one of
/// `done`, `failures` (by id) and `unrun`.
pub struct DistError<T, R> {
    /// The tasks that panicked (the first one stopped the run; others may
    /// have been running at the same time).
    pub failures: Vec<TaskFailure>,
    /// The producer's panic message, if it panicked.
    pub producer_panic: Option<String>,
    /// Protocol violations found by rank 0's ledger (a bug in this crate if
    /// ever non-empty: a result for a task not in flight, or a task that
    /// never came back).
    pub internal: Vec<String>,
    /// Tasks that never ran, by id.
    pub unrun: Vec<(TaskId, T)>,
    /// Tasks that ran, with their results, sorted by id.
    pub done: Vec<(TaskId, R)>,
}

impl<T, R> fmt::Display for DistError<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "distributed master-worker failed: ")?;
        if let Some(first) = self.failures.first() {
            write!(f, "{first}")?;
            if self.failures.len() > 1 {
                write!(f, " (and {} more)", self.failures.len() - 1)?;
            }
        } else if let Some(p) = &self.producer_panic {
            write!(f, "the producer panicked: {p}")?;
        } else if let Some(e) = self.internal.first() {
            write!(f, "internal error: {e}")?;
        }
        write!(f, "; {} done, {} never ran (in DistError::unrun)", self.done.len(), self.unrun.len())
    }
}

impl<T, R> fmt::Debug for DistError<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DistError")
            .field("failures", &self.failures)
            .field("producer_panic", &self.producer_panic)
            .field("internal", &self.internal)
            .field("unrun", &format_args!("[{} task(s)]", self.unrun.len()))
            .field("done", &format_args!("[{} result(s)]", self.done.len()))
            .finish()
    }
}

impl<T, R> std::error::Error for DistError<T, R> {}

/// A run that succeeded: every result, sorted by task id, and statistics.
#[derive(Debug)]
pub struct Done<R> {
    /// `(id, result)` for every task pushed, sorted by id.
    pub results: Vec<(TaskId, R)>,
    /// Tasks run by each rank.
    pub tasks_per_rank: Vec<u64>,
    /// Messages rank 0 sent and received.
    pub messages: u64,
}

/// What rank 0's producer gets: [`push`](Self::push) a task, get its id.
/// Lives on the owner thread only (it talks to MPI while it pushes).
/// Neither `Send` nor `Sync`, so no other thread can push through it:
///
/// ```compile_fail
/// fn shared_with_threads<T: Sync>() {}
/// shared_with_threads::<phalanx_mpi::DistFeeder<'static, u64>>();
/// ```
///
/// ```compile_fail
/// fn moved_to_a_thread<T: Send>() {}
/// moved_to_a_thread::<phalanx_mpi::DistFeeder<'static, u64>>();
/// ```
pub struct DistFeeder<'f, T> {
    push: &'f dyn Fn(T) -> Result<TaskId, PushError<T>>,
}

impl<T> DistFeeder<'_, T> {
    /// Queue a task for whichever rank asks first; returns its id. Also
    /// serves the requests that arrived meanwhile, so a producer that pushes
    /// keeps every rank fed. Refused, with the task handed back, once the
    /// run has failed.
    pub fn push(&self, task: T) -> Result<TaskId, PushError<T>> {
        (self.push)(task)
    }
}

impl<T> fmt::Debug for DistFeeder<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DistFeeder")
    }
}

/// The spin-then-sleep schedule of a wait for MPI (see [`IdleWait`]).
pub(crate) struct Backoff {
    spin: Duration,
    max_sleep: Duration,
    since: Option<Instant>,
    sleep: Duration,
}

impl Backoff {
    pub(crate) fn new(cfg: &DistConfig) -> Self {
        Backoff { spin: cfg.spin, max_sleep: cfg.max_sleep.max(MIN_SLEEP), since: None, sleep: MIN_SLEEP }
    }

    /// Something happened: the next wait starts with the spin phase again.
    pub(crate) fn reset(&mut self) {
        self.since = None;
        self.sleep = MIN_SLEEP;
    }

    /// `None`: probe again at once (spin phase); `Some(d)`: sleep `d` first.
    pub(crate) fn next(&mut self) -> Option<Duration> {
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() < self.spin {
            return None;
        }
        let d = self.sleep;
        self.sleep = (self.sleep * 2).min(self.max_sleep);
        Some(d)
    }
}

impl Cluster {
    /// The distributed master-worker. Every rank calls it with the same
    /// arguments (SPMD), from the thread that called [`Cluster::init`],
    /// with its own `team`. On rank 0 `producer` runs and pushes tasks; on
    /// every rank the team's threads run `worker(place, task)` on the tasks
    /// the rank pulled (thread 0 of each rank also talks to MPI between
    /// tasks). Returns on rank 0 once every task has run (or the run
    /// failed), with every result; `None` on the other ranks, once rank 0
    /// told them to stop.
    ///
    /// A task that panics is caught, reported with its rank, thread, id and
    /// message, and stops the run: rank 0 refuses further pushes and tells
    /// every rank to stop; what was not run comes back in
    /// [`DistError::unrun`]. `worker` must not use barriers (threads run
    /// different numbers of tasks).
    ///
    /// # Panics
    /// If not called on the owner thread, or if a message does not decode
    /// (the ranks run different binaries).
    pub fn master_worker<T, R, P, W>(
        &self,
        team: &Team,
        cfg: &DistConfig,
        producer: P,
        worker: W,
    ) -> Option<Result<Done<R>, DistError<T, R>>>
    where
        T: Wire + Send,
        R: Wire + Send,
        P: FnOnce(&DistFeeder<'_, T>) + Send,
        W: Fn(Place, T) -> R + Sync,
    {
        assert!(self.is_owner(), "phalanx-mpi: master_worker must run on the thread that called Cluster::init");
        let local: Local<T, R> = Local::new(team.wait_policy());
        let threads = team.num_threads();
        let rank = self.rank();
        let out = Mutex::new(None);
        let producer = Mutex::new(Some(producer));
        team.parallel(|ctx| {
            let place = Place { rank, thread: ctx.thread_num() };
            if !ctx.is_master() {
                local.serve(place, &worker);
                return;
            }
            // Closes the local queue on every exit, so a panic on this
            // thread (an MPI or decode error) cannot leave threads 1.. in `pop`.
            let _close = CloseOnDrop(&local);
            let comm = self.owner_comm("master_worker");
            if rank == 0 {
                let p = producer.lock().unwrap_or_else(|e| e.into_inner()).take().expect("producer runs once");
                let r = root::run(comm, cfg, &local, &worker, threads, p);
                *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            } else {
                worker::run(comm, cfg, &local, &worker, threads);
            }
        });
        out.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

struct CloseOnDrop<'a, T, R>(&'a Local<T, R>);

impl<T, R> Drop for CloseOnDrop<'_, T, R> {
    fn drop(&mut self) {
        self.0.queue.close();
    }
}
