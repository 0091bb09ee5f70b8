//! OpenMP explicit tasks: [`Ctx::task`](crate::Ctx::task),
//! [`Ctx::task_if`](crate::Ctx::task_if), [`Ctx::taskwait`](crate::Ctx::taskwait),
//! [`Ctx::taskgroup`](crate::Ctx::taskgroup), [`Ctx::task_scope`](crate::Ctx::task_scope)
//! ([`TaskScope`]: tasks that borrow the creating frame), and the task
//! scheduling points in barriers and at the region end.
//!
//! The life cycle, who may touch which deque, how completion is counted and
//! why no wake-up is lost are in `README.md` in this folder. Files:
//! `pool.rs` (per-team deques and counters), `spawn.rs` (the `Ctx` methods
//! and the help loop), `handle.rs` ([`TaskHandle`]: `Ctx::spawn`, tasks that
//! return a value), `scope.rs` ([`TaskScope`]), `counter.rs` (the counting and event protocol, public
//! only for the loom model).

#[doc(hidden)]
pub mod counter;
mod depend;
mod handle;
mod pool;
mod scope;
mod spawn;
mod taskloop;

pub(crate) use depend::DepMaps;
pub use depend::{DepKey, Depend};
pub use handle::TaskHandle;
pub(crate) use pool::Header;
pub(crate) use pool::TaskPool;
pub use scope::TaskScope;
pub(crate) use spawn::GROUP_CANCELLED;
pub use spawn::TASK_SPINS;
pub use taskloop::Grain;
