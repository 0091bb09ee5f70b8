//! The persistent thread team and parallel regions.
//!
//! The fork/join, panic and divergence protocols are in `README.md` in this
//! folder. Files: `region.rs` (shared words, fork/join, finishing),
//! `ctx.rs` ([`Ctx`]), `error.rs` ([`RegionError`], [`BuildError`]),
//! `master_worker.rs` ([`Team::master_worker`]), `display.rs` (`OMP_DISPLAY_ENV`), `limits.rs` (threads left to start),
//! `runtime.rs` ([`thread_num`] and the other routines that need no `Ctx`).

mod cancel;
mod ctx;
mod display;
mod error;
mod handoff;
mod limits;
mod master_worker;
mod nesting;
mod parts;
mod region;
mod runtime;
mod single_ref;
mod threadprivate;

pub use cancel::RegionOutcome;
pub use ctx::Ctx;
pub(crate) use error::Exclusive;
pub use error::{BuildError, PanicPayload, RegionError};
pub use master_worker::{Feeder, MasterWorkerError};
pub use nesting::{ancestor_thread_num, team_size};
pub use runtime::{active_level, in_parallel, level, max_threads, num_procs, num_threads, thread_num, wtick};
pub use threadprivate::ThreadPrivate;

use crate::barrier::BarrierKind;
use crate::config::{Config, ConfigError, DisplayEnv, Places, ProcBind};
use crate::primitive::{Arc, Mutex};
use crate::wait::{WaitPolicy, WaitStats};
use crate::worksharing::{Check, Schedule};
use crossbeam_utils::CachePadded;
use region::Shared;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Instant;

/// A team of threads that runs parallel regions. Thread 0 is whichever thread
/// calls [`parallel`](Self::parallel); threads `1..n` are persistent workers
/// that wait for the next region under the team's wait policy (so a region
/// soon after the last costs a spin, and a long gap costs no CPU with the
/// default `Predictive` policy). Dropping the team stops and joins them.
///
/// ```
/// use phalanx::{Team, Schedule};
/// let team = Team::builder().num_threads(2).build().unwrap();
/// let sum = team.parallel_reduce(0..100, Schedule::Dynamic(8), 0u64, |a, i| a + i as u64, |a, b| a + b);
/// assert_eq!(sum, 4950);
/// ```
pub struct Team {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// One region at a time: a second OS thread calling `parallel` waits.
    region_lock: Mutex<()>,
    kind: BarrierKind,
    /// Nested regions with more than one thread allowed around a region of
    /// this team (`OMP_MAX_ACTIVE_LEVELS`).
    max_active_levels: usize,
}

impl fmt::Debug for Team {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Team")
            .field("num_threads", &self.shared.n)
            .field("wait_policy", &self.shared.policy)
            .field("barrier", &self.kind)
            .field("schedule", &self.shared.runtime)
            .finish()
    }
}

/// Builds a [`Team`]. Unset settings come from the environment (see
/// [`crate::config`]), then from defaults: explicit > env > default.
#[derive(Clone, Debug, Default)]
pub struct TeamBuilder {
    num_threads: Option<usize>,
    wait_policy: Option<WaitPolicy>,
    barrier: Option<BarrierKind>,
    schedule: Option<Schedule>,
    stack_size: Option<usize>,
    pin: bool,
    proc_bind: Option<crate::config::ProcBind>,
    places: Option<crate::config::Places>,
    env: Option<Config>,
    max_queued_tasks: Option<usize>,
    on_thread_start: Option<threadprivate::StartHook>,
    cancellation: Option<bool>,
    max_active_levels: Option<usize>,
}

impl TeamBuilder {
    /// Team size, caller included (default: `OMP_NUM_THREADS`, else the CPU
    /// count). 0 is refused by `build`.
    pub fn num_threads(mut self, n: usize) -> Self {
        self.num_threads = Some(n);
        self
    }

    /// How every wait of the team proceeds (default: `PHALANX_WAIT_POLICY` /
    /// `OMP_WAIT_POLICY`, else [`WaitPolicy::Predictive`]).
    pub fn wait_policy(mut self, p: WaitPolicy) -> Self {
        self.wait_policy = Some(p);
        self
    }

    /// Barrier algorithm (default: `PHALANX_BARRIER`, else central).
    pub fn barrier(mut self, kind: BarrierKind) -> Self {
        self.barrier = Some(kind);
        self
    }

