//! [`Cluster`]: this process's place among the MPI ranks, and the
//! `MPI_THREAD_FUNNELED` rule made a type: only the thread that initialized
//! MPI (the *owner*, thread 0 of the regions it runs) can reach the
//! communicator, through a [`Comm`] that cannot leave that thread.
//!
//! ```no_run
//! use phalanx_mpi::Cluster;
//! let cluster = Cluster::init().expect("MPI");
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! team.parallel(|ctx| {
//!     // ... every thread computes its part ...
//!     let sum = cluster.exchange(ctx, |comm| comm.all_sum(1.0));   // barrier, owner talks, barrier
//!     assert_eq!(sum, cluster.size() as f64);                       // every thread gets it
//! });
//! ```

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Threading;
use phalanx::{Ctx, Schedule};
use std::fmt;
use std::marker::PhantomData;
use std::thread::ThreadId;

/// This process's MPI rank, the world's size, and the communicator, which
/// only the owner thread can use (see [`Cluster::comm`]). Create one per
/// process, on the main thread, with [`Cluster::init`]; dropping it
/// finalizes MPI. `Cluster` is `Sync` so a region closure can borrow it,
/// and not `Send`, so it is dropped on the thread that initialized MPI.
///
/// ```compile_fail
/// let cluster = phalanx_mpi::Cluster::init().unwrap();
/// std::thread::spawn(move || drop(cluster)); // error: `Cluster` is not `Send`
/// ```
pub struct Cluster {
    world: SimpleCommunicator,
    owner: ThreadId,
    rank: usize,
    size: usize,
    threading: Threading,
    // Declared last: dropped after `world`, and its drop calls MPI_Finalize.
    _universe: Universe,
}

// SAFETY: `world` (an MPI handle, `!Sync`) is reachable from a shared
// `&Cluster` only through `comm()`, which hands it out on the owner thread
// (the thread that called MPI_Init_thread) and nowhere else, as
// MPI_THREAD_FUNNELED requires; the `Comm` it returns is `!Send`. Every
// other field is plain data that is never written after `init`.
unsafe impl Sync for Cluster {}

/// MPI could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// MPI was already initialized in this process (one `Cluster` per process).
    AlreadyInitialized,
    /// The MPI library offers less than `MPI_THREAD_FUNNELED`.
    ThreadLevel(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::AlreadyInitialized => write!(f, "phalanx-mpi: MPI is already initialized in this process"),
            InitError::ThreadLevel(got) => {
                write!(f, "phalanx-mpi: MPI_THREAD_FUNNELED requested, the MPI library provides only {got}")
            }
        }
    }
}

impl std::error::Error for InitError {}

impl Cluster {
    /// Initialize MPI with `MPI_THREAD_FUNNELED` on this thread, which
    /// becomes the owner: run regions from this thread, so their thread 0
    /// is the owner. Works under `mpirun` and as a plain process (one rank).
    pub fn init() -> Result<Cluster, InitError> {
        let (universe, threading) =
            mpi::initialize_with_threading(Threading::Funneled).ok_or(InitError::AlreadyInitialized)?;
        if threading < Threading::Funneled {
            return Err(InitError::ThreadLevel(format!("{threading:?}")));
        }
        let world = universe.world();
        let rank = usize::try_from(world.rank()).expect("MPI rank is not negative");
        let size = usize::try_from(world.size()).expect("MPI size is positive");
        Ok(Cluster { world, owner: std::thread::current().id(), rank, size, threading, _universe: universe })
    }

    /// This process's rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0, where the distributed master-worker producer runs.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The thread level MPI provides (at least `Funneled`).
    pub fn threading(&self) -> Threading {
        self.threading
    }

    /// Whether the calling thread owns the communicator.
    pub fn is_owner(&self) -> bool {
        std::thread::current().id() == self.owner
    }

