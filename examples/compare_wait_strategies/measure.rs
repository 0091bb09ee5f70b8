//! The three measurement kernels of `compare_wait_strategies`, each generic
//! over the primitive so the phalanx policies and the `std` baselines run the
//! very same code.

use super::common::{busy_for, median, thread_cpu_time, XorShift};
use phalanx::sync::Gate;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A batch is long enough to time once it takes this share of the budget.
const CALIBRATE_SHARE: u32 = 20;
/// At least this many timed batches, even past the budget (a median needs some).
const MIN_BATCHES: usize = 3;
/// At most this many timed batches.
const MAX_BATCHES: usize = 41;
/// Largest batch, in crossings.
const MAX_BATCH: usize = 1 << 20;

/// Result of one barrier measurement.
#[derive(Clone, Copy, Debug)]
pub struct BarrierRun {
    /// Median over the timed batches of (batch time / crossings in it).
    pub us_per_crossing: f64,
    /// Crossings timed, all batches together.
    pub crossings: u64,
    /// Timed batches.
    pub batches: usize,
    /// Wall time of the whole measurement, calibration included.
    pub elapsed: Duration,
}

/// Time crossings of a barrier of `n` parties whose wait is `wait`.
///
/// The `n` parties are spawned once (the calling thread is party 0) and
/// reused for every batch. Each batch starts with one untimed crossing that
/// publishes its size (0 = stop); party 0 then times `size` crossings. The
/// batch size doubles from 1 until a batch takes 1/[`CALIBRATE_SHARE`] of the
/// budget, then batches run until `budget` is spent (at least
/// [`MIN_BATCHES`]), so a policy that collapses (spin, oversubscribed) stays
/// bounded at a few crossings instead of running for minutes.
pub fn barrier<F>(n: usize, budget: Duration, wait: F) -> Result<BarrierRun, String>
where
    F: Fn() -> Result<(), String> + Sync,
{
    let size = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (1..n)
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    loop {
                        wait()?;
                        // Relaxed: the crossing just passed orders this load
                        // after party 0's store (a barrier is a full
                        // release/acquire point for every party).
                        let k = size.load(Ordering::Relaxed);
                        if k == 0 {
                            return Ok(());
                        }
                        for _ in 0..k {
                            wait()?;
                        }
                    }
                })
            })
            .collect();
        let timed = drive_barrier(&size, budget, start, &wait);
        // Relaxed: published by the final crossing below, as in the workers.
        size.store(0, Ordering::Relaxed);
        // After an error the barrier is broken and this returns at once.
        let stop = wait();
        for w in workers {
            w.join().map_err(|_| "a barrier thread panicked".to_string())??;
        }
        let (per, crossings) = timed?;
        stop?;
        Ok(BarrierRun { us_per_crossing: median(&per), crossings, batches: per.len(), elapsed: start.elapsed() })
    })
}

/// Party 0's side of [`barrier`]: calibrate, then time batches. Returns the
/// µs per crossing of each timed batch and the crossings timed.
fn drive_barrier<F>(size: &AtomicUsize, budget: Duration, start: Instant, wait: &F) -> Result<(Vec<f64>, u64), String>
where
    F: Fn() -> Result<(), String>,
{
    let batch = |k: usize| -> Result<Duration, String> {
        // Relaxed: the next crossing publishes it to the other parties.
        size.store(k, Ordering::Relaxed);
        wait()?;
        let t0 = Instant::now();
        for _ in 0..k {
            wait()?;
        }
        Ok(t0.elapsed())
    };
    let mut k = 1;
    while batch(k)? < budget / CALIBRATE_SHARE && k < MAX_BATCH {
        k *= 2;
    }
    let mut per = Vec::new();
    while per.len() < MIN_BATCHES || (start.elapsed() < budget && per.len() < MAX_BATCHES) {
        per.push(batch(k)?.as_secs_f64() * 1e6 / k as f64);
    }
    let crossings = (per.len() * k) as u64;
    Ok((per, crossings))
}

/// What the release and idle-CPU measurements need from a gate.
pub trait Release: Sync {
    /// Open: release every waiter.
    fn open(&self);
    /// Wait until open.
    fn wait(&self);
    /// Close for the next round.
    fn reset(&self);
    /// Whether it is open now.
    fn is_open(&self) -> bool;
}

impl Release for Gate {
    fn open(&self) {
        Gate::open(self)
    }
    fn wait(&self) {
        Gate::wait(self)
    }
    fn reset(&self) {
        Gate::reset(self)
    }
    fn is_open(&self) -> bool {
        Gate::is_open(self)
    }
}

