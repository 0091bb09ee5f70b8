//! The concrete strategies. Each is a small value type; [`super::WaitPolicy`]
//! dispatches to them by matching once per wait.

use super::{oversubscribed, Finally, NapOutcome, Plan, WaitStrategy, OVERSUBSCRIBED_YIELD, SPIN_YIELD_SPIN};
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// Busy-wait forever with a pause hint. **Unsuitable when threads outnumber
/// cores**: the spinners hold the CPUs the releasing thread needs (8 threads
/// on 2 cores took 12 ms per barrier crossing here).
#[derive(Clone, Copy, Debug, Default)]
pub struct Spin;

impl WaitStrategy for Spin {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { nap: Duration::ZERO, spin: Duration::MAX, yield_for: Duration::ZERO, finally: Finally::Spin }
    }
    fn may_block(&self) -> bool {
        false
    }
}

/// Spin for [`SPIN_YIELD_SPIN`], then `sched_yield` until released.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpinYield;

impl WaitStrategy for SpinYield {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { nap: Duration::ZERO, spin: SPIN_YIELD_SPIN, yield_for: Duration::ZERO, finally: Finally::Yield }
    }
    fn may_block(&self) -> bool {
        false
    }
}

/// Block in the OS at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct Block;

impl WaitStrategy for Block {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan { nap: Duration::ZERO, spin: Duration::ZERO, yield_for: Duration::ZERO, finally: Finally::Block }
    }
    fn may_block(&self) -> bool {
        true
    }
}

/// The plan of a spin budget `spin` followed by blocking: pure `PAUSE` for
/// the first [`PURE_SPIN`](super::PURE_SPIN) of it, `sched_yield` for the rest, then block.
#[inline]
pub fn spin_then_yield(spin: Duration) -> Plan {
    // No pure spin while this thread's releaser shares its CPU (`colocate.rs`).
    let pure = super::colocate::pure_spin(spin);
    Plan { nap: Duration::ZERO, spin: pure, yield_for: spin - pure, finally: Finally::Block }
}

/// Spin up to `spin`, then block. The first [`PURE_SPIN`](super::PURE_SPIN) of the budget is
/// pure `PAUSE`, the rest spins with `sched_yield` (see [`PURE_SPIN`](super::PURE_SPIN) for
/// why). When the episode's parties outnumber the cores it does not spin at
/// all: it yields for [`OVERSUBSCRIBED_YIELD`], then blocks.
#[derive(Clone, Copy, Debug)]
pub struct Hybrid {
    /// Spin budget before blocking.
    pub spin: Duration,
}

impl Default for Hybrid {
    fn default() -> Self {
        Hybrid { spin: super::DEFAULT_HYBRID_SPIN }
    }
}

impl WaitStrategy for Hybrid {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        if oversubscribed(parties) {
            Plan { nap: Duration::ZERO, spin: Duration::ZERO, yield_for: OVERSUBSCRIBED_YIELD, finally: Finally::Block }
        } else {
            spin_then_yield(self.spin)
        }
    }
    fn may_block(&self) -> bool {
        true
    }
}

/// Shortest spin `Adaptive` will use: 2 µs (a few dozen cache-line round trips).
pub const ADAPTIVE_MIN_SPIN: Duration = Duration::from_micros(2);
/// Longest spin `Adaptive` will use: 100 µs, twice [`super::DEFAULT_HYBRID_SPIN`].
pub const ADAPTIVE_MAX_SPIN: Duration = Duration::from_micros(100);
/// Waits longer than this count as this long in the estimate, so one long
/// pause decays within a few waits: 10 ms.
pub const ADAPTIVE_CLAMP: Duration = Duration::from_millis(10);
/// Weight of a new observation in the moving estimate: 1 / 2^3.
const ADAPTIVE_SHIFT: u32 = 3;

thread_local! {
    /// Exponentially weighted moving average of this thread's recent wait
    /// lengths, in ns. Per thread, so observing writes no shared line.
    static ESTIMATE_NS: Cell<u64> = const { Cell::new(25_000) };
}

/// Hybrid whose spin budget follows the waits this thread observed.
///
/// It keeps a moving average `e` of how long its waits lasted. If `2e` fits in
/// [`ADAPTIVE_MAX_SPIN`], waits are short: spin `max(2e, ADAPTIVE_MIN_SPIN)`,
/// enough to catch a typical release without blocking. Otherwise waits are
/// long and spinning only burns CPU: spin [`ADAPTIVE_MIN_SPIN`], then block.
/// Oversubscribed, it behaves as [`Hybrid`] does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Adaptive;