    /// The communicator, on the owner thread only (`None` elsewhere).
    pub fn comm(&self) -> Option<Comm<'_>> {
        self.is_owner().then_some(Comm { world: &self.world, rank: self.rank, size: self.size, _owner: PhantomData })
    }

    /// The communicator, or a panic naming the rule that was broken.
    #[track_caller]
    pub(crate) fn owner_comm(&self, what: &str) -> Comm<'_> {
        self.comm().unwrap_or_else(|| {
            panic!(
                "phalanx-mpi: {what} must run on the thread that called Cluster::init \
                 (MPI_THREAD_FUNNELED); run the region from that thread"
            )
        })
    }

    /// `#pragma omp master` with the communicator: thread 0 of the region
    /// runs `f`, the others skip it at once (no barrier). Use it where the
    /// surrounding code already has the barriers; else use
    /// [`exchange`](Self::exchange).
    ///
    /// # Panics
    /// On thread 0 if it is not the owner (the region was started from a
    /// thread other than the one that called [`Cluster::init`]).
    #[track_caller]
    pub fn funneled<R>(&self, ctx: &Ctx<'_>, f: impl FnOnce(Comm<'_>) -> R) -> Option<R> {
        ctx.is_master().then(|| f(self.owner_comm("Cluster::funneled")))
    }

    /// The funneled exchange step: a barrier (every thread's writes are
    /// done), thread 0 runs `f` with the communicator, a barrier (everyone
    /// sees what it received), and every thread gets a clone of `f`'s
    /// result. The halo exchange of a stencil and the reduction at the end
    /// of a hybrid loop are both this shape.
    ///
    /// # Panics
    /// As [`funneled`](Self::funneled); a panic in `f` fails the region
    /// like any other (the other threads are released from the barrier).
    #[track_caller]
    pub fn exchange<R: Clone + Send + 'static>(&self, ctx: &Ctx<'_>, f: impl FnOnce(Comm<'_>) -> R) -> R {
        ctx.barrier();
        let mine = self.funneled(ctx, f);
        // A reduction over no indices combines each thread's identity: only
        // thread 0's is `Some`, so every thread gets its value. The
        // reduction's barrier is the second barrier of the step.
        let all = ctx.reduce(0..0, Schedule::Static, mine, |acc, _| acc, |a, b| a.or(b));
        all.expect("thread 0 ran the exchange")
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("threading", &self.threading)
            .finish_non_exhaustive()
    }
}

/// The communicator, on the thread that owns it. `!Send`: it cannot be
/// moved or sent to another thread, so MPI is only ever called from the
/// owner, as `MPI_THREAD_FUNNELED` requires.
///
/// ```compile_fail
/// let cluster = phalanx_mpi::Cluster::init().unwrap();
/// let comm = cluster.comm().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || comm.barrier()); // error: `*const ()` cannot be sent between threads
/// });
/// ```
pub struct Comm<'c> {
    world: &'c SimpleCommunicator,
    rank: usize,
    size: usize,
    _owner: PhantomData<*const ()>,
}

impl fmt::Debug for Comm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Comm").field("rank", &self.rank).field("size", &self.size).finish()
    }
}

impl<'c> Comm<'c> {
    /// The world communicator, for any rsmpi call.
    pub fn world(&self) -> &'c SimpleCommunicator {
        self.world
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Wait until every rank got here (`MPI_Barrier`).
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Sum of `x` over all ranks (`MPI_Allreduce`, `MPI_SUM`).
    pub fn all_sum(&self, x: f64) -> f64 {
        let mut out = 0.0;
        self.world.all_reduce_into(&x, &mut out, SystemOperation::sum());
        out
    }

    /// Element-wise sum over all ranks, in place (`MPI_Allreduce`, `MPI_SUM`).
    pub fn all_sum_in_place<T: Equivalence + Copy + Default>(&self, xs: &mut [T]) {
        let send: Vec<T> = xs.to_vec();
        self.world.all_reduce_into(&send[..], xs, SystemOperation::sum());
    }
}
