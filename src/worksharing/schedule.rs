//! [`Schedule`]: how a loop's iterations are split among the team.

use crate::config::{parse_schedule, ConfigError};
use std::fmt;
use std::ops::Range;

/// How `for_each` / `reduce` split a range among the threads, as OpenMP's
/// `schedule(...)` clause.
///
/// | schedule | OpenMP | who runs what |
/// |---|---|---|
/// | `Static` | `schedule(static)` | thread `t` runs the `t`-th of `n` near-equal contiguous blocks; no shared state |
/// | `StaticChunk(c)` | `schedule(static, c)` | chunks of `c`, dealt round-robin: chunk `j` to thread `j % n` |
/// | `Dynamic(c)` | `schedule(dynamic, c)` | threads claim chunks of `c` from a shared word, first come first served |
/// | `Guided(c)` | `schedule(guided, c)` | as dynamic, chunk = max(`c`, ⌈remaining / 2n⌉): big first, small at the end |
/// | `Runtime` | `schedule(runtime)` | the team's runtime schedule: `OMP_SCHEDULE` or `TeamBuilder::schedule`, default `Static` |
/// | `Auto` | `schedule(auto)` | `Static` |
///
/// A chunk of 0 is refused: constructors return an error, and a loop given
/// one panics with `invalid chunk = 0: ...`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// Contiguous near-equal blocks, one per thread.
    #[default]
    Static,
    /// Round-robin chunks of the given size.
    StaticChunk(usize),
    /// Chunks of the given size, claimed at run time.
    Dynamic(usize),
    /// Shrinking chunks, never below the given size, claimed at run time.
    Guided(usize),
    /// The team's runtime schedule (`OMP_SCHEDULE`).
    Runtime,
    /// The implementation's choice: `Static`.
    Auto,
}

fn check_chunk(chunk: usize) -> Result<usize, ConfigError> {
    if chunk == 0 {
        Err(ConfigError::setting("chunk", 0, "a chunk must hold at least one iteration"))
    } else {
        Ok(chunk)
    }
}

impl Schedule {
    /// `StaticChunk(chunk)`, or an error naming `chunk = 0`.
    pub fn static_chunk(chunk: usize) -> Result<Schedule, ConfigError> {
        check_chunk(chunk).map(Schedule::StaticChunk)
    }

    /// `Dynamic(chunk)`, or an error naming `chunk = 0`.
    pub fn dynamic(chunk: usize) -> Result<Schedule, ConfigError> {
        check_chunk(chunk).map(Schedule::Dynamic)
    }

    /// `Guided(chunk)`, or an error naming `chunk = 0`.
    pub fn guided(chunk: usize) -> Result<Schedule, ConfigError> {
        check_chunk(chunk).map(Schedule::Guided)
    }

    /// Parse the `OMP_SCHEDULE` syntax: `static`, `dynamic`, `guided` or
    /// `auto`, optionally `,chunk`, any case, with an optional `monotonic:` or
    /// `nonmonotonic:` prefix. `auto` gives `Static`. Errors name `schedule`.
    ///
    /// ```
    /// use phalanx::Schedule;
    /// assert_eq!(Schedule::parse("Dynamic,4").unwrap(), Schedule::Dynamic(4));
    /// assert!(Schedule::parse("fast").unwrap_err().to_string().contains("\"fast\""));
    /// ```
    pub fn parse(s: &str) -> Result<Schedule, ConfigError> {
        parse_schedule("schedule", s)
    }

    /// Check the chunk size.
    pub fn validate(self) -> Result<Schedule, ConfigError> {
        match self {
            Schedule::StaticChunk(c) | Schedule::Dynamic(c) | Schedule::Guided(c) => check_chunk(c).map(|_| self),
            _ => Ok(self),
        }
    }

    /// Replace `Runtime` by `runtime` and `Auto` by `Static`.
    pub(crate) fn resolve(self, runtime: Schedule) -> Schedule {
        match self {
            Schedule::Runtime => match runtime {
                Schedule::Runtime | Schedule::Auto => Schedule::Static,
                other => other,
            },
            Schedule::Auto => Schedule::Static,
            other => other,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Static => f.write_str("static"),
            Schedule::StaticChunk(c) => write!(f, "static,{c}"),
            Schedule::Dynamic(c) => write!(f, "dynamic,{c}"),
            Schedule::Guided(c) => write!(f, "guided,{c}"),
            Schedule::Runtime => f.write_str("runtime"),
            Schedule::Auto => f.write_str("auto"),
        }
    }
}

/// Thread `t`'s block of `len` iterations under `Static` with `n` threads:
/// the first `len % n` threads get one extra.
#[inline]
pub(crate) fn static_block(len: usize, t: usize, n: usize) -> Range<usize> {
    let q = len / n;
    let r = len % n;
    let lo = t * q + t.min(r);
    let hi = lo + q + usize::from(t < r);
    lo..hi
}

/// Guided chunk at `pos` of `len` with `n` threads and minimum `min`.
#[inline]
pub(crate) fn guided_chunk(len: usize, pos: usize, n: usize, min: usize) -> usize {
    let remaining = len - pos;
    remaining.div_ceil(2 * n).max(min).min(remaining)
}