/// The baseline: a flag under a `Mutex`, waited for with a `Condvar`.
#[derive(Default)]
pub struct StdGate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl StdGate {
    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Release for StdGate {
    fn open(&self) {
        *self.flag() = true;
        self.cv.notify_all();
    }
    fn wait(&self) {
        let mut open = self.flag();
        while !*open {
            open = self.cv.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
    fn reset(&self) {
        *self.flag() = false;
    }
    fn is_open(&self) -> bool {
        *self.flag()
    }
}

/// How long the master works alone before it opens the gate, per round of
/// the release measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gap {
    /// [`SHORT_GAP_MIN`]..[`SHORT_GAP_MAX`]: inside `DEFAULT_HYBRID_SPIN`, so a
    /// hybrid waiter is still spinning when the gate opens.
    Short,
    /// [`LONG_GAP_MIN`]..[`LONG_GAP_MAX`]: past every spin budget, so hybrid and
    /// adaptive waiters have blocked and are woken by a futex wake.
    Long,
}

/// The short gap's range: well inside `phalanx::wait::DEFAULT_HYBRID_SPIN`.
pub const SHORT_GAP_MIN: Duration = Duration::from_micros(5);
pub const SHORT_GAP_MAX: Duration = Duration::from_micros(40);
/// The long gap's range: past `DEFAULT_HYBRID_SPIN` and `ADAPTIVE_MAX_SPIN`.
pub const LONG_GAP_MIN: Duration = Duration::from_micros(200);
pub const LONG_GAP_MAX: Duration = Duration::from_millis(2);

impl Gap {
    /// Both regimes, short first.
    pub const ALL: [Gap; 2] = [Gap::Short, Gap::Long];

    /// `short` or `long`: the middle of the metric names (`release_short_median`).
    pub fn name(self) -> &'static str {
        match self {
            Gap::Short => "short",
            Gap::Long => "long",
        }
    }

    /// The range the master's work is drawn from.
    pub fn range(self) -> (Duration, Duration) {
        match self {
            Gap::Short => (SHORT_GAP_MIN, SHORT_GAP_MAX),
            Gap::Long => (LONG_GAP_MIN, LONG_GAP_MAX),
        }
    }

    /// The range in words, for table titles: `5 us-40 us`.
    pub fn describe(self) -> String {
        let f = |d: Duration| {
            if d.as_micros() % 1000 == 0 {
                format!("{} ms", d.as_millis())
            } else {
                format!("{} us", d.as_micros())
            }
        };
        let (lo, hi) = self.range();
        format!("{}-{}", f(lo), f(hi))
    }
}

/// Rounds of the release measurement: at least, at most.
const MIN_ROUNDS: usize = 20;
const MAX_ROUNDS: usize = 5000;
/// A waiter not released within this long means the primitive is broken.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Release latency in µs, one sample per round, until `budget` is spent
/// (at least [`MIN_ROUNDS`]).
///
/// Per round: the master tells the waiter to go (a channel), works alone for
/// a time drawn from `gap`'s range, records the time, opens the gate, and
/// gets the waiter's sample back; then it resets the gate. The waiter's sample
/// is the time from just before `open()` to just after its `wait()` returned.
pub fn release<G: Release>(gate: &G, gap: Gap, budget: Duration) -> Result<Vec<f64>, String> {
    let (work_min, work_max) = gap.range();
    let base = Instant::now();
    let opened_at = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let (go_tx, go_rx) = mpsc::channel::<bool>();
    let (lat_tx, lat_rx) = mpsc::channel::<Result<f64, String>>();
    let mut rng = XorShift::new(0x5eed);
    let mut lat = Vec::new();
    std::thread::scope(|s| {
        let opened_at = &opened_at;
        let ready = &ready;
        s.spawn(move || {
            while go_rx.recv() == Ok(true) {
                // Relaxed: a hint that this thread is running and about to
                // wait; no data travels with it.
                ready.store(true, Ordering::Relaxed);
                gate.wait();
                let now = base.elapsed().as_nanos() as u64;
                // Relaxed: stored before `open()`, whose release pairs with the
                // acquire inside `wait()` that just returned.
                let t = opened_at.load(Ordering::Relaxed);
                let sample = if gate.is_open() {
                    Ok(now.saturating_sub(t) as f64 / 1e3)
                } else {
                    Err("gate wait() returned while the gate is closed".to_string())
                };
                if lat_tx.send(sample).is_err() {
                    return;
                }
            }
        });
        let result = (|| {
            while lat.len() < MIN_ROUNDS || (base.elapsed() < budget && lat.len() < MAX_ROUNDS) {
                go_tx.send(true).map_err(|_| "release waiter thread died".to_string())?;
                // Do not start the clock on a waiter that is not even running
                // yet (woken by the channel onto this thread's CPU, say):
                // wait until it is about to call wait().
                // Relaxed: see the store; swap so the next round starts false.
                while !ready.swap(false, Ordering::Relaxed) {
                    std::thread::yield_now();
                }
                busy_for(rng.duration_between(work_min, work_max));
                // Relaxed: published to the waiter by `open()` (see above).
                opened_at.store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
                gate.open();
                match lat_rx.recv_timeout(RELEASE_TIMEOUT) {
                    Ok(sample) => lat.push(sample?),
                    Err(_) => {
                        // The waiter is stuck in wait(): joining it would hang.
                        eprintln!("error: waiter not released {RELEASE_TIMEOUT:?} after open()");
                        std::process::exit(1);
                    }
                }
                gate.reset();
            }
            Ok::<(), String>(())
        })();
        let _ = go_tx.send(false);
        result
    })?;
    Ok(lat)
}

/// ms of CPU the waiting thread burns per second of waiting: one thread
/// waits on the closed `gate` while this thread sleeps for `wait`, then opens.
pub fn idle_cpu<G: Release>(gate: &G, wait: Duration) -> Result<f64, String> {
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let cpu0 = thread_cpu_time();
            let t0 = Instant::now();
            gate.wait();
            let (cpu, wall) = (thread_cpu_time() - cpu0, t0.elapsed());
            (cpu, wall, gate.is_open())
        });
        std::thread::sleep(wait);
        gate.open();
        let (cpu, wall, open) = waiter.join().map_err(|_| "idle-CPU waiter panicked".to_string())?;
        if !open {
            return Err("gate wait() returned while the gate is closed".into());
        }
        Ok(cpu.as_secs_f64() * 1e3 / wall.as_secs_f64().max(1e-9))
    })
}
