//! Code shared by the benches: the [`Competitor`] trait (one barrier crossing,
//! whoever implements it), a persistent [`Crew`] of helper threads that cross
//! with the timing thread, the [`GateWaiter`] used by the wake-up and CPU-cost
//! benches, and a watchdog so no bench can hang.
//!
//! Threads are spawned once per benchmark, outside the timed closure, and
//! reused across criterion's samples: fresh spinning threads per sample
//! sometimes land on one vCPU and wreck the estimate (DESIGN.md).
#![allow(dead_code)] // each bench uses part of this module

pub mod cpu_time;
pub mod gate_waiter;

use phalanx::barrier::BreakReason;
use phalanx::{Barrier, BarrierKind, WaitPolicy};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Something `parties` threads can cross together, once per call of
/// [`cross`](Self::cross) by every party.
pub trait Competitor: Send + Sync + 'static {
    /// The benchmark id, e.g. `central/hybrid(50us)`.
    fn name(&self) -> String;
    /// Threads taking part, the timing thread included.
    fn parties(&self) -> usize;
    /// Threads the [`Crew`] must spawn: `parties - 1`, or 0 when the
    /// competitor owns its threads (rayon's pool).
    fn helpers(&self) -> usize {
        self.parties() - 1
    }
    /// One crossing by party `party` (`0` is the timing thread).
    fn cross(&self, party: usize);
    /// Times `iters` crossings as party 0 sees them, after one untimed
    /// crossing that lines every party up.
    fn time_crossings(&self, iters: u64) -> Duration {
        self.cross(0);
        let start = Instant::now();
        for _ in 0..iters {
            self.cross(0);
        }
        start.elapsed()
    }
    /// Called by a helper whose crossing panicked: release the other parties
    /// if the competitor can (a phalanx barrier breaks).
    fn abandon(&self) {}
}

/// A phalanx [`Barrier`] of one kind and policy.
pub struct PhalanxBarrier {
    barrier: Barrier,
    kind: BarrierKind,
    policy: WaitPolicy,
}

impl PhalanxBarrier {
    pub fn new(kind: BarrierKind, policy: WaitPolicy, parties: usize) -> Self {
        let barrier = Barrier::builder(parties)
            .kind(kind)
            .wait_policy(policy)
            .build()
            .unwrap_or_else(|e| panic!("building a {kind} barrier for {parties}: {e}"));
        PhalanxBarrier { barrier, kind, policy }
    }
}

impl Competitor for PhalanxBarrier {
    fn name(&self) -> String {
        format!("{}/{}", self.kind, self.policy)
    }
    fn parties(&self) -> usize {
        self.barrier.parties()
    }
    #[inline]
    fn cross(&self, party: usize) {
        if let Err(e) = self.barrier.wait_as(party) {
            panic!("{} party {party}: {e}", self.name());
        }
    }
    fn abandon(&self) {
        self.barrier.break_barrier(BreakReason::Other("a bench helper panicked".into()));
    }
}

/// `std::sync::Barrier`: mutex + condvar.
pub struct StdBarrier {
    barrier: std::sync::Barrier,
    parties: usize,
}

impl StdBarrier {
    pub fn new(parties: usize) -> Self {
        StdBarrier { barrier: std::sync::Barrier::new(parties), parties }
    }
}

impl Competitor for StdBarrier {
    fn name(&self) -> String {
        "std::sync::Barrier".into()
    }
    fn parties(&self) -> usize {
        self.parties
    }
    #[inline]
    fn cross(&self, _party: usize) {
        self.barrier.wait();
    }
}

/// rayon: one crossing is one `broadcast` of an empty closure to every thread
/// of a pool of `parties`, issued from inside the pool (so the issuing thread
/// is one of the parties, as the timing thread is for a barrier).
pub struct RayonBroadcast {
    pool: rayon::ThreadPool,
    parties: usize,
}

impl RayonBroadcast {
    pub fn new(parties: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(parties)
            .thread_name(|i| format!("bench-rayon-{i}"))
            .build()
            .unwrap_or_else(|e| panic!("building a rayon pool of {parties}: {e}"));
        RayonBroadcast { pool, parties }
    }
}

