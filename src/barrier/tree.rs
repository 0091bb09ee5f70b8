//! Static combining-tree barrier: arrivals combine up a tree of fan-in
//! [`FAN_IN`], and the root releases everyone through one epoch word.
//!
//! The tree of counters is Yew, Tzeng & Lawrie, "Distributing hot-spot
//! addressing in large-scale multiprocessors" (IEEE Trans. Computers, 1987);
//! the static shape (party `i` owns node `i`, its children are
//! `FAN_IN*i + 1 ..= FAN_IN*i + FAN_IN`) and the single global release flag are
//! the 4-ary arrival tree of Mellor-Crummey & Scott, "Algorithms for scalable
//! synchronization on shared-memory multiprocessors" (ACM TOCS 9(1), 1991,
//! §3.3). The protocol, with its word layouts, is in `README.md` beside this
//! file.
//!
//! **When not to use it.** Each inner node waits for its children before it
//! arrives at its parent, so an arrival crosses up to `log4(n)` waits. With a
//! blocking policy each of those can be a wake-up (about 22 µs here), and when
//! threads outnumber cores a node owner that is not running delays its whole
//! subtree. Below a few dozen threads [`super::BarrierKind::Central`] is
//! faster; the tree pays off when many cores hammer one counter.

use super::central::{EpochWord, BROKEN, GEN_ONE};
use super::{wait_on, Algorithm, Deadline, Helper, Shared, Timeout};
use crate::primitive::{AtomicU64, Ordering};
use crate::wait::{WaitCell, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::Duration;

/// Children per tree node (the arrival fan-in). Mellor-Crummey & Scott found
/// four the best fan-in for arrival: four one-byte child flags fit one word on
/// their machines, and a wider node makes its owner wait for more arrivals in
/// sequence.
pub const FAN_IN: usize = 4;

/// One child's arrival in a node word: the count lives in bits 1..=31, above
/// [`BROKEN`] (the same bit as in the epoch word).
pub(crate) const CHILD_ONE: u32 = 2;

/// Decodes a node word for assertion messages.
struct NodeWord(u32);

impl fmt::Debug for NodeWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {{ arrived: {}, broken: {} }}", self.0 / CHILD_ONE, self.0 & BROKEN != 0)
    }
}

/// Number of children of node `i` in a tree of `n` nodes.
fn children_of(i: usize, n: usize) -> u32 {
    let first = i.saturating_mul(FAN_IN).saturating_add(1);
    // At most FAN_IN, so the cast cannot truncate.
    n.saturating_sub(first).min(FAN_IN) as u32
}

/// The tree barrier's state: one cache line per node, one for the epoch and
/// one for the ticket counter, so an arrival writes only its parent's line.
pub(crate) struct Tree {
    /// Node `i` belongs to the party in slot `i`; its word:
    ///
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`BROKEN`]) | broken: the node's owner leaves with an error |
    /// | 1..=31 | children arrived this episode, +[`CHILD_ONE`] each, `0..=children_of(i)` |
    ///
    /// Written by the children (add) and the owner (subtract once all
    /// arrived); `BROKEN` is set by whoever breaks the barrier.
    nodes: Box<[CachePadded<WaitCell>]>,
    /// Same layout as the central barrier's epoch:
    ///
    /// | bits | meaning |
    /// |---|---|
    /// | 0 ([`BROKEN`]) | broken: every waiter leaves with an error |
    /// | 1..=31 | generation: +[`GEN_ONE`] per completed episode (by the root) |
    epoch: CachePadded<WaitCell>,
    /// Tickets taken by anonymous arrivals ([`super::Barrier::wait`]); slot =
    /// ticket % n. 64 bits so that it never wraps (2^64 arrivals): a wrap
    /// with `n` not a power of two would hand out a slot twice.
    tickets: CachePadded<AtomicU64>,
    n: u32,
}

impl Tree {
    pub(crate) fn new(n: usize) -> Self {
        let parties = u32::try_from(n).expect("barrier parties must fit in u32");
        let nodes = (0..n).map(|_| CachePadded::new(WaitCell::new(0))).collect();
        Tree {
            nodes,
            epoch: CachePadded::new(WaitCell::new(0)),
            tickets: CachePadded::new(AtomicU64::new(0)),
            n: parties,
        }
    }

    /// The slot of an anonymous arrival. Episode `e` hands out exactly the
    /// tickets `e*n .. (e+1)*n`: a party takes its ticket for episode `e+1`
    /// only after passing episode `e`, which needs all `n` tickets of `e` taken.
    /// So the `n` slots of one episode are distinct.
    fn take_ticket(&self) -> usize {
        // Relaxed: only the atomicity of the increment matters. That every
        // ticket of episode `e` comes before those of `e+1` in the counter's
        // modification order follows from the happens-before the barrier
        // itself creates (take ticket → arrive → ... → release → pass).
        let t = self.tickets.fetch_add(1, Ordering::Relaxed);
        // The remainder is below n, a u32.
        (t % u64::from(self.n)) as usize
    }

    /// Our deadline ran out in episode `e`: break the barrier unless the
    /// episode completed meanwhile (then we passed) or someone broke it first.
    fn expire<W: WaitStrategy + ?Sized>(
        &self,
        e: u32,
        strategy: &W,
        deadline: Option<Deadline>,
        shared: &Shared,
    ) -> Result<bool, Timeout> {
        // Only a timed wait can time out.
        let after = deadline.map_or(Duration::ZERO, |d| d.after);
        // AcqRel: Acquire, in case the episode completed, gives us the other
        // parties' writes; Release orders our break after our arrival. The
        // CAS only succeeds while the epoch still is `e`: not passed, not
        // broken. Under the reason lock, so waiters that see the bit find it.
        let cas = || self.epoch.word().compare_exchange(e, e | BROKEN, Ordering::AcqRel, Ordering::Acquire);
        match shared.break_on_timeout(after, cas) {
            Ok(_) => {
                self.epoch.wake_all(strategy);
                self.break_nodes(strategy);
                Err(Timeout::Expired)
            }
            Err(w) if w & !BROKEN != e => Ok(false),
            Err(_) => Err(Timeout::Broken),
        }
    }

