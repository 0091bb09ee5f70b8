//! `for_each`, `for_each_nowait` and `sections` on [`Ctx`].

use super::schedule::{guided_chunk, static_block};
use super::side::Seen;
use super::Schedule;
use crate::team::Ctx;
use std::ops::Range;
use std::panic::Location;

impl Ctx<'_> {
    /// Run `body` on each chunk of `0..len` this thread gets under `schedule`
    /// (construct `c`). Chunks are relative to the range's start.
    #[inline]
    #[track_caller]
    pub(crate) fn run_chunks(&self, c: u32, len: usize, schedule: Schedule, body: impl FnMut(Range<usize>)) {
        self.run_chunks_of(c, 0, len, schedule, Check::Compare, body)
    }

    /// As `run_chunks`, for a loop whose range starts at `start` (only the
    /// construct check uses it: threads must agree on it too).
    #[inline]
    #[track_caller]
    pub(crate) fn run_chunks_of(
        &self,
        c: u32,
        start: usize,
        len: usize,
        schedule: Schedule,
        check: Check,
        mut body: impl FnMut(Range<usize>),
    ) {
        let schedule = match schedule.validate() {
            Ok(s) => s.resolve(self.shared().runtime),
            Err(e) => panic!("{e}"),
        };
        let (t, n) = (self.thread_num(), self.num_threads());
        if n > 1
            && check == Check::Compare
            && self.shared().side.check(self.gen, c, start, len, schedule) == Seen::Differs
        {
            mismatch(c, t, start, len, schedule);
        }
        // Iterations this thread skipped because the loop or the region was
        // cancelled: every chunk claim is a cancellation point
        // (`src/team/cancel.rs`); a cancelled loop's chunks are still claimed
        // (and counted), never run.
        let mut skipped = 0usize;
        let mut run = |r: Range<usize>| {
            if skipped > 0 || self.chunk_cancelled(c) {
                skipped += r.len();
            } else {
                body(r);
            }
        };
        match schedule {
            Schedule::Static | Schedule::Runtime | Schedule::Auto => {
                let r = static_block(len, t, n);
                if !r.is_empty() {
                    run(r);
                }
            }
            Schedule::StaticChunk(k) => {
                let mut lo = t.saturating_mul(k);
                while lo < len {
                    let hi = lo.saturating_add(k).min(len);
                    run(lo..hi);
                    lo = match lo.checked_add(n.saturating_mul(k)) {
                        Some(v) => v,
                        None => break,
                    };
                }
            }
            Schedule::Dynamic(k) => {
                while let Some(r) = self.shared().claim.claim(c, len, |_| k) {
                    run(r);
                }
            }
            Schedule::Guided(k) => {
                while let Some(r) = self.shared().claim.claim(c, len, |pos| guided_chunk(len, pos, n, k)) {
                    run(r);
                }
            }
        }
        if skipped > 0 {
            self.chunks_skipped(skipped);
        }
    }

    /// `#pragma omp for nowait`: run `f(i)` for the indices of `range` this
    /// thread gets under `schedule`; every index runs exactly once across
    /// the team. No barrier at the end.
    ///
    /// # Panics
    /// On a chunk of 0 (`invalid chunk = 0: ...`), and for `Dynamic`/`Guided`
    /// ranges of 2^40 iterations or more.
    #[track_caller]
    pub fn for_each_nowait<F: FnMut(usize)>(&self, range: Range<usize>, schedule: Schedule, f: F) {
        self.for_each_nowait_as(Check::Compare, range, schedule, f)
    }

    /// `for_each_nowait` with the construct check on or off (off for the
    /// combined constructs, `Team::parallel_for`: every thread runs the one
    /// closure with the one range and schedule, so they cannot differ).
    #[track_caller]
    pub(crate) fn for_each_nowait_as<F: FnMut(usize)>(
        &self,
        check: Check,
        range: Range<usize>,
        schedule: Schedule,
        mut f: F,
    ) {
        let c = self.next_construct();
        let start = range.start;
        let len = range.end.saturating_sub(range.start);
        self.run_chunks_of(c, start, len, schedule, check, |r| {
            for i in r {
                f(start + i);
            }
        });
    }

    /// `#pragma omp for`: as [`for_each_nowait`](Self::for_each_nowait),
    /// then a barrier.
    ///
    /// ```
    /// use phalanx::{Team, Schedule};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let team = Team::builder().num_threads(2).build().unwrap();
    /// let hits: Vec<AtomicU32> = (0..50).map(|_| AtomicU32::new(0)).collect();
    /// team.parallel(|ctx| ctx.for_each(0..50, Schedule::Guided(2), |i| {
    ///     hits[i].fetch_add(1, Ordering::Relaxed);
    /// }));
    /// assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    /// ```
    #[track_caller]
    pub fn for_each<F: FnMut(usize)>(&self, range: Range<usize>, schedule: Schedule, f: F) {
        let at = Location::caller();
        self.for_each_nowait(range, schedule, f);
        self.barrier_at(at);
    }

    /// `#pragma omp sections`: run each closure exactly once, on whichever
    /// thread claims it, then a barrier.
    #[track_caller]
    pub fn sections(&self, sections: &[&dyn Fn()]) {
        self.for_each(0..sections.len(), Schedule::Dynamic(1), |i| sections[i]());
    }
}

/// Whether a loop takes part in the construct check (`side.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Compare this thread's range and schedule with the others'.
    Compare,
    /// Skip it: the loop belongs to a combined construct whose threads all
    /// run one closure with one range and schedule.
    Combined,
}

/// Threads reached one loop with different trip counts or schedules: their
/// chunks would not partition any one range (a `Dynamic` reduction would
/// silently agree on a wrong total).
#[cold]
#[track_caller]
fn mismatch(c: u32, t: usize, start: usize, len: usize, schedule: Schedule) -> ! {
    panic!(
        "phalanx: worksharing construct mismatch: thread {t} reached loop construct #{c} with range {start}..{} \
         and schedule {schedule}, another thread of the region with a different range or schedule; \
         every thread must reach each worksharing loop with the same range and schedule",
        start.saturating_add(len)
    )
}
