//! [`RegionError`] and [`BuildError`].

use crate::config::ConfigError;
use std::any::Any;
use std::fmt;
use std::panic::Location;

/// Why a parallel region failed. `Team::try_parallel` returns it;
/// `Team::parallel` re-raises it (a panic with the original payload).
pub enum RegionError {
    /// A thread's closure panicked. The first panic wins; the other threads
    /// were released from their waits and are not reported.
    Panicked {
        /// The thread that panicked (`Ctx::thread_num`).
        thread: usize,
        /// The panic message, if the payload was a string.
        message: String,
        /// The original payload, for `std::panic::resume_unwind`.
        payload: Box<dyn Any + Send>,
    },
    /// A thread left the region (its closure returned) while another waited
    /// at a barrier it would never reach.
    Diverged {
        /// The thread that left.
        left: usize,
        /// A thread that was waiting.
        waiting: usize,
        /// Where it was waiting: the `barrier()` call, or the `for_each`,
        /// `single`, `reduce` or `sections` whose implicit barrier it was.
        waiting_at: &'static Location<'static>,
    },
}

impl RegionError {
    pub(crate) fn panicked(thread: usize, payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "(non-string panic payload)".to_owned()
        };
        RegionError::Panicked { thread, message, payload }
    }

    /// The thread at fault: the one that panicked or left.
    pub fn thread(&self) -> usize {
        match self {
            RegionError::Panicked { thread, .. } => *thread,
            RegionError::Diverged { left, .. } => *left,
        }
    }

    /// Re-raise on this thread: a panic resumes with its original payload; a
    /// divergence panics with this error's message.
    pub fn resume(self) -> ! {
        match self {
            RegionError::Panicked { payload, .. } => std::panic::resume_unwind(payload),
            d @ RegionError::Diverged { .. } => panic!("{d}"),
        }
    }
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::Panicked { thread, message, .. } => write!(f, "thread {thread} panicked: {message}"),
            RegionError::Diverged { left, waiting, waiting_at } => write!(
                f,
                "thread {left} left the parallel region while thread {waiting} waits at the barrier at {waiting_at}; \
                 every thread must reach the same barriers"
            ),
        }
    }
}

impl fmt::Debug for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::Panicked { thread, message, .. } => {
                f.debug_struct("Panicked").field("thread", thread).field("message", message).finish_non_exhaustive()
            }
            RegionError::Diverged { left, waiting, waiting_at } => f
                .debug_struct("Diverged")
                .field("left", left)
                .field("waiting", waiting)
                .field("waiting_at", waiting_at)
                .finish(),
        }
    }
}

impl std::error::Error for RegionError {}

/// Building a team failed.
#[derive(Debug)]
pub enum BuildError {
    /// A setting or environment variable is invalid.
    Config(ConfigError),
    /// The OS refused to start worker thread `thread`.
    Spawn {
        /// The worker's thread number.
        thread: usize,
        /// What the OS said.
        error: std::io::Error,
    },
}

impl From<ConfigError> for BuildError {
    fn from(e: ConfigError) -> Self {
        BuildError::Config(e)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Config(e) => e.fmt(f),
            BuildError::Spawn { thread, error } => write!(f, "cannot start team thread {thread}: {error}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Config(e) => Some(e),
            BuildError::Spawn { error, .. } => Some(error),
        }
    }
}