impl Adaptive {
    /// This thread's current estimate of its wait length.
    pub fn estimate() -> Duration {
        Duration::from_nanos(ESTIMATE_NS.with(Cell::get))
    }

    /// The spin budget the current estimate gives.
    pub fn spin_budget() -> Duration {
        let twice = Self::estimate() * 2;
        if twice <= ADAPTIVE_MAX_SPIN {
            twice.max(ADAPTIVE_MIN_SPIN)
        } else {
            ADAPTIVE_MIN_SPIN
        }
    }
}

impl WaitStrategy for Adaptive {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        if oversubscribed(parties) {
            return Hybrid::default().plan(parties);
        }
        spin_then_yield(Self::spin_budget())
    }

    fn observe(&self, waited: Duration) {
        let w = waited.min(ADAPTIVE_CLAMP).as_nanos() as u64;
        ESTIMATE_NS.with(|e| {
            let old = e.get();
            // e += (w - e) / 8, in integers without underflow.
            let new = if w >= old { old + ((w - old) >> ADAPTIVE_SHIFT) } else { old - ((old - w) >> ADAPTIVE_SHIFT) };
            e.set(new);
        });
    }

    fn may_block(&self) -> bool {
        true
    }
}

/// Shortest nap `Predictive` takes: 30 µs. Below that the timer interrupt
/// and the wake-up (35–55 µs on the reference VM for a halted vCPU) cost more
/// than the spinning they save.
pub const PREDICTIVE_MIN_NAP: Duration = Duration::from_micros(30);
/// Waits longer than this count as this long in the estimates: 20 ms.
const PREDICTIVE_CLAMP_NS: u64 = 20_000_000;
/// Observations before an estimate is trusted.
const PREDICTIVE_WARM: u32 = 8;
/// After a nap, the spin before the release that the learned lead aims at:
/// 10 µs (room for the release's jitter; a release during the nap costs a
/// futex wake, 35–55 µs here).
const PREDICTIVE_SPIN_TARGET_NS: u64 = 10_000;
/// Waits in a row more than half the mean away from it that restart the
/// estimate.
const PREDICTIVE_RESTART: u8 = 3;
/// Places (wait words) tracked per thread; more share slots round-robin.
const PREDICTIVE_SITES: usize = 4;
/// The nap ends this much before the earliest expected release, besides the
/// learned timer lateness: 10 µs.
const PREDICTIVE_GUARD_NS: u64 = 10_000;
/// The spin window reaches this far past `mean + 4 dev`, and lasts at least
/// this long: 20 µs.
const PREDICTIVE_TAIL_NS: u64 = 20_000;

/// What `Predictive` knows about one place it waits at, in ns: moving
/// averages (weight 1/8) of the wait length, of its absolute deviation, and of
/// how late its timed naps woke.
#[derive(Clone, Copy, Debug, Default)]
struct SiteEstimate {
    site: usize,
    mean: u64,
    dev: u64,
    late: u64,
    seen: u32,
    /// Consecutive waits far outside the estimate (a change of period).
    outliers: u8,
    /// How long before `mean` the nap ends, learned from how the naps
    /// ended (`observe_nap_outcome`); 0 until the first nap.
    lead: u64,
}

thread_local! {
    /// Per thread, so learning writes no shared line; per site, so a
    /// thread's fork waits (the gap between regions) and its barrier waits
    /// (inside a region) do not blur each other.
    static SITES: RefCell<[SiteEstimate; PREDICTIVE_SITES]> = const {
        RefCell::new([SiteEstimate { site: usize::MAX, mean: 0, dev: 0, late: 0, seen: 0, outliers: 0, lead: 0 }; PREDICTIVE_SITES])
    };
    /// Round-robin victim for a new site.
    static NEXT_SLOT: Cell<usize> = const { Cell::new(0) };
    /// Whether this thread's timer slack was lowered.
    static SLACK_SET: Cell<bool> = const { Cell::new(false) };
}

/// `e += (x - e) / 8` without underflow.
fn ewma(e: u64, x: u64) -> u64 {
    average_in(e, x, 8)
}

/// `e += (x - e) / k` without underflow (`k >= 1`).
fn average_in(e: u64, x: u64, k: u64) -> u64 {
    if x >= e {
        e + (x - e) / k
    } else {
        e - (e - x) / k
    }
}

