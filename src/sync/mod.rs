//! The master-worker building blocks: [`Gate`], [`Latch`] and [`TaskQueue`].
//! Each waits through a [`crate::wait::WaitCell`] with a wait policy, and each
//! is usable without a team. Protocols: `src/sync/README.md`.

mod gate;
mod latch;
mod queue;

pub use gate::Gate;
pub use latch::{CountDownError, Latch};
pub use queue::{PushError, TaskQueue, TimedPop, TryPop};
