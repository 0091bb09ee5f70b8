//! Helpers for the reliability tests (`faults.rs`, `ledger.rs`, `soak.rs`,
//! `timeouts.rs`): a seeded PRNG, environment knobs, a runner that turns a
//! hang into a failure with a message, a fault recorder and an
//! exactly-once ledger.
#![allow(dead_code)]

use std::any::Any;
use std::panic;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// splitmix64 (Steele, Lea & Flood 2014, the seeding generator of Java's
/// `SplittableRandom`): one add and two multiply-xorshift rounds per output,
/// every seed gives a full-period stream. Enough for picking trial
/// parameters; no dependency.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

/// The golden-ratio increment of splitmix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        self.next_u64() % n
    }

    /// Uniform in `0..n` as a `usize`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.index(hi - lo + 1)
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.index(xs.len())]
    }
}

/// The `i`-th seed of a run whose base seed is `base`: one splitmix64 output,
/// so neighbouring trials get unrelated parameters.
pub fn derive_seed(base: u64, i: u64) -> u64 {
    SplitMix64::new(base ^ i.wrapping_mul(GAMMA)).next_u64()
}

/// An unsigned variable (decimal, or hex with `0x`); unset or empty gives
/// `None`. A value we cannot read fails the test with the name and value.
pub fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok().filter(|v| !v.trim().is_empty())?;
    let t = v.trim();
    let parsed = match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    match parsed {
        Ok(x) => Some(x),
        Err(_) => panic!("invalid {name} = {v:?}: expected an unsigned integer (decimal or 0x hex)"),
    }
}

/// A base seed for a run: from the clock, so every CI run explores new
/// trials; printed so that a failing run can be repeated.
pub fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    SplitMix64::new(t.as_nanos() as u64).next_u64()
}

/// Run `f` on a helper thread and wait at most `limit` for it. A hung thread
/// cannot be killed, so on timeout this prints `what()` (seed and
/// parameters) and aborts the process: the test fails loudly instead of
/// hanging CI. A panic in `f` comes back as `Err(payload)`.
pub fn bounded<R, F>(limit: Duration, what: impl Fn() -> String, f: F) -> Result<R, Box<dyn Any + Send>>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .name("fault-trial".into())
        .spawn(move || {
            let r = panic::catch_unwind(panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .expect("spawn trial thread");
    match rx.recv_timeout(limit) {
        Ok(r) => {
            let _ = h.join();
            r
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            eprintln!("HANG: {} did not finish within {limit:?}; aborting", what());
            std::process::abort();
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the trial thread always sends"),
    }
}

/// Message prefix of every panic the reliability tests raise on purpose.
pub const BOOM: &str = "boom";

/// Keep the default panic hook's output for real panics only: the ones
/// raised on purpose (messages starting with [`BOOM`]) would drown the log.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.starts_with(BOOM)) {
                prev(info);
            }
        }));
    });
}

/// No thread fired yet.
const NOBODY: usize = usize::MAX;

/// Records which thread raised the injected panic (when the site decides it
/// at run time, e.g. "whoever runs iteration 17"), and refuses a second one.
#[derive(Debug)]
pub struct Fault {
    by: AtomicUsize,
}

impl Default for Fault {
    fn default() -> Self {
        Fault { by: AtomicUsize::new(NOBODY) }
    }
}

impl Fault {
    /// Panic as thread `tid` with a [`BOOM`] message naming `what`.
    pub fn fire(&self, tid: usize, what: &str) -> ! {
        // SeqCst: read after the region ended (joined), any order would do;
        // the swap makes a second firing visible as a wrong previous value.
        let prev = self.by.swap(tid, Ordering::SeqCst);
        assert_eq!(prev, NOBODY, "the fault fired twice (first by thread {prev}, now {tid} at {what})");
        panic!("{BOOM}: thread {tid} at {what}")
    }

    /// The thread that fired, once the region is over.
    pub fn fired_by(&self) -> Option<usize> {
        // SeqCst: see `fire`.
        Some(self.by.load(Ordering::SeqCst)).filter(|&t| t != NOBODY)
    }
}

/// How each item of an exactly-once check ended. Every item gets exactly one
/// outcome; each outcome adds one to the item's counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A consumer ran it to the end.
    Ran,
    /// The consumer that held it panicked in its handler and recorded it.
    Failed,
    /// Still in the queue at the end (drained by the test).
    Remained,
    /// `push` refused it (queue closed) and gave it back.
    Returned,
}

/// Per-item counters, not a guess: `counts[id]` is how many outcomes item
/// `id` got (must be exactly 1 for every item offered), and one total per
/// outcome.
pub struct Ledger {
    counts: Vec<AtomicU8>,
    totals: [AtomicUsize; 4],
}

/// What a ledger found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub offered: usize,
    pub ran: usize,
    pub failed: usize,
    pub remained: usize,
    pub returned: usize,
    /// Items offered with no outcome.
    pub lost: usize,
    /// Items with more than one outcome, and items never offered that got one.
    pub duplicated: usize,
}

impl Ledger {
    pub fn new(items: usize) -> Self {
        Ledger { counts: (0..items).map(|_| AtomicU8::new(0)).collect(), totals: Default::default() }
    }

    /// Item `id` ended with `o`.
    pub fn record(&self, id: usize, o: Outcome) {
        // Relaxed: counters read after every thread was joined; the join
        // orders them. Saturating so a runaway duplicate cannot wrap to 0.
        let _ = self.counts[id].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(1));
        // Relaxed: as above.
        self.totals[o as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A consumer holds item `id` while it runs it: [`Held::ran`] records
    /// `Ran`; dropping the guard otherwise (the handler panicked) records
    /// `Failed`.
    pub fn hold(&self, id: usize) -> Held<'_> {
        Held { ledger: self, id: Some(id) }
    }

    /// Check items `0..offered` got exactly one outcome and the rest none.
    pub fn tally(&self, offered: usize) -> Tally {
        let mut t = Tally { offered, ..Tally::default() };
        for (id, c) in self.counts.iter().enumerate() {
            // Relaxed: see `record`.
            let c = c.load(Ordering::Relaxed);
            match (id < offered, c) {
                (true, 0) => t.lost += 1,
                (true, 1) | (false, 0) => {}
                _ => t.duplicated += 1,
            }
        }
        // Relaxed: see `record`.
        let tot = |o: Outcome| self.totals[o as usize].load(Ordering::Relaxed);
        t.ran = tot(Outcome::Ran);
        t.failed = tot(Outcome::Failed);
        t.remained = tot(Outcome::Remained);
        t.returned = tot(Outcome::Returned);
        t
    }
}

/// A popped item in a consumer's hands; see [`Ledger::hold`].
pub struct Held<'a> {
    ledger: &'a Ledger,
    id: Option<usize>,
}

impl Held<'_> {
    /// The handler finished.
    pub fn ran(mut self) {
        if let Some(id) = self.id.take() {
            self.ledger.record(id, Outcome::Ran);
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.ledger.record(id, Outcome::Failed);
        }
    }
}