impl Competitor for RayonBroadcast {
    fn name(&self) -> String {
        "rayon::broadcast".into()
    }
    fn parties(&self) -> usize {
        self.parties
    }
    fn helpers(&self) -> usize {
        0
    }
    fn cross(&self, _party: usize) {
        self.pool.broadcast(|_| ());
    }
    fn time_crossings(&self, iters: u64) -> Duration {
        self.pool.install(|| {
            rayon::broadcast(|_| ());
            let start = Instant::now();
            for _ in 0..iters {
                rayon::broadcast(|_| ());
            }
            start.elapsed()
        })
    }
}

/// threadteam 0.3: one crossing is one `Participant::barrier` of a team
/// section (`Exec::team`, then `TeamExec::run_with`), the pool's members
/// reserved for the scope. Each timed batch opens one scope and one section
/// (untimed), then the leader times `iters` barriers inside it.
pub struct ThreadteamSection {
    pool: threadteam::Pool,
    parties: usize,
}

impl ThreadteamSection {
    pub fn new(parties: usize) -> Self {
        let pool = threadteam::Pool::builder()
            .threads(parties)
            .acquire_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("building a threadteam pool of {parties}: {e}"));
        ThreadteamSection { pool, parties }
    }
}

impl Competitor for ThreadteamSection {
    fn name(&self) -> String {
        "threadteam section barrier".into()
    }
    fn parties(&self) -> usize {
        self.parties
    }
    fn helpers(&self) -> usize {
        0
    }
    fn cross(&self, _party: usize) {
        unreachable!("threadteam crosses inside time_crossings only")
    }
    fn time_crossings(&self, iters: u64) -> Duration {
        let timed = std::sync::Mutex::new(None);
        let mut exec = threadteam::Exec::new(&self.pool, self.parties).expect("a threadteam token");
        exec.team(|t| {
            t.run_with(|p| {
                let cross = || p.barrier().expect("no participant panics");
                cross(); // line every participant up
                let start = Instant::now();
                for _ in 0..iters {
                    cross();
                }
                if p.index() == 0 {
                    *timed.lock().expect("not poisoned") = Some(start.elapsed());
                }
            })
        })
        .expect("the threadteam pool's members can be reserved");
        let elapsed = timed.lock().expect("not poisoned").take();
        elapsed.expect("the leader timed its crossings")
    }
}

/// The floor: a sense-reversing counter barrier that only spins, with no
/// wait policy, poisoning or divergence checks (the least a barrier costs
/// here).
pub struct SpinFloor {
    count: crossbeam_utils::CachePadded<AtomicU64>,
    sense: crossbeam_utils::CachePadded<std::sync::atomic::AtomicBool>,
    parties: usize,
}

impl SpinFloor {
    pub fn new(parties: usize) -> Self {
        SpinFloor { count: Default::default(), sense: Default::default(), parties }
    }
}

impl Competitor for SpinFloor {
    fn name(&self) -> String {
        "spin floor (two atomics)".into()
    }
    fn parties(&self) -> usize {
        self.parties
    }
    #[inline]
    fn cross(&self, _party: usize) {
        // Relaxed: the sense cannot flip before this party arrives (the
        // counter is not full without it), so this reads this episode's value.
        let mine = !self.sense.load(Ordering::Relaxed);
        // AcqRel: the last arriver acquires the earlier arrivers' writes
        // before it releases everyone with the flip.
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.parties as u64 {
            // Relaxed: ordered before the next episode's arrivals by the
            // Release flip below, which they wait for.
            self.count.store(0, Ordering::Relaxed);
            // Release: pairs with the waiters' Acquire load.
            self.sense.store(mine, Ordering::Release);
        } else {
            // Acquire: pairs with the last arriver's Release store.
            while self.sense.load(Ordering::Acquire) != mine {
                std::hint::spin_loop();
            }
        }
    }
}

/// What the timing thread tells a helper.
enum Command {
    /// Cross `1 + n` times (the untimed line-up crossing, then `n`).
    Cross(u64),
    Stop,
}