fn with_site<R>(site: usize, f: impl FnOnce(&mut SiteEstimate) -> R) -> R {
    SITES.with(|c| {
        // In place: a `Cell` would copy all the sites in and out per call.
        let mut all = c.borrow_mut();
        let i = all.iter().position(|e| e.site == site).unwrap_or_else(|| {
            let i = NEXT_SLOT.with(|n| {
                let i = n.get();
                n.set((i + 1) % PREDICTIVE_SITES);
                i
            });
            all[i] = SiteEstimate { site, ..SiteEstimate::default() };
            i
        });
        f(&mut all[i])
    })
}

/// Ask the kernel for 1 µs of timer slack on this thread (Linux
/// `PR_SET_TIMERSLACK`; the default 50 µs would make every nap wake up to
/// 50 µs late). Once per thread; a failure only costs precision.
fn lower_timer_slack() {
    if SLACK_SET.with(|s| s.replace(true)) {
        return;
    }
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    // SAFETY: prctl with PR_SET_TIMERSLACK takes one integer argument and
    // changes only this thread's timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1_000 as libc::c_ulong);
    }
}

/// Predictive waiting: learns, per thread and per place it waits at (the
/// word's address), how long its waits last (moving averages of the length
/// and of its deviation). When they are regular and long enough — a
/// time-step loop that forks every few hundred µs — the wait *naps* (a timed
/// park on the word, woken early by a release) until shortly before the
/// earliest expected release (mean − 2 × deviation − the learned timer
/// lateness − 10 µs), then spins with `sched_yield`
/// through the expected moment (until mean + 4 × deviation + 20 µs), then
/// blocks. On irregular or short waits, or oversubscribed, it plans as
/// [`Hybrid`]. The nap costs no CPU and the release still finds a spinning
/// waiter, so a periodic fork gets spin latency for a fraction of the CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Predictive;

impl Predictive {
    /// The plan for a wait at `site` from its estimate (public for tests).
    pub fn plan_for(site: usize, parties: usize) -> Plan {
        if oversubscribed(parties) {
            return Hybrid::default().plan(parties);
        }
        let e = with_site(site, |e| *e);
        let regular = e.seen >= PREDICTIVE_WARM && e.dev.saturating_mul(4) <= e.mean;
        let nap = e.mean.saturating_sub(lead_of(&e));
        if !regular || nap < PREDICTIVE_MIN_NAP.as_nanos() as u64 {
            return Hybrid::default().plan(parties);
        }
        lower_timer_slack();
        // The spin window starts when the nap ends — `late` after the time
        // asked for, on average — and covers the expected release with room
        // for the spread: it ends `mean + 4 dev + 20 µs` after the wait
        // began. (Counting the lateness on both sides, as this did first,
        // made every window one lateness — 35–55 µs on the reference VM —
        // too long: 0.07 extra cores at a 2 ms period instead of 0.03.)
        let until = e.mean + e.dev.saturating_mul(4) + PREDICTIVE_TAIL_NS;
        let window = Duration::from_nanos(until.saturating_sub(nap + e.late).max(PREDICTIVE_TAIL_NS));
        let pure = super::colocate::pure_spin(window);
        Plan { nap: Duration::from_nanos(nap), spin: pure, yield_for: window - pure, finally: Finally::Block }
    }

    /// This thread's estimate for `site`: (mean wait, mean deviation, nap
    /// lateness, observations).
    pub fn estimate(site: usize) -> (Duration, Duration, Duration, u32) {
        let e = with_site(site, |e| *e);
        (Duration::from_nanos(e.mean), Duration::from_nanos(e.dev), Duration::from_nanos(e.late), e.seen)
    }
}

impl WaitStrategy for Predictive {
    #[inline]
    fn plan(&self, parties: usize) -> Plan {
        Self::plan_for(0, parties)
    }

    fn plan_at(&self, site: usize, parties: usize) -> Plan {
        Self::plan_for(site, parties)
    }

    fn observe(&self, waited: Duration) {
        self.observe_at(0, waited)
    }

