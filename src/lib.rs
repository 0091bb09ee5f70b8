//! phalanx: OpenMP-style parallel regions, barriers and master-worker queues,
//! with an explicit wait policy behind every wait.
#![warn(missing_docs)]

mod primitive;
pub mod wait;

pub use wait::{WaitPolicy, WaitStrategy};
pub mod barrier;

pub use barrier::{Barrier, BarrierKind};
pub mod sync;

pub use sync::Gate;

pub mod config;
pub mod team;
pub mod worksharing;

pub use config::ConfigError;
pub use team::{global_team, parallel, wtime, BuildError, Ctx, RegionError, Team, TeamBuilder};
pub use worksharing::Schedule;
