//! The C OpenMP baseline for phalanx's benchmarks.
//!
//! `c/epcc.c` holds construct-overhead kernels in the style of the EPCC OpenMP
//! microbenchmarks (Bull 1999; Bull, Reid & McDonnell 2012), compiled with
//! `gcc -fopenmp -O2` against libgomp by `build.rs`. Each kernel runs
//! `inner_reps` repetitions of one construct around a [`delay`] body and
//! returns the elapsed time; EPCC's overhead is
//! `(run(c, ..) - reference(..)) / inner_reps`.
//!
//! When the C compiler cannot build OpenMP code the crate still builds: every
//! function here then returns `None` (or [`OmpError::Unavailable`]) and
//! [`available`] is `false`. Benchmarks print a line and skip the baseline.
//!
//! # Wait policy
//!
//! libgomp reads `OMP_WAIT_POLICY` (and `GOMP_SPINCOUNT`) once, in a
//! constructor that runs when the library is loaded, before `main`. Calling
//! `std::env::set_var` inside the process therefore changes nothing; run a
//! child process with the variable set ([`OmpWaitPolicy::apply`]) to compare
//! `active` and `passive`.
//!
//! Kernel calls are serialised by a process-wide lock: the task kernels keep
//! their result counters in C statics, and two OpenMP teams running at once
//! would also spoil each other's timings.
#![warn(missing_docs)]
// Not part of phalanx's std/loom facade: plain std sync types are right here.
#![allow(clippy::disallowed_types)]

mod construct;
mod ffi;
pub mod libomp;

pub use construct::{Construct, ScheduleKind, TREE_DEPTH, TREE_REPS};

use std::fmt;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// Serialises kernel calls (see the crate docs).
static RUN_LOCK: Mutex<()> = Mutex::new(());

/// Why a kernel did not produce a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OmpError {
    /// The crate was built without OpenMP (`cfg(omp_missing)`).
    Unavailable,
    /// An argument is out of the C side's range; names the setting and value.
    InvalidArgument {
        /// Which argument.
        setting: &'static str,
        /// Its value.
        value: String,
    },
    /// The runtime ran a team of another size than asked.
    TeamSize {
        /// The construct that ran.
        construct: Construct,
        /// Threads asked for.
        threads: usize,
    },
    /// The kernel's own result check failed (an atomic, reduction or task
    /// count did not add up): a bug in the runtime or in the kernel.
    WrongResult {
        /// The construct that ran.
        construct: Construct,
    },
}

impl fmt::Display for OmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OmpError::Unavailable => f.write_str("the OpenMP baseline was built without OpenMP (cfg omp_missing)"),
            OmpError::InvalidArgument { setting, value } => {
                write!(f, "invalid OpenMP baseline {setting} = {value}: out of the C kernel's range")
            }
            OmpError::TeamSize { construct, threads } => {
                write!(f, "OpenMP runtime did not give {construct} a team of threads = {threads}")
            }
            OmpError::WrongResult { construct } => write!(f, "OpenMP kernel {construct} failed its result check"),
        }
    }
}

impl std::error::Error for OmpError {}

/// Whether the C baseline was compiled in (the C compiler accepted
/// `-fopenmp`).
pub fn available() -> bool {
    ffi::AVAILABLE
}

/// The OpenMP runtime the kernels were built against, e.g.
/// `libgomp (gcc 12.2.0), _OPENMP 201511`; `None` without OpenMP.
pub fn runtime_name() -> Option<&'static str> {
    ffi::runtime_name()
}

/// `omp_get_max_threads()`: the team size a region gets without a
/// `num_threads` clause (from `OMP_NUM_THREADS`, else the CPU count).
pub fn max_threads() -> Option<usize> {
    ffi::max_threads()
}

/// Runs `inner_reps` repetitions of `construct` on a team of `threads`, each
/// with a [`delay`]`(delay_len)` body, and returns the elapsed wall time
/// (`omp_get_wtime`). What one repetition is differs per construct; see
/// [`Construct`]. Returns `None` when the crate was built without OpenMP.
///
/// # Panics
/// On an argument the C side cannot take (`threads == 0`, more than
/// `i32::MAX` threads, `inner_reps > i64::MAX`, a task kernel with more than
/// 256 threads) or a failed result check, with the [`OmpError`] message. Use
/// [`try_run`] to get the error instead.
pub fn run(construct: Construct, threads: usize, inner_reps: u64, delay_len: u32) -> Option<Duration> {
    match try_run(construct, threads, inner_reps, delay_len) {
        Ok(d) => Some(d),
        Err(OmpError::Unavailable) => None,
        Err(e) => panic!("phalanx_omp_baseline::run({construct}, {threads}, {inner_reps}, {delay_len}): {e}"),
    }
}

