//! Per-team side words of the worksharing constructs, kept apart from the
//! claim word (`claim.rs`): the construct check that catches threads reaching
//! one loop with different ranges or schedules, and the arrival count that
//! lets one thread combine a reduction (`reduce.rs`).
//!
//! **Construct check.** Slot `c % CHECK_SLOTS` holds a packed word:
//!
//! | bits | meaning |
//! |---|---|
//! | 33..=63 | region generation (31 bits) |
//! | 17..=32 | construct number, low 16 bits |
//! | 0..=16 ([`FINGERPRINT_BITS`]) | fingerprint of (start, length, resolved schedule) |
//!
//! A thread entering loop `c` loads the slot. The same (generation,
//! construct) with another fingerprint is a mismatch; anything else is
//! replaced by this thread's word. It is a best-effort check: threads more
//! than [`CHECK_SLOTS`] `nowait` loops apart overwrite each other's words and
//! are not compared, and two fingerprints may collide (1 in 2^17). It never
//! reports a mismatch that is not one: a slot matches only a word of the
//! same region and construct (a stale word from 2^16 constructs earlier in
//! one region cannot survive: every thread rewrites slot `c % CHECK_SLOTS` at
//! every `CHECK_SLOTS`-th construct, and a region generation repeats only
//! after 2^31 regions).
//!
//! **Arrivals.** One word: construct key (high 44 bits: region generation
//! and barrier number) and arrivals (low [`ARRIVAL_BITS`]). A count left by
//! a failed region is replaced by the next key. The thread whose arrival makes the count reach the team
//! size is the last to arrive at that construct's barrier-to-be, and every
//! other member already published its part.

use super::Schedule;
use crate::primitive::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;

/// Slots of the construct check.
pub(crate) const CHECK_SLOTS: usize = 8;
/// Bits of a construct's fingerprint.
pub(crate) const FINGERPRINT_BITS: u32 = 17;
const FP_MASK: u64 = (1 << FINGERPRINT_BITS) - 1;
/// Bits of the arrival count; teams this large or larger combine on every
/// thread instead (`reduce.rs`).
pub(crate) const ARRIVAL_BITS: u32 = 20;
const ARRIVAL_MASK: u64 = (1 << ARRIVAL_BITS) - 1;

/// The side words of one team (see the module docs).
pub(crate) struct Side {
    check: [AtomicU64; CHECK_SLOTS],
    arrivals: CachePadded<AtomicU64>,
}

/// What the construct check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// First here, same as the first, or not comparable.
    Agrees,
    /// Another thread entered this construct with a different range or schedule.
    Differs,
}

impl Default for Side {
    fn default() -> Self {
        Side { check: std::array::from_fn(|_| AtomicU64::new(0)), arrivals: CachePadded::new(AtomicU64::new(0)) }
    }
}

/// A 17-bit fingerprint of a loop's start, length and resolved schedule.
fn fingerprint(start: usize, len: usize, schedule: Schedule) -> u64 {
    let (kind, chunk) = match schedule {
        Schedule::Static | Schedule::Runtime | Schedule::Auto => (0u64, 0usize),
        Schedule::StaticChunk(k) => (1, k),
        Schedule::Dynamic(k) => (2, k),
        Schedule::Guided(k) => (3, k),
    };
    // FNV-1a over the three words: cheap, and every input bit matters.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in [start as u64, len as u64, kind, chunk as u64] {
        for b in w.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h ^ (h >> 17) ^ (h >> 34) ^ (h >> 51)) & FP_MASK
}

impl Side {
    /// Record, or compare with, loop `c` of region `gen` over
    /// `start..start + len` under the (resolved) `schedule`.
    pub(crate) fn check(&self, gen: u32, c: u32, start: usize, len: usize, schedule: Schedule) -> Seen {
        let key = (u64::from(gen & 0x7fff_ffff) << 16) | u64::from(c & 0xffff);
        let mine = (key << FINGERPRINT_BITS) | fingerprint(start, len, schedule);
        let slot = &self.check[c as usize % CHECK_SLOTS];
        // Relaxed: the word is compared with itself only; it orders nothing.
        let mut seen = slot.load(Ordering::Relaxed);
        loop {
            if seen >> FINGERPRINT_BITS == key {
                return if seen == mine { Seen::Agrees } else { Seen::Differs };
            }
            // Relaxed: as above. A lost race means another thread wrote the
            // slot first: look at its word (same construct: compare; another
            // construct: try to replace it again), so two threads entering
            // one construct together are always compared.
            match slot.compare_exchange(seen, mine, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Seen::Agrees,
                Err(now) => seen = now,
            }
        }
    }

    /// Count one arrival at the construct keyed `tag` (a hand-over tag,
    /// unique per construct of a region); true for the arrival that makes
    /// `n`. `n` must be below 2^[`ARRIVAL_BITS`].
    pub(crate) fn arrive(&self, tag: u64, n: usize) -> bool {
        // Region generation (low 24 bits) and barrier number (low 20 bits):
        // a key repeats only 2^24 regions later.
        let key = ((tag >> 32) & 0xff_ffff) << 20 | (tag & 0xf_ffff);
        // Relaxed: the CAS below re-reads on failure.
        let mut w = self.arrivals.load(Ordering::Relaxed);
        loop {
            let count = if w >> ARRIVAL_BITS == key { (w & ARRIVAL_MASK) + 1 } else { 1 };
            let next = (key << ARRIVAL_BITS) | count;
            // AcqRel: Release publishes our part (stored in our hand-over
            // cell before this call) to the last arriver; Acquire makes the
            // last arriver see every earlier arriver's part.
            match self.arrivals.compare_exchange_weak(w, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return count == n as u64,
                Err(now) => w = now,
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn same_construct_other_loop_differs() {
        let s = Side::default();
        assert_eq!(s.check(1, 0, 0, 10, Schedule::Dynamic(2)), Seen::Agrees);
        assert_eq!(s.check(1, 0, 0, 10, Schedule::Dynamic(2)), Seen::Agrees);
        assert_eq!(s.check(1, 0, 0, 11, Schedule::Dynamic(2)), Seen::Differs);
        assert_eq!(s.check(1, 0, 1, 10, Schedule::Dynamic(2)), Seen::Differs);
        assert_eq!(s.check(1, 0, 0, 10, Schedule::Dynamic(3)), Seen::Differs);
        assert_eq!(s.check(2, 0, 0, 11, Schedule::Dynamic(2)), Seen::Agrees, "a new region");
        assert_eq!(s.check(2, 1, 0, 5, Schedule::Static), Seen::Agrees);
    }

    #[test]
    fn last_arrival_is_named_once() {
        let s = Side::default();
        let got: Vec<bool> = (0..3).map(|_| s.arrive(7, 3)).collect();
        assert_eq!(got, vec![false, false, true]);
        assert!(!s.arrive(8, 2));
        assert!(s.arrive(8, 2));
    }
}