    /// What `Schedule::Runtime` means (default: `OMP_SCHEDULE`, else static).
    pub fn schedule(mut self, s: Schedule) -> Self {
        self.schedule = Some(s);
        self
    }

    /// Stack size of the worker threads, in bytes (default:
    /// `OMP_STACKSIZE`, else std's default).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Bind every thread, the building thread (thread 0) included, to one
    /// CPU of the process's affinity mask, consecutively: the same as
    /// `proc_bind(ProcBind::Close)` with `places(Places::Threads(None))`
    /// unless those are set. Linux only; elsewhere it does nothing.
    pub fn pin_threads(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// How threads bind to places (default: `OMP_PROC_BIND`; `ProcBind::True`
    /// when only `OMP_PLACES` is set; else not bound). See
    /// [`ProcBind`].
    pub fn proc_bind(mut self, bind: crate::config::ProcBind) -> Self {
        self.proc_bind = Some(bind);
        self
    }

    /// The places threads bind to (default: `OMP_PLACES`, else one per CPU),
    /// always inside the affinity mask of the thread that builds the team.
    pub fn places(mut self, places: crate::config::Places) -> Self {
        self.places = Some(places);
        self
    }

    /// The task throttle: a thread with `k` tasks queued on its own deque runs
    /// the tasks it creates next at once, undeferred (as an included task,
    /// like [`Ctx::task_if`]`(false, ..)`), instead of queueing them, until
    /// the others have stolen some. Default: 64 per team thread (libgomp's
    /// threshold). `usize::MAX` never throttles; 0 runs every task at once.
    pub fn max_queued_tasks(mut self, k: usize) -> Self {
        self.max_queued_tasks = Some(k);
        self
    }

    /// Run `hook(t)` once on each team thread `t` when the team is built:
    /// on worker `t` (`1..n`) as its first action, on its own OS thread,
    /// and `hook(0)` on the thread that calls `build`. `build` returns only
    /// after every call returned, so the hooks happen before the first
    /// region (per-thread setup: pinning, thread-locals, logging names). A
    /// panicking hook makes `build` fail with [`BuildError::ThreadStart`].
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = Arc::clone(&started);
    /// let team = phalanx::Team::builder()
    ///     .num_threads(3)
    ///     .on_thread_start(move |tid| { s.fetch_add(1 << (8 * tid), Ordering::Relaxed); })
    ///     .build()?;
    /// assert_eq!(started.load(Ordering::Relaxed), 0x01_01_01);
    /// # Ok::<(), phalanx::BuildError>(())
    /// ```
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(threadprivate::StartHook::new(hook));
        self
    }

    /// Whether `ctx.cancel_parallel()` / `ctx.cancel_for()` take effect
    /// (default: `OMP_CANCELLATION`, else `false`, as OpenMP).
    pub fn cancellation(mut self, enabled: bool) -> Self {
        self.cancellation = Some(enabled);
        self
    }

    /// How many nested regions, counting from a top-level region of this
    /// team, may have more than one thread (`OMP_MAX_ACTIVE_LEVELS`;
    /// default: the variable, else 1, as OpenMP). Regions nested inside
    /// inherit it: a `parallel` from inside a region runs with the whole
    /// (inner) team only while the caller's [`active_level`] is below the
    /// outermost team's setting, and on the calling thread alone otherwise.
    /// Give each outer thread its own inner team for nested parallelism (a
    /// busy team runs the call on a temporary team: [`Team::parallel`]).
    pub fn max_active_levels(mut self, levels: usize) -> Self {
        self.max_active_levels = Some(levels);
        self
    }

    /// Take environment settings from `config` instead of the process
    /// environment (tests, or a config read once and reused).
    pub fn env_config(mut self, config: Config) -> Self {
        self.env = Some(config);
        self
    }