/// [`run`], with every failure as an [`OmpError`].
pub fn try_run(construct: Construct, threads: usize, inner_reps: u64, delay_len: u32) -> Result<Duration, OmpError> {
    let args = ffi::Args::check(threads, inner_reps, delay_len)?;
    let _serial = RUN_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let secs = ffi::run(construct, args)?;
    seconds_to_duration(construct, threads, secs)
}

/// Runs the delay alone, `inner_reps` times on the calling thread: EPCC's
/// reference time. `None` without OpenMP.
///
/// # Panics
/// If `inner_reps > i64::MAX` or `delay_len > i32::MAX`.
pub fn reference(inner_reps: u64, delay_len: u32) -> Option<Duration> {
    let args = ffi::Args::check(1, inner_reps, delay_len).unwrap_or_else(|e| panic!("reference: {e}"));
    let secs = ffi::reference(args)?;
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

/// The reference on a team of `threads`, as the kernels' delays run
/// (`epcc_reference_team`): with `turns == false` every thread runs
/// `inner_reps` delays at the same time and the result is the longest any
/// thread took, each timed from its own start (an evenly shared construct);
/// with `turns == true` the threads run theirs one after another between
/// barriers and the result is the sum of the turns (`critical`, `single`).
pub fn reference_team(threads: usize, inner_reps: u64, delay_len: u32, turns: bool) -> Result<Duration, OmpError> {
    let args = ffi::Args::check(threads, inner_reps, delay_len)?;
    let _serial = RUN_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let secs = ffi::reference_team(args, turns)?;
    // The reference is one parallel region: a team-size error names PARALLEL.
    seconds_to_duration(Construct::Parallel, threads, secs)
}

/// `gaps_us.len()` parallel regions of `threads` threads with an empty body,
/// region `i` after `gaps_us[i]` µs of master-only busy work: the C twin of
/// `examples/gap_sweep.rs`. Returns the wall time of the whole loop.
pub fn gap_regions(threads: usize, gaps_us: &[f64]) -> Result<Duration, OmpError> {
    let args = ffi::Args::check(threads, gaps_us.len() as u64, 0)?;
    let _serial = RUN_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let secs = ffi::gap_regions(args, gaps_us)?;
    seconds_to_duration(Construct::Parallel, threads, secs)
}

/// The kernels' delay body: `len` additions to a volatile `double`, so the loop
/// cannot be optimised away. Calls the C `epcc_delay` when the crate has
/// OpenMP, and a Rust loop doing the same volatile additions otherwise, so
/// phalanx benchmarks can put the same work inside their own constructs.
pub fn delay(len: u32) {
    ffi::delay(len);
}

/// A value for `OMP_WAIT_POLICY`, which libgomp reads only at load time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OmpWaitPolicy {
    /// `OMP_WAIT_POLICY=active`: waiting threads spin.
    Active,
    /// `OMP_WAIT_POLICY=passive`: waiting threads block.
    Passive,
}

impl OmpWaitPolicy {
    /// The environment variable's name.
    pub const VAR: &'static str = "OMP_WAIT_POLICY";

    /// `active` or `passive`.
    pub fn name(self) -> &'static str {
        match self {
            OmpWaitPolicy::Active => "active",
            OmpWaitPolicy::Passive => "passive",
        }
    }

    /// Sets the variable on a child process. This is the only way to change
    /// libgomp's policy: it has read the variable before `main` of this
    /// process ran.
    pub fn apply(self, cmd: &mut Command) -> &mut Command {
        cmd.env(Self::VAR, self.name())
    }

    /// The policy this process started with (what libgomp saw), if the
    /// variable is set to a value libgomp accepts (case-insensitive).
    pub fn from_env() -> Option<Self> {
        let v = std::env::var(Self::VAR).ok()?;
        match v.trim().to_ascii_lowercase().as_str() {
            "active" => Some(OmpWaitPolicy::Active),
            "passive" => Some(OmpWaitPolicy::Passive),
            _ => None,
        }
    }
}

/// Turns a kernel's return value into a time or the error its code means.
fn seconds_to_duration(construct: Construct, threads: usize, secs: f64) -> Result<Duration, OmpError> {
    match ffi::Status::of(secs) {
        ffi::Status::Elapsed(s) => Ok(Duration::from_secs_f64(s)),
        ffi::Status::BadArg => {
            Err(OmpError::InvalidArgument { setting: "arguments", value: format!("{construct} threads={threads}") })
        }
        ffi::Status::TeamSize => Err(OmpError::TeamSize { construct, threads }),
        ffi::Status::WrongResult => Err(OmpError::WrongResult { construct }),
    }
}