    /// Set `BROKEN` on every node and wake its owner.
    fn break_nodes<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        for node in self.nodes.iter() {
            // Release: as in `break_now`; the bit only ends waits.
            node.word().fetch_or(BROKEN, Ordering::Release);
            node.wake_all(strategy);
        }
    }
}

impl Algorithm for Tree {
    fn arrive_and_wait<W: WaitStrategy + ?Sized>(
        &self,
        id: Option<usize>,
        strategy: &W,
        deadline: Option<Deadline>,
        shared: &Shared,
        help: Option<&dyn Helper>,
    ) -> Result<bool, Timeout> {
        let n = self.n as usize;
        // Helping waiters block on the helper's word: wake them there.
        let wake = |cell: &WaitCell| match help {
            Some(h) => h.wake(),
            None => cell.wake_all(strategy),
        };
        let at = deadline.map(|d| d.at);
        // Acquire: pairs with the root's Release that ended the previous
        // episode, so we see the node resets made before it. Read before we
        // arrive: the episode cannot end without us, so `e` is its generation.
        let e = self.epoch.word().load(Ordering::Acquire);
        if e & BROKEN != 0 {
            return Err(Timeout::Broken);
        }
        let slot = id.unwrap_or_else(|| self.take_ticket());
        debug_assert!(slot < n, "slot {slot} for {n} parties");

        // 1. Wait for our children (inner nodes only).
        let children = children_of(slot, n);
        if children > 0 {
            let node = &self.nodes[slot];
            let full = children * CHILD_ONE;
            // The load that satisfies the predicate is Acquire (see
            // `wait_until`): it reads the last child's Release add, and the
            // children's adds form one release sequence, so we see every
            // child's writes and, transitively, its subtree's.
            match wait_on(node, strategy, n, at, |w| w & BROKEN != 0 || w == full, help) {
                Ok(w) if w & BROKEN == 0 => {}
                Ok(_) => return Err(Timeout::Broken),
                // Our subtree has not arrived; the episode cannot have completed.
                Err(_) => return self.expire(e, strategy, deadline, shared),
            }
            // Relaxed: no child arrives here again before the next episode,
            // which starts after the root's Release, which our arrival at the
            // parent (Release, below) happens-before. A subtraction, not a
            // store, keeps a concurrent BROKEN bit.
            node.word().fetch_sub(full, Ordering::Relaxed);
        }

        // 2. The root releases the episode.
        if slot == 0 {
            // Release: hands every party's pre-barrier writes (acquired up
            // the tree) to the waiters, who load the epoch with Acquire. An
            // add keeps a concurrent BROKEN bit; the episode still completed.
            self.epoch.word().fetch_add(GEN_ONE, Ordering::Release);
            wake(&self.epoch);
            return Ok(true);
        }

        // 3. Everyone else arrives at its parent, then waits for the release.
        let p = (slot - 1) / FAN_IN;
        let parent = &self.nodes[p];
        // Release: publishes our writes and our subtree's (acquired in 1.)
        // to the parent's owner, who reads the count with Acquire.
        let prev = parent.word().fetch_add(CHILD_ONE, Ordering::Release);
        let parent_children = children_of(p, n);
        debug_assert!(
            (prev & !BROKEN) < parent_children * CHILD_ONE,
            "slot {slot} arrived at a full parent {p}: {:?} in {:?} (duplicate party ids?)",
            NodeWord(prev),
            EpochWord(e)
        );
        if (prev & !BROKEN) + CHILD_ONE == parent_children * CHILD_ONE {
            // Only the last child's add can end the owner's wait.
            wake(parent);
        }
        let passed = |w: u32| w & !BROKEN != e;
        match wait_on(&self.epoch, strategy, n, at, |w| passed(w) || w & BROKEN != 0, help) {
            Ok(w) if passed(w) => Ok(false),
            Ok(_) => Err(Timeout::Broken),
            Err(_) => self.expire(e, strategy, deadline, shared),
        }
    }

    fn break_now<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        // Release: the break reason was stored (under a mutex) before this;
        // a waiter that acquires the bit finds it. Epoch first, so that an
        // arrival that reads the epoch after this returns at once.
        self.epoch.word().fetch_or(BROKEN, Ordering::Release);
        self.epoch.wake_all(strategy);
        self.break_nodes(strategy);
    }

    fn is_broken(&self) -> bool {
        // Acquire: as in `break_now`.
        self.epoch.word().load(Ordering::Acquire) & BROKEN != 0
    }

    fn reset(&self) {
        // Relaxed (all three): `reset` runs under `&mut Barrier`; whoever uses
        // the barrier next gets it through a synchronising hand-over.
        self.tickets.store(0, Ordering::Relaxed);
        for node in self.nodes.iter() {
            node.word().store(0, Ordering::Relaxed);
        }
        self.epoch.word().fetch_and(!BROKEN, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_slot_but_the_root_has_one_parent_with_room() {
        for n in 1..=100 {
            let mut seen = vec![0u32; n];
            for slot in 1..n {
                seen[(slot - 1) / FAN_IN] += 1;
            }
            for (i, &k) in seen.iter().enumerate() {
                assert_eq!(k, children_of(i, n), "node {i} of {n}");
            }
        }
    }
}
