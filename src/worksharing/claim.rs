//! The claim word: one packed atomic that hands out chunks of dynamic and
//! guided loops and picks the thread that runs a `single`.
//!
//! | bits | meaning |
//! |---|---|
//! | 32..=63 ([`TAG_BITS`]) | construct tag: the per-region construct number that owns the word |
//! | 0..=31 ([`POS_BITS`]) | next unclaimed *unit* of that construct: one iteration, or `2^s` for a loop longer than `2^32 - 1` (`unit_shift`) |
//!
//! A thread at construct `c` claims with a CAS. If the tag is older than `c`
//! it re-tags the word `(c, 0)`, claiming the first chunk in the same CAS; if
//! the tag is `c` it advances the position; if the tag is *newer* than `c`,
//! construct `c` is finished (someone already left it for a later one), so it
//! claims nothing. Re-tagging is safe because a thread reaches construct `c`
//! only after it saw every earlier construct exhausted. See `src/team/README.md`.
//!
//! Tags are the full 32-bit construct count, compared by wrapping difference:
//! two threads can be up to 2^31 − 1 constructs apart (`nowait` lets one run
//! ahead) before "older" and "newer" could be confused — about a hundred
//! seconds of nothing but `single_nowait` while another thread stalls.

use crate::primitive::{AtomicU64, Ordering};
use std::ops::Range;

/// Bits of the construct tag.
pub(crate) const TAG_BITS: u32 = 32;
/// Bits of the position (in units, see `unit_shift`).
pub(crate) const POS_BITS: u32 = 32;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
/// The tag a region starts with: one before construct 0.
const TAG_NONE: u64 = TAG_MASK;

/// Iterations per position unit, as a shift: 0 (one iteration) unless the
/// loop has more than `POS_MASK` iterations; then the smallest `s` with
/// `ceil(len / 2^s) <= POS_MASK`, so chunks are whole multiples of `2^s`
/// iterations (the last one cut at `len`). Every thread computes the same
/// `s` from the same `len`, so units map to the same iterations everywhere.
fn unit_shift(len: usize) -> u32 {
    let len = len as u64;
    let mut s = 0;
    while s < 63 && len.div_ceil(1 << s) > POS_MASK {
        s += 1;
    }
    s
}

fn pack(tag: u64, pos: u64) -> u64 {
    (tag << POS_BITS) | pos
}

/// `a` is newer than `b`, comparing 32-bit tags by wrapping difference.
fn newer(a: u64, b: u64) -> bool {
    let d = a.wrapping_sub(b) & TAG_MASK;
    d != 0 && d < (1 << (TAG_BITS - 1))
}

/// The claim word (see the module docs).
#[derive(Debug)]
pub(crate) struct ClaimWord(AtomicU64);

impl Default for ClaimWord {
    fn default() -> Self {
        ClaimWord(AtomicU64::new(pack(TAG_NONE, 0)))
    }
}

impl ClaimWord {
    /// Forget the last region's constructs. Called by the master while the
    /// workers are idle; the fork's Release store publishes it.
    #[inline]
    pub(crate) fn reset_idle(&self) {
        let fresh = pack(TAG_NONE, 0);
        // Relaxed: workers are idle; the fork word's Release publishes it.
        if self.0.load(Ordering::Relaxed) != fresh {
            // Relaxed: as above.
            self.0.store(fresh, Ordering::Relaxed);
        }
    }

