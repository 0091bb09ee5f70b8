//! The master-worker building blocks: [`Gate`], [`Latch`] and [`TaskQueue`];
//! and OpenMP's locks, [`Lock`] and [`NestLock`] (also behind `critical`).
//! Each waits through a [`crate::wait::WaitCell`] with a wait policy, and each
//! is usable without a team. Protocols: `src/sync/README.md`.

mod atomic_f64;
pub(crate) mod critical;
mod gate;
mod latch;
pub(crate) mod lock;
mod nest_lock;
mod queue;

pub use atomic_f64::AtomicF64;
pub use gate::Gate;
pub use latch::{CountDownError, Latch};
pub use lock::{Critical, Lock, LockGuard, UnlockError};
pub use nest_lock::{NestLock, NestLockGuard};
pub use queue::{PushError, TaskQueue, TimedPop, TryPop};
