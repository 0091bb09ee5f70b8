//! phalanx: OpenMP-style parallel regions, barriers and master-worker queues,
//! with an explicit wait policy behind every wait.
#![warn(missing_docs)]
// Only std/loom facade types inside the library (see .clippy.toml).
#![cfg_attr(not(test), warn(clippy::disallowed_types))]

mod primitive;
pub mod wait;

pub use wait::{WaitPolicy, WaitStrategy};
pub mod barrier;

pub use barrier::{Barrier, BarrierKind};
pub mod sync;

pub use sync::Gate;