/// Persistent helper threads for one competitor. Each loops on its command
/// channel (blocking, so idle helpers burn no CPU between samples).
pub struct Crew<C: Competitor> {
    competitor: Arc<C>,
    commands: Vec<mpsc::Sender<Command>>,
    done: mpsc::Receiver<Result<(), String>>,
    handles: Vec<JoinHandle<()>>,
}

impl<C: Competitor> Crew<C> {
    pub fn spawn(competitor: C) -> Self {
        let competitor = Arc::new(competitor);
        let (done_tx, done) = mpsc::channel();
        let mut commands = Vec::new();
        let mut handles = Vec::new();
        for party in 1..=competitor.helpers() {
            let (tx, rx) = mpsc::channel();
            let (c, done_tx) = (Arc::clone(&competitor), done_tx.clone());
            let handle = thread::Builder::new()
                .name(format!("bench-helper-{party}"))
                .spawn(move || helper_loop(&*c, party, &rx, &done_tx))
                .expect("spawning a bench helper thread");
            commands.push(tx);
            handles.push(handle);
        }
        Crew { competitor, commands, done, handles }
    }

    pub fn competitor(&self) -> &C {
        &self.competitor
    }

    /// `iters` timed crossings by all parties; the time party 0 measured.
    pub fn run(&self, iters: u64) -> Duration {
        let _watch = watchdog(&self.competitor.name());
        for tx in &self.commands {
            tx.send(Command::Cross(iters)).expect("a bench helper thread is gone");
        }
        let elapsed = self.competitor.time_crossings(iters);
        for _ in &self.commands {
            match self.done.recv() {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => panic!("{}: a helper failed: {msg}", self.competitor.name()),
                Err(_) => panic!("{}: a helper thread is gone", self.competitor.name()),
            }
        }
        elapsed
    }
}

fn helper_loop<C: Competitor>(
    c: &C,
    party: usize,
    rx: &mpsc::Receiver<Command>,
    done: &mpsc::Sender<Result<(), String>>,
) {
    while let Ok(Command::Cross(iters)) = rx.recv() {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            for _ in 0..=iters {
                c.cross(party);
            }
        }));
        let report = outcome.map_err(|p| {
            c.abandon();
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())
        });
        let failed = report.is_err();
        if done.send(report).is_err() || failed {
            return;
        }
    }
}

impl<C: Competitor> Drop for Crew<C> {
    fn drop(&mut self) {
        for tx in &self.commands {
            let _ = tx.send(Command::Stop);
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// The longest one timed batch may take before the watchdog aborts the bench
/// process: generous for criterion's longest samples, short of "hung".
pub const WATCHDOG_LIMIT: Duration = Duration::from_secs(300);

/// Start of the batch in progress, in ms since [`epoch`] + 1; 0 when idle.
static BATCH_STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Marks a timed batch; while the guard lives the watchdog thread checks it
/// finishes within [`WATCHDOG_LIMIT`], else prints `name` and aborts.
pub fn watchdog(name: &str) -> WatchGuard {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(|| loop {
                thread::sleep(Duration::from_secs(1));
                // Relaxed: a lone timestamp, no other data depends on it.
                let started = BATCH_STARTED_MS.load(Ordering::Relaxed);
                let now = epoch().elapsed().as_millis() as u64 + 1;
                if started != 0 && now.saturating_sub(started) > WATCHDOG_LIMIT.as_millis() as u64 {
                    let name = CURRENT.lock().map(|n| n.clone()).unwrap_or_default();
                    eprintln!("bench watchdog: `{name}` ran over {WATCHDOG_LIMIT:?} in one batch; aborting");
                    std::process::abort();
                }
            })
            .expect("spawning the bench watchdog");
    });
    if let Ok(mut n) = CURRENT.lock() {
        n.clear();
        n.push_str(name);
    }
    // Relaxed: see the load above.
    BATCH_STARTED_MS.store(epoch().elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    WatchGuard(())
}

static CURRENT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Ends the watched batch when dropped.
pub struct WatchGuard(());

impl Drop for WatchGuard {
    fn drop(&mut self) {
        // Relaxed: see `watchdog`.
        BATCH_STARTED_MS.store(0, Ordering::Relaxed);
    }
}

/// Cores this process may use.
pub fn cores() -> usize {
    phalanx::wait::cores()
}
