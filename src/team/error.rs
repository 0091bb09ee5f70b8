//! [`RegionError`], [`PanicPayload`] and [`BuildError`].

use crate::config::ConfigError;
use std::any::Any;
use std::fmt;
use std::panic::Location;

/// A value reached only through `&mut self` or by value, never through
/// `&self`, so a shared `&Exclusive<T>` gives no thread any access to the
/// `T`: it is `Sync` whatever `T` is (the idea of the unstable
/// `std::sync::Exclusive`). It lets an error that owns a non-`Sync` value (a
/// panic payload, unrun tasks) be `Sync`, as `Box<dyn Error + Send + Sync>`
/// and `anyhow::Error` require.
pub(crate) struct Exclusive<T: ?Sized>(T);

// SAFETY: `Sync` means `&Exclusive<T>` may be used from several threads at
// once. No method (nor `Debug`, nor anything else in this crate) reads the
// inner `T` through `&self`, except `get`, which requires `T: Sync` (then
// sharing `&T` is exactly what `T: Sync` allows); every other access goes
// through `get_mut(&mut self)` or `into_inner(self)`, which the borrow
// checker grants one thread at a time. So sharing the reference shares
// nothing of a non-`Sync` `T`.
unsafe impl<T: ?Sized> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    pub(crate) fn new(value: T) -> Self {
        Exclusive(value)
    }

    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T: ?Sized> Exclusive<T> {
    /// Shared access, for `Sync` values only (see the `Sync` impl).
    pub(crate) fn get(&self) -> &T
    where
        T: Sync,
    {
        &self.0
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// The payload of a panic that failed a region, as `catch_unwind` returned
/// it. Reached through `&mut self` or by value only, which makes
/// [`RegionError`] `Send + Sync` (so `?` turns it into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error`) although a payload is
/// only `Send`.
///
/// ```
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// let err = team.try_parallel(|ctx| if ctx.thread_num() == 1 { std::panic::panic_any(7u32) }).unwrap_err();
/// let mut payload = err.into_payload().expect("a panic");
/// assert_eq!(payload.get_mut().downcast_mut::<u32>(), Some(&mut 7));
/// ```
pub struct PanicPayload(Exclusive<Box<dyn Any + Send>>);

impl PanicPayload {
    pub(crate) fn new(payload: Box<dyn Any + Send>) -> Self {
        PanicPayload(Exclusive::new(payload))
    }

    /// The payload, to downcast in place (`get_mut().downcast_mut::<T>()`).
    pub fn get_mut(&mut self) -> &mut (dyn Any + Send) {
        &mut **self.0.get_mut()
    }

    /// The payload itself, for `downcast` or `std::panic::resume_unwind`.
    pub fn into_inner(self) -> Box<dyn Any + Send> {
        self.0.into_inner()
    }

    /// Re-raise the panic on this thread with its original payload.
    pub fn resume(self) -> ! {
        std::panic::resume_unwind(self.into_inner())
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing of the payload: it is not reachable through `&self`.
        f.write_str("PanicPayload { .. }")
    }
}

/// Why a parallel region failed. `Team::try_parallel` returns it;
/// `Team::parallel` re-raises it (a panic with the original payload).
///
/// It is `Send + Sync + 'static`, so `?` converts it into a
/// `Box<dyn Error + Send + Sync>` or an `anyhow::Error`:
///
/// ```
/// fn run(team: &phalanx::Team) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     team.try_parallel(|_ctx| {})?;
///     Ok(())
/// }
/// run(&phalanx::Team::builder().num_threads(2).build()?)?;
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub enum RegionError {
    /// A thread's closure panicked. The first panic wins; the other threads
    /// were released from their waits and are not reported.
    Panicked {
        /// The thread that panicked (`Ctx::thread_num`).
        thread: usize,
        /// The panic message, if the payload was a string.
        message: String,
        /// The original payload ([`PanicPayload::into_inner`] gives it back
        /// for `downcast` or `std::panic::resume_unwind`).
        payload: PanicPayload,
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
        RegionError::Panicked { thread, message, payload: PanicPayload::new(payload) }
    }

    /// The panic payload, if a thread panicked (`None` for a divergence).
    pub fn into_payload(self) -> Option<PanicPayload> {
        match self {
            RegionError::Panicked { payload, .. } => Some(payload),
            RegionError::Diverged { .. } => None,
        }
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
            RegionError::Panicked { payload, .. } => payload.resume(),
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
    /// The OS refused to start worker thread `thread` (or, checked before
    /// starting any, would refuse: `started` is 0). The workers already
    /// started were stopped and joined.
    Spawn {
        /// The worker's thread number.
        thread: usize,
        /// Threads asked for, the caller included.
        asked: usize,
        /// Workers that had started (and were joined again).
        started: usize,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The `on_thread_start` hook panicked on thread `thread`.
    ThreadStart {
        /// The thread whose hook panicked.
        thread: usize,
        /// The panic message.
        message: String,
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
            BuildError::Spawn { thread, asked, started, error } => write!(
                f,
                "cannot start team thread {thread} of a team of {asked} ({started} workers had started and were \
                 joined): {error}"
            ),
            BuildError::ThreadStart { thread, message } => {
                write!(f, "on_thread_start hook panicked on team thread {thread}: {message}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Config(e) => Some(e),
            BuildError::Spawn { error, .. } => Some(error),
            BuildError::ThreadStart { .. } => None,
        }
    }
}
