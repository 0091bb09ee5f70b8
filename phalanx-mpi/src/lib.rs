//! phalanx across MPI ranks (rsmpi over OpenMPI).
//!
//! * [`Cluster`]: `MPI_Init_thread(MPI_THREAD_FUNNELED)` and the rule that
//!   goes with it, as a type: only the thread that initialized MPI gets a
//!   [`Comm`], and a `Comm` cannot leave that thread. Inside a phalanx
//!   region that thread is thread 0; [`Cluster::funneled`] and
//!   [`Cluster::exchange`] are the hybrid-region steps (communicate between
//!   barriers).
//! * [`Cluster::master_worker`]: rank 0's producer pushes tasks; every rank
//!   pulls them on demand, runs them on its `phalanx::Team`, and sends the
//!   results back. Protocol: `src/dist/README.md`.
//! * [`Wire`]: the byte encoding tasks and results travel in.
//! * [`cpu`]: the CPU time a process burned, for idle-cost measurements.
#![warn(missing_docs)]

mod cluster;
pub mod cpu;
mod dist;
mod wire;

pub use cluster::{Cluster, Comm, InitError};
pub use dist::{DistConfig, DistError, DistFeeder, Done, IdleWait, Place, TaskFailure, TaskId, MIN_SLEEP};
pub use mpi;
pub use wire::{Wire, WireError};