    fn observe_at(&self, site: usize, waited: Duration) {
        let w = (waited.as_nanos() as u64).min(PREDICTIVE_CLAMP_NS);
        with_site(site, |e| {
            // Far from the estimate: more than half the mean away. Relative
            // to the mean, not the deviation, which the far waits themselves
            // widen at once (then the third of three in a row no longer
            // looks far); a loop jittered by up to ±50 % never counts.
            let far = e.seen > 0 && w.abs_diff(e.mean) > e.mean / 2;
            e.outliers = if far { e.outliers.saturating_add(1) } else { 0 };
            if e.seen == 0 || e.outliers >= PREDICTIVE_RESTART {
                // First wait, or the period changed: `PREDICTIVE_RESTART`
                // waits in a row far off. Start again from this wait rather
                // than let the averages crawl over (at weight 1/8 the
                // deviation of a loop that went from jittered 1 ms to a
                // steady 2 ms took ~27 waits to settle, all of them planned
                // as `Hybrid`). Trusted again after `PREDICTIVE_WARM` waits.
                e.mean = w;
                e.dev = w / 2;
                e.seen = 0;
                e.outliers = 0;
                e.lead = 0;
            } else {
                // Weight 1/(k + 1) for the k-th wait up to 1/8: a plain
                // average while warming up, so `PREDICTIVE_WARM` waits
                // settle the estimate; a moving one after.
                let k = u64::from(e.seen.min(7)) + 1;
                e.dev = average_in(e.dev, w.abs_diff(e.mean), k);
                e.mean = average_in(e.mean, w, k);
            }
            e.seen = e.seen.saturating_add(1);
        });
    }

    fn observe_nap(&self, site: usize, late: Duration) {
        let l = (late.as_nanos() as u64).min(PREDICTIVE_CLAMP_NS);
        with_site(site, |e| e.late = if e.late == 0 { l } else { ewma(e.late, l) });
    }

    fn observe_nap_outcome(&self, site: usize, outcome: NapOutcome) {
        with_site(site, |e| {
            let lead = lead_of(e);
            let next = match outcome {
                // Woke too late: back off fast (half the lead, at least
                // 20 µs), as a release during the nap costs a futex wake.
                NapOutcome::Released => lead + (lead / 2).max(PREDICTIVE_TAIL_NS),
                // Move a quarter of the way toward spinning
                // `PREDICTIVE_SPIN_TARGET_NS` after the nap.
                NapOutcome::Spun(s) => {
                    let s = s.as_nanos().min(u128::from(PREDICTIVE_CLAMP_NS)) as u64;
                    if s > PREDICTIVE_SPIN_TARGET_NS {
                        lead.saturating_sub((s - PREDICTIVE_SPIN_TARGET_NS) / 4)
                    } else {
                        lead + (PREDICTIVE_SPIN_TARGET_NS - s) / 4
                    }
                }
                NapOutcome::Overran => lead,
            };
            e.lead = next.clamp(PREDICTIVE_SPIN_TARGET_NS, (e.mean / 2).max(PREDICTIVE_SPIN_TARGET_NS));
        });
    }

    fn may_block(&self) -> bool {
        true
    }
}

/// How long before the mean wait a nap at this site ends: the learned lead,
/// or before any nap `2 dev + late + PREDICTIVE_GUARD_NS`.
fn lead_of(e: &SiteEstimate) -> u64 {
    if e.lead != 0 {
        e.lead
    } else {
        e.dev.saturating_mul(2) + e.late + PREDICTIVE_GUARD_NS
    }
}

/// Check, sleep `interval`, check again: the seed's `system_sleep` loop.
/// Correct, and slow by design: a release is seen up to `interval` late.
#[derive(Clone, Copy, Debug)]
pub struct SleepPoll {
    /// Sleep between checks.
    pub interval: Duration,
}