    /// Check the settings, start the workers.
    pub fn build(self) -> Result<Team, BuildError> {
        if self.num_threads == Some(0) {
            return Err(ConfigError::setting("num_threads", 0, "a team needs at least one thread").into());
        }
        if let Some(s) = self.schedule {
            s.validate()?;
        }
        let env = match self.env {
            Some(c) => c,
            None => Config::from_env()?,
        };
        let asked = self.num_threads.unwrap_or_else(|| env.threads_or_default());
        // OMP_THREAD_LIMIT bounds every team, explicit sizes included.
        let n = asked.min(env.thread_limit.unwrap_or(usize::MAX));
        let policy = self.wait_policy.unwrap_or_else(|| env.wait_policy_for(n));
        let kind = self.barrier.or(env.barrier).unwrap_or_default();
        let runtime = self.schedule.or(env.schedule).unwrap_or_default();
        let stack_size = self.stack_size.or(env.stack_size);
        let bind = match (self.proc_bind, self.pin) {
            (Some(b), _) => b,
            (None, true) => ProcBind::Close,
            (None, false) => env.proc_bind.unwrap_or_default(),
        };
        let places = self.places.clone().or_else(|| env.places.clone()).unwrap_or(Places::Threads(None));
        if env.display_env.unwrap_or_default() != DisplayEnv::False {
            let shown = display::Shown { env: &env, n, policy, kind, runtime, stack_size, bind, places: &places };
            eprint!("{}", shown.render(env.display_env == Some(DisplayEnv::Verbose)));
        }
        if let Some(left) = limits::threads_left() {
            if n - 1 > left {
                return Err(BuildError::Spawn {
                    thread: left + 1,
                    asked: n,
                    started: 0,
                    error: limits::too_many(n - 1, left),
                });
            }
        }
        let binding = crate::places::plan(bind, &places, n);
        let mut shared = Shared::new(n, policy, kind, runtime);
        if let Some(k) = self.max_queued_tasks {
            shared.tasks.max_queued = k;
        }
        shared.cancel.enabled = self.cancellation.or(env.cancellation).unwrap_or(false);
        let shared = Arc::new(shared);
        let mut workers = Vec::with_capacity(n - 1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        for (tid, cpus) in binding.iter().enumerate().skip(1) {
            let sh = Arc::clone(&shared);
            let cpus = cpus.clone();
            let hook = self.on_thread_start.clone();
            let started = started_tx.clone();
            let mut b = std::thread::Builder::new().name(format!("phalanx-{tid}"));
            if let Some(sz) = stack_size {
                b = b.stack_size(sz);
            }
            match b.spawn(move || {
                if let Some(cpus) = cpus {
                    crate::places::bind_current(&cpus);
                }
                if let Some(h) = hook {
                    // The receiver lives until `build` has every answer.
                    let _ = started.send((tid, h.run(tid)));
                }
                drop(started);
                region::worker_loop(&sh, tid)
            }) {
                Ok(h) => workers.push(h),
                Err(error) => {
                    shared.shut_down();
                    let started = workers.len();
                    for h in workers {
                        let _ = h.join();
                    }
                    return Err(BuildError::Spawn { thread: tid, asked: n, started, error });
                }
            }
        }
        drop(started_tx);
        // Thread 0: the building thread, bound last so a refused team leaves
        // it alone.
        if let Some(cpus) = &binding[0] {
            crate::places::bind_current(cpus);
        }
        let max_active_levels = self.max_active_levels.or(env.max_active_levels).unwrap_or(1);
        let team = Team { shared, workers, region_lock: Mutex::new(()), kind, max_active_levels };
        if let Some(h) = &self.on_thread_start {
            // Every worker's hook first (they run meanwhile), then thread 0's.
            let mut failed: Option<(usize, String)> = None;
            for (tid, r) in started_rx.iter().take(n - 1) {
                if let (Err(m), None) = (r, &failed) {
                    failed = Some((tid, m));
                }
            }
            if failed.is_none() {
                failed = h.run(0).err().map(|m| (0, m));
            }
            if let Some((thread, message)) = failed {
                // Dropping the team stops and joins the workers.
                drop(team);
                return Err(BuildError::ThreadStart { thread, message });
            }
        }
        Ok(team)
    }
}

impl Team {
    /// A builder; see [`TeamBuilder`].
    pub fn builder() -> TeamBuilder {
        TeamBuilder::default()
    }

    /// A team configured entirely by the environment (`OMP_NUM_THREADS`,
    /// `OMP_WAIT_POLICY`, `OMP_SCHEDULE`, `PHALANX_*`).
    pub fn from_env() -> Result<Team, BuildError> {
        Self::builder().build()
    }

    /// Threads in the team, the caller included.
    pub fn num_threads(&self) -> usize {
        self.shared.n
    }

    /// The team's wait policy.
    pub fn wait_policy(&self) -> WaitPolicy {
        self.shared.policy
    }

    /// The team's barrier algorithm.
    pub fn barrier_kind(&self) -> BarrierKind {
        self.kind
    }

    /// What `Schedule::Runtime` means in this team.
    pub fn runtime_schedule(&self) -> Schedule {
        self.shared.runtime
    }

