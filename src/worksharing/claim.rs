//! The claim word: one packed atomic that hands out chunks of dynamic and
//! guided loops and picks the thread that runs a `single`.
//!
//! | bits | meaning |
//! |---|---|
//! | 40..=63 ([`TAG_BITS`]) | construct tag: the per-region construct number that owns the word |
//! | 0..=39 ([`POS_BITS`]) | next unclaimed iteration of that construct |
//!
//! A thread at construct `c` claims with a CAS. If the tag is older than `c`
//! it re-tags the word `(c, 0)`, claiming the first chunk in the same CAS; if
//! the tag is `c` it advances the position; if the tag is *newer* than `c`,
//! construct `c` is finished (someone already left it for a later one), so it
//! claims nothing. Re-tagging is safe because a thread reaches construct `c`
//! only after it saw every earlier construct exhausted. See `src/team/README.md`.

use crate::primitive::{AtomicU64, Ordering};
use std::ops::Range;

/// Bits of the construct tag.
pub(crate) const TAG_BITS: u32 = 24;
/// Bits of the position; loops of 2^40 iterations or more are refused by
/// dynamic schedules.
pub(crate) const POS_BITS: u32 = 40;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
/// The tag a region starts with: one before construct 0.
const TAG_NONE: u64 = TAG_MASK;
/// Largest range a dynamic schedule accepts.
pub(crate) const MAX_DYNAMIC_LEN: usize = POS_MASK as usize;

fn pack(tag: u64, pos: u64) -> u64 {
    (tag << POS_BITS) | pos
}

/// `a` is newer than `b`, comparing 24-bit tags by wrapping difference.
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
        // Relaxed: the word only decides who runs which iterations; the
        // iterations' effects are published by the barriers that follow.
        let mut w = self.0.load(Ordering::Relaxed);
        loop {
            let (t, p) = (w >> POS_BITS, w & POS_MASK);
            let pos = if t == tag {
                p as usize
            } else if newer(tag, t) {
                0
            } else {
                return None;
            };
            if pos >= len {
                if t != tag {
                    // Nothing to claim, but mark the construct started so
                    // late threads see it as ours, not as an older one.
                    // Relaxed: as above.
                    match self.0.compare_exchange_weak(w, pack(tag, pos as u64), Ordering::Relaxed, Ordering::Relaxed) {
                        Ok(_) => return None,
                        Err(now) => {
                            w = now;
                            continue;
                        }
                    }
                }
                return None;
            }
            let end = pos + size(pos).min(len - pos);
            // Relaxed: as above; the CAS on this one word is what makes every
            // chunk go to exactly one thread.
            match self.0.compare_exchange_weak(w, pack(tag, end as u64), Ordering::Relaxed, Ordering::Relaxed) {
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
    }
}