    /// Claim the next chunk of construct `c` over `0..len`; `size(pos)` gives
    /// the chunk size at position `pos`. `None` once the construct is done.
    #[inline]
    pub(crate) fn claim(&self, c: u32, len: usize, size: impl Fn(usize) -> usize) -> Option<Range<usize>> {
        let tag = u64::from(c) & TAG_MASK;
        let shift = unit_shift(len);
        // Relaxed: the word only decides who runs which iterations; the
        // iterations' effects are published by the barriers that follow.
        let mut w = self.0.load(Ordering::Relaxed);
        loop {
            let (t, p) = (w >> POS_BITS, w & POS_MASK);
            let unit = if t == tag {
                p
            } else if newer(tag, t) {
                0
            } else {
                return None;
            };
            // Saturating: a unit past the end reads as the end.
            let pos = usize::try_from(unit << shift).unwrap_or(usize::MAX).min(len);
            if pos >= len {
                if t != tag {
                    // Nothing to claim, but mark the construct started so
                    // late threads see it as ours, not as an older one.
                    // Relaxed: as above.
                    match self.0.compare_exchange_weak(w, pack(tag, unit), Ordering::Relaxed, Ordering::Relaxed) {
                        Ok(_) => return None,
                        Err(now) => {
                            w = now;
                            continue;
                        }
                    }
                }
                return None;
            }
            let want = pos + size(pos).clamp(1, len - pos);
            // Whole units: round the end up (at least one unit), cut at `len`.
            let end_unit = (want as u64).div_ceil(1 << shift).max(unit + 1);
            let end = usize::try_from(end_unit << shift).unwrap_or(usize::MAX).min(len);
            // Relaxed: as above; the CAS on this one word is what makes every
            // chunk go to exactly one thread.
            match self.0.compare_exchange_weak(w, pack(tag, end_unit), Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(pos..end),
                Err(now) => w = now,
            }
        }
    }

    /// The thread whose CAS moves the word to construct `c` wins `single` `c`.
    #[inline]
    pub(crate) fn claim_single(&self, c: u32) -> bool {
        self.claim(c, 1, |_| 1).is_some()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn chunks_cover_once_and_constructs_advance() {
        let w = ClaimWord::default();
        let mut got = Vec::new();
        while let Some(r) = w.claim(0, 10, |_| 3) {
            got.push(r);
        }
        assert_eq!(got, vec![0..3, 3..6, 6..9, 9..10]);
        assert!(w.claim_single(1));
        assert!(!w.claim_single(1), "single 1 is taken");
        assert_eq!(w.claim(0, 10, |_| 3), None, "construct 0 is over once 1 started");
        assert_eq!(w.claim(2, 0, |_| 1), None);
        assert!(w.claim_single(3));
    }

    #[test]
    fn tags_wrap() {
        assert!(newer(0, TAG_NONE));
        assert!(newer(5, 4));
        assert!(!newer(4, 5));
        assert!(!newer(4, 4));
        // Across the 32-bit wrap, and far apart without aliasing.
        assert!(newer(2, u64::from(u32::MAX) - 1));
        assert!(!newer(u64::from(u32::MAX) - 1, 2));
        assert!(newer((1 << 30) + 7, 7), "2^30 constructs ahead is newer");
        assert!(!newer(7, (1 << 30) + 7), "and 2^30 behind is older");
    }

    /// Construct numbers near the wrap of the 32-bit count (the `Ctx`
    /// counter wraps there too): claims and singles go on working.
    #[test]
    fn constructs_across_the_wrap() {
        let start = u32::MAX - 2;
        // As after `start` constructs of a region: the word holds the last.
        let w = ClaimWord(AtomicU64::new(pack(u64::from(start - 1), 0)));
        for k in 0..6u32 {
            let c = start.wrapping_add(2 * k);
            let mut got = 0;
            while let Some(r) = w.claim(c, 7, |_| 2) {
                got += r.len();
            }
            assert_eq!(got, 7, "construct {c:#x}");
            assert!(w.claim_single(c.wrapping_add(1)), "single {:#x}", c.wrapping_add(1));
            assert!(!w.claim_single(c.wrapping_add(1)));
            assert_eq!(w.claim(c, 7, |_| 2), None, "construct {c:#x} is over");
        }
    }

    /// A loop longer than the position field: units of 2^s iterations, every
    /// iteration covered exactly once, chunk boundaries on unit multiples.
    #[test]
    fn long_loops_claim_in_units() {
        assert_eq!(unit_shift(10), 0);
        assert_eq!(unit_shift(POS_MASK as usize), 0);
        assert_eq!(unit_shift(POS_MASK as usize + 1), 1);
        let len = (POS_MASK as usize) * 3 + 5;
        let s = unit_shift(len);
        assert_eq!(s, 2);
        let w = ClaimWord::default();
        // Huge chunks, so the test claims a few pieces only.
        let mut next = 0;
        while let Some(r) = w.claim(0, len, |_| len / 5 + 1) {
            assert_eq!(r.start, next, "contiguous, no gap or overlap");
            assert_eq!(r.start % (1 << s), 0, "starts on a unit");
            next = r.end;
        }
        assert_eq!(next, len);
    }
}