    /// Run `f` on every thread of the team (`#pragma omp parallel`) and wait
    /// for all of them. `f` may borrow from the caller's stack.
    ///
    /// Inside a region (of any team), runs `f` on the calling thread alone
    /// with a one-thread [`Ctx`], as OpenMP does for nested regions, unless
    /// the team allows more active levels ([`TeamBuilder::max_active_levels`]).
    /// A call that finds the team running a region started by another OS
    /// thread never waits for it (that thread may be waiting for this one,
    /// e.g. a `std::thread` spawned inside the region): it runs on a
    /// temporary team of the same size and settings, as libgomp gives each
    /// OS thread its own thread pool (one thread if that team cannot start).
    ///
    /// # Panics
    /// Re-raises the first panic of any thread, with its original payload;
    /// panics with the [`RegionError::Diverged`] message when a thread left
    /// while another waited at a barrier. The team stays usable.
    pub fn parallel<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: F) {
        if let Err(e) = self.try_parallel(f) {
            e.resume()
        }
    }

    /// As [`parallel`](Self::parallel), returning the failure instead of
    /// re-raising it.
    pub fn try_parallel<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: F) -> Result<(), RegionError> {
        if region::in_region() && active_level() >= nesting::max_active_levels() {
            return self.run_alone(&f);
        }
        let _turn = match self.region_lock.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return self.run_elsewhere(&f),
        };
        // Workers are idle (we hold the lock, the last region joined): the
        // fork publishes our enclosing levels to them (`nesting.rs`).
        self.shared.outer.set_from_caller(self.max_active_levels);
        self.shared.run(&f)
    }

    /// A one-thread region on the calling thread (a nested region past
    /// `max_active_levels`).
    fn run_alone<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: &F) -> Result<(), RegionError> {
        let solo = Shared::new(1, self.shared.policy, self.kind, self.shared.runtime);
        solo.run(f)
    }

    /// The team is busy with another OS thread's region: run on a temporary
    /// team with the same settings (no binding), or alone if it cannot start.
    #[cold]
    fn run_elsewhere<'env, F: Fn(&Ctx<'env>) + Sync>(&self, f: &F) -> Result<(), RegionError> {
        let spare = Team::builder()
            .num_threads(self.num_threads())
            .wait_policy(self.shared.policy)
            .barrier(self.kind)
            .schedule(self.shared.runtime)
            .max_queued_tasks(self.shared.tasks.max_queued)
            .max_active_levels(self.max_active_levels)
            .env_config(Config::default())
            .build();
        match spare {
            Ok(team) => {
                // Nobody else knows this team: its lock is free.
                let _turn = team.region_lock.lock().unwrap_or_else(|e| e.into_inner());
                team.shared.outer.set_from_caller(team.max_active_levels);
                team.shared.run(f)
            }
            Err(_) => self.run_alone(f),
        }
    }

    /// A region that returns a value: run `f` on every thread, as
    /// [`parallel`](Self::parallel), and return what each thread's call
    /// returned, in thread order (`[0]` is thread 0's). Called inside a
    /// region it runs on one thread and returns one value.
    ///
    /// ```
    /// let team = phalanx::Team::builder().num_threads(3).build().unwrap();
    /// let ids = team.parallel_collect(|ctx| ctx.thread_num() * 10);
    /// assert_eq!(ids, vec![0, 10, 20]);
    /// ```
    ///
    /// # Panics
    /// As [`parallel`](Self::parallel).
    pub fn parallel_collect<'env, R: Send, F: Fn(&Ctx<'env>) -> R + Sync>(&self, f: F) -> Vec<R> {
        match self.try_parallel_collect(f) {
            Ok(v) => v,
            Err(e) => e.resume(),
        }
    }

    /// As [`parallel_collect`](Self::parallel_collect), returning the
    /// failure instead of re-raising it.
    pub fn try_parallel_collect<'env, R: Send, F: Fn(&Ctx<'env>) -> R + Sync>(
        &self,
        f: F,
    ) -> Result<Vec<R>, RegionError> {
        // One part per thread, written by its owner only and read after the
        // join, as in `parallel_reduce`.
        parts::with_parts(self.num_threads(), |parts| {
            let shared: &[CachePadded<parts::Part<R>>] = parts;
            self.try_parallel(|ctx| {
                let v = f(ctx);
                // SAFETY: as in `parallel_reduce`.
                unsafe { shared[ctx.thread_num()].put(v) };
            })?;
            // A nested call runs on one thread, which fills part 0 only.
            Ok(parts.iter_mut().map_while(|p| p.take()).collect())
        })
    }

    /// `#pragma omp parallel for`: run `f(i)` for every `i` in `range`, once,
    /// split by `schedule`.
    ///
    /// Closure bounds: every thread calls the one `f`, so it is `Fn + Sync`;
    /// inside a region each thread passes its own closure to
    /// [`Ctx::for_each`], so that one may be `FnMut`. Any closure accepted
    /// here is accepted there (as for `parallel_reduce` and [`Ctx::reduce`]);
    /// for per-thread mutable state, write the region out:
    /// `team.parallel(|ctx| { let mut buf = Vec::new(); ctx.for_each(r, s, |i| buf.push(i)) })`.
    pub fn parallel_for<F: Fn(usize) + Sync>(&self, range: Range<usize>, schedule: Schedule, f: F) {
        self.parallel(|ctx| ctx.for_each_nowait_as(Check::Combined, range.clone(), schedule, &f));
    }

    /// `#pragma omp parallel for reduction(...)`: fold every index into a
    /// per-thread accumulator started from `identity`, then combine the
    /// accumulators in thread order. `fold` and `combine` are `Fn + Sync`
    /// because all threads share them (see [`parallel_for`](Self::parallel_for));
    /// [`parallel_reduce_by`](Self::parallel_reduce_by) takes a named operator.
    pub fn parallel_reduce<T, Fo, C>(
        &self,
        range: Range<usize>,
        schedule: Schedule,
        identity: T,
        fold: Fo,
        combine: C,
    ) -> T
    where
        T: Clone + Send + Sync + 'static,
        Fo: Fn(T, usize) -> T + Sync,
        C: Fn(T, T) -> T + Sync,
    {
        // One part per thread, written by its owner only, read after the
        // join: no barrier inside the region (`parts.rs`).
        parts::with_parts(self.num_threads(), |parts| {
            let shared: &[CachePadded<parts::Part<T>>] = parts;
            self.parallel(|ctx| {
                let v = ctx.fold_part_as(Check::Combined, range.clone(), schedule, identity.clone(), &fold);
                // SAFETY: thread `t` writes part `t` once; the parts are read
                // after `parallel` returns (`parts.rs`). A nested or
                // temporary-team call numbers its threads below the same `n`.
                unsafe { shared[ctx.thread_num()].put(v) };
            });
            // Thread order, as `Ctx::reduce`. A nested call runs on one
            // thread, which fills part 0 only.
            parts.iter_mut().filter_map(|p| p.take()).reduce(&combine).expect("thread 0 stores its part")
        })
    }

    /// Tasks created with [`Ctx::task_depend`] that did not run because a
    /// task they depend on (transitively) panicked, since the team was built.
    pub fn skipped_tasks(&self) -> usize {
        // Relaxed: a count; the regions that added to it have joined.
        self.shared.skipped.load(crate::primitive::Ordering::Relaxed)
    }

    /// Every thread's wait counters summed, as each published them at the
    /// end of the last region (thread 0's counters include its waits outside
    /// the team).
    pub fn wait_stats(&self) -> WaitStats {
        self.shared.wait_stats()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shut_down();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

/// The global team, once built ([`global_team`]).
static GLOBAL: OnceLock<Team> = OnceLock::new();

/// The implicit team used by [`parallel`]: built on first use from the
/// environment.
///
/// # Panics
/// If the environment is invalid, with the [`ConfigError`] message.
pub fn global_team() -> &'static Team {
    GLOBAL.get_or_init(|| match Team::from_env() {
        Ok(t) => t,
        Err(e) => panic!("phalanx: cannot build the global team: {e}"),
    })
}

/// Run `f` on every thread of the global team (`#pragma omp parallel` with
/// no team in sight). See [`Team::parallel`].
///
/// ```
/// let n = std::sync::atomic::AtomicUsize::new(0);
/// phalanx::parallel(|_ctx| { n.fetch_add(1, std::sync::atomic::Ordering::Relaxed); });
/// assert_eq!(n.into_inner(), phalanx::global_team().num_threads());
/// ```
pub fn parallel<'env, F: Fn(&Ctx<'env>) + Sync>(f: F) {
    global_team().parallel(f)
}

/// Seconds since a fixed process-wide origin (`omp_get_wtime()`); only
/// differences mean anything.
pub fn wtime() -> f64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}