impl WaitStrategy for SleepPoll {
    #[inline]
    fn plan(&self, _parties: usize) -> Plan {
        Plan {
            nap: Duration::ZERO,
            spin: Duration::ZERO,
            yield_for: Duration::ZERO,
            finally: Finally::Sleep(self.interval),
        }
    }
    fn may_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn adaptive_shrinks_on_long_waits_and_grows_back() {
        std::thread::spawn(|| {
            for _ in 0..64 {
                Adaptive.observe(Duration::from_millis(5));
            }
            assert_eq!(Adaptive::spin_budget(), ADAPTIVE_MIN_SPIN, "long waits: minimal spin");
            for _ in 0..64 {
                Adaptive.observe(Duration::from_micros(10));
            }
            let b = Adaptive::spin_budget();
            assert!(b > Duration::from_micros(15) && b < Duration::from_micros(25), "short waits: spin ~2x, got {b:?}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn hybrid_does_not_spin_when_oversubscribed() {
        let p = Hybrid::default().plan(super::super::cores() + 1);
        assert_eq!(p.spin, Duration::ZERO);
        assert_eq!(p.yield_for, OVERSUBSCRIBED_YIELD);
        assert_eq!(p.finally, Finally::Block);
        let p = Hybrid::default().plan(1);
        assert_eq!(p.spin + p.yield_for, super::super::DEFAULT_HYBRID_SPIN);
        assert_eq!(p.spin, super::super::PURE_SPIN);
        let p = Hybrid { spin: Duration::from_micros(1) }.plan(1);
        assert_eq!((p.spin, p.yield_for), (Duration::from_micros(1), Duration::ZERO));
    }

    #[test]
    fn predictive_lead_follows_how_naps_ended() {
        let site = 0x3000usize;
        let us = Duration::from_micros;
        for _ in 0..16 {
            Predictive.observe_at(site, us(1000));
        }
        let first = Predictive::plan_for(site, 1).nap;
        assert!(first > us(800), "regular 1 ms waits: nap {first:?}");
        // Woke 100 µs before the release, five times: nap longer.
        for _ in 0..5 {
            Predictive.observe_nap_outcome(site, NapOutcome::Spun(us(100)));
        }
        let longer = Predictive::plan_for(site, 1).nap;
        assert!(longer > first, "{longer:?} after waking early, was {first:?}");
        assert!(longer < us(1000) - us(9), "never past mean - 10 us: {longer:?}");
        // The release came during the nap: nap shorter, at once.
        Predictive.observe_nap_outcome(site, NapOutcome::Released);
        let shorter = Predictive::plan_for(site, 1).nap;
        assert!(shorter + us(19) < longer, "{shorter:?} after a late wake, was {longer:?}");
        // A wait that outlasted the window says nothing about the nap.
        Predictive.observe_nap_outcome(site, NapOutcome::Overran);
        assert_eq!(Predictive::plan_for(site, 1).nap, shorter);
        // A new period (3 waits far off) restarts the estimate: no nap
        // until it has warmed up again.
        for _ in 0..3 {
            Predictive.observe_at(site, us(5000));
        }
        assert_eq!(Predictive::plan_for(site, 1).nap, Duration::ZERO);
        for _ in 0..PREDICTIVE_WARM {
            Predictive.observe_at(site, us(5000));
        }
        let p = Predictive::plan_for(site, 1).nap;
        assert!(p > us(4000) && p < us(5000), "re-learned the 5 ms period: {p:?} {:?}", Predictive::estimate(site));
    }

    #[test]
    fn predictive_naps_through_regular_waits_only() {
        let (a, b) = (0x1000usize, 0x2000usize);
        // One party is never oversubscribed, whatever the machine (Miri
        // reports one CPU).
        let us = Duration::from_micros;
        // Before any observation, and on short waits: as Hybrid.
        assert_eq!(Predictive::plan_for(a, 1).nap, Duration::ZERO);
        for _ in 0..32 {
            Predictive.observe_at(a, us(500));
            Predictive.observe_at(b, if b % 2 == 0 { us(100) } else { us(2000) });
        }
        for i in 0..32 {
            Predictive.observe_at(b, if i % 2 == 0 { us(100) } else { us(2000) });
        }
        let p = Predictive::plan_for(a, 1);
        assert!(p.nap > us(300) && p.nap < us(500), "regular 500 us waits: nap {:?}", p.nap);
        let until = p.nap + p.spin + p.yield_for;
        assert!(until > us(500), "the spin window covers the expected release: {p:?}");
        assert_eq!(p.finally, Finally::Block);
        // Irregular waits at another place: no nap there, and no effect here.
        assert_eq!(Predictive::plan_for(b, 1).nap, Duration::ZERO, "{:?}", Predictive::estimate(b));
        assert_eq!(Predictive::plan_for(a, 1).nap, p.nap);
        // A nap that woke late moves the next nap earlier.
        Predictive.observe_nap(a, us(40));
        assert!(Predictive::plan_for(a, 1).nap < p.nap);
        // Oversubscribed: never naps.
        if let Some(many) = (2..4096).find(|&n| oversubscribed(n)) {
            assert_eq!(Predictive::plan_for(a, many).nap, Duration::ZERO);
        }
    }
}
