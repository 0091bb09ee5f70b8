//! The EPCC method: delay calibration, inner-repetition scaling, outer
//! repetitions, reference subtraction; and the phalanx side of every construct.

use crossbeam_utils::CachePadded;
use phalanx::sync::Lock;
use phalanx::tasks::{DepKey, Depend};
use phalanx::{AtomicF64, Schedule, Team};
use phalanx_omp_baseline::{self as omp, Construct, ScheduleKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The run's measurement settings (shared by both sides).
#[derive(Clone, Copy, Debug)]
pub struct Method {
    pub threads: usize,
    pub outer_reps: usize,
    /// Target length of one outer repetition.
    pub test_time: Duration,
    /// Iterations of the delay loop (`omp::delay`).
    pub delay_len: u32,
}

/// One side's result for one construct, in µs per construct instance.
#[derive(Clone, Debug)]
pub enum Measured {
    /// The construct has no phalanx version.
    NotApplicable,
    /// The run failed (the C kernel's error, or OpenMP missing).
    Failed(String),
    /// The side did not run (e.g. libomp is not installed); says why.
    Skipped(String),
    /// Overhead = time per instance − that repetition's own reference:
    /// median, min, max, sd over the outer repetitions; `reference` is the
    /// median reference in µs per delay (NaN where the construct runs no
    /// delay on its critical path, e.g. `ATOMIC`).
    Overhead { median: f64, min: f64, max: f64, sd: f64, reference: f64 },
    /// The median overhead came out negative twice (measured, re-measured):
    /// the delays alone took longer than the construct with them, so the
    /// difference is noise, not an overhead. Medians of the second attempt,
    /// µs per instance: `time` (construct) and `reference` (its delays alone).
    Unreliable { time: f64, reference: f64 },
}

impl Measured {
    /// The median overhead, when there is a trustworthy one.
    pub fn median(&self) -> Option<f64> {
        match self {
            Measured::Overhead { median, .. } => Some(*median),
            _ => None,
        }
    }

    /// The median reference in µs per delay, when measured.
    pub fn reference(&self) -> Option<f64> {
        match self {
            Measured::Overhead { reference, .. } if reference.is_finite() => Some(*reference),
            _ => None,
        }
    }
}

/// One outer repetition: the construct's time per instance and, measured
/// just before it on the same thread, the reference per delay (µs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub time: f64,
    pub ref_per_delay: f64,
}

/// Delays on one thread's critical path in one repetition: what EPCC's
/// reference times. `delays_per_rep` counts the whole team's delays; where
/// the team splits them evenly one thread runs `1 / threads` of them, while
/// `SINGLE`, `CRITICAL` and `LOCK` run theirs one after another.
pub fn critical_path_delays(c: Construct, threads: usize) -> usize {
    match c {
        Construct::Single | Construct::Critical | Construct::Lock | Construct::Atomic | Construct::Ordered => {
            c.delays_per_rep(threads)
        }
        _ => c.delays_per_rep(threads) / threads,
    }
}

/// `len` with the delay's median cost per call, in µs (best of a few tries
/// of 2000 calls each, timed here: the same clock for every length).
fn delay_cost_us(len: u32) -> f64 {
    const CALLS: u32 = 2000;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..CALLS {
            omp::delay(len);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS));
    }
    best
}

/// EPCC's delay calibration: double the length until one call takes at least
/// `target_us`, then scale linearly. Returns the length and its cost.
pub fn calibrate_delay(target_us: f64) -> (u32, f64) {
    if target_us <= 0.0 {
        return (0, delay_cost_us(0));
    }
    let mut len: u32 = 1;
    let mut cost = delay_cost_us(len);
    while cost < target_us && len < (1 << 30) {
        len *= 2;
        cost = delay_cost_us(len);
    }
    let scaled = (f64::from(len) * target_us / cost).round().clamp(1.0, f64::from(u32::MAX >> 1)) as u32;
    (scaled, delay_cost_us(scaled))
}

/// Runs `kernel(inner_reps)` as EPCC does: scale `inner_reps` until one call
/// lasts `m.test_time`, then time `m.outer_reps` calls. Before each timed
/// call, at the same moment, `reference(n)` times the delay alone for `n` =
/// the delays on the critical path of those `inner_reps` (`critical` per
/// repetition, at least one delay): the callers measure it on the same team
/// as the kernel ([`phalanx_team_reference`], [`omp_team_reference`]).
/// Returns one [`Sample`] per outer repetition.
pub fn time_reps(
    m: &Method,
    multiple: u64,
    critical: usize,
    mut kernel: impl FnMut(u64) -> Result<Duration, String>,
    mut reference: impl FnMut(u64) -> Result<Duration, String>,
) -> Result<Vec<Sample>, String> {
    let round = |r: u64| r.div_ceil(multiple).max(1) * multiple;
    let target = m.test_time.as_secs_f64();
    kernel(round(1))?; // warm-up: first touch, thread wake-ups
    let mut reps = round(1);
    loop {
        let t = kernel(reps)?.as_secs_f64();
        if t >= target || reps >= 1 << 40 {
            if t > 0.0 {
                reps = round((reps as f64 * target / t).ceil() as u64);
            }
            break;
        }
        reps = round(reps * 2);
    }
    let delays = (reps * critical as u64).max(1);
    (0..m.outer_reps)
        .map(|_| {
            let r = reference(delays)?.as_secs_f64() * 1e6 / delays as f64;
            let t = kernel(reps)?.as_secs_f64() * 1e6 / reps as f64;
            Ok(Sample { time: t, ref_per_delay: r })
        })
        .collect()
}

fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Overhead statistics of `samples` whose repetitions run `critical` delays
/// on one thread's critical path: each repetition subtracts its own
/// reference. `critical == 0` subtracts nothing (the reference is reported
/// as NaN). A negative median gives [`Measured::Unreliable`].
pub fn overhead(samples: &[Sample], critical: usize) -> Measured {
    assert!(!samples.is_empty(), "overhead of no samples");
    let k = critical as f64;
    let mut v: Vec<f64> = samples.iter().map(|s| s.time - s.ref_per_delay * k).collect();
    let median = median_of(&mut v);
    let mut refs: Vec<f64> = samples.iter().map(|s| s.ref_per_delay).collect();
    let reference = if critical == 0 { f64::NAN } else { median_of(&mut refs) };
    if median < 0.0 {
        let mut times: Vec<f64> = samples.iter().map(|s| s.time).collect();
        let mut refs: Vec<f64> = samples.iter().map(|s| s.ref_per_delay * k).collect();
        return Measured::Unreliable { time: median_of(&mut times), reference: median_of(&mut refs) };
    }
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64).sqrt();
    Measured::Overhead { median, min: v[0], max: v[n - 1], sd, reference }
}

/// The method's rule for a negative median: `attempt` measures the
/// construct; a negative median overhead triggers one re-measure, and the
/// second attempt's result stands (a number if its median is >= 0, else
/// [`Measured::Unreliable`]). Returns the result and how many attempts ran.
pub fn measure_with_retry(
    critical: usize,
    mut attempt: impl FnMut() -> Result<Vec<Sample>, String>,
) -> (Measured, usize) {
    let mut result = Measured::Failed("not measured".into());
    for tries in 1..=2 {
        result = match attempt() {
            Ok(s) => overhead(&s, critical),
            Err(e) => return (Measured::Failed(e), tries),
        };
        if !matches!(result, Measured::Unreliable { .. }) {
            return (result, tries);
        }
    }
    (result, 2)
}

/// The delay alone, `n` times on the calling thread, called from Rust as
/// the phalanx kernels call it.
pub fn phalanx_reference(n: u64, len: u32) -> Result<Duration, String> {
    let t = Instant::now();
    for _ in 0..n {
        omp::delay(len);
    }
    Ok(t.elapsed())
}

/// Whether a construct's delays run one at a time (`SINGLE`, `CRITICAL`,
/// `LOCK`: the reference's threads take turns) or on every thread at once
/// (the rest: the threads run theirs at the same time).
pub fn serialised(c: Construct) -> bool {
    matches!(c, Construct::Single | Construct::Critical | Construct::Lock | Construct::Ordered)
}

/// Delays per thread when a team's reference stands for `n` delays on the
/// critical path: all `n` on every thread at once, or `n / threads` (rounded
/// up) each when the threads take turns.
pub fn per_thread_delays(n: u64, threads: usize, turns: bool) -> u64 {
    if turns {
        n.div_ceil(threads as u64).max(1)
    } else {
        n
    }
}

/// Scales a team reference's time to `n` critical-path delays: at once, the
/// slowest thread's time already is; in turns, the sum of the turns covers
/// `per * threads` delays.
pub fn scale_reference(took: Duration, n: u64, per: u64, threads: usize, turns: bool) -> Duration {
    if turns {
        Duration::from_secs_f64(took.as_secs_f64() * n as f64 / (per as f64 * threads as f64))
    } else {
        took
    }
}

/// The phalanx side's reference for `n` critical-path delays, on `team`'s
/// own threads, as `epcc_reference_team` does it on the C side: at once, the
/// slowest thread (each timed from its own start, so a late wake-up does not
/// count); or in turns between barriers, summed.
pub fn phalanx_team_reference(team: &Team, n: u64, len: u32, turns: bool) -> Result<Duration, String> {
    let threads = team.num_threads();
    let per = per_thread_delays(n, threads, turns);
    let took: Vec<Mutex<Duration>> = (0..threads).map(|_| Mutex::new(Duration::ZERO)).collect();
    team.parallel(|ctx| {
        let me = ctx.thread_num();
        for turn in 0..if turns { threads } else { 1 } {
            if !turns || turn == me {
                let t = phalanx_reference(per, len).expect("the delay cannot fail");
                *took[me].lock().unwrap_or_else(|e| e.into_inner()) = t;
            }
            if turns {
                ctx.barrier();
            }
        }
    });
    let took: Vec<Duration> = took.into_iter().map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
    let took = if turns { took.iter().sum() } else { took.iter().copied().max().unwrap_or_default() };
    Ok(scale_reference(took, n, per, threads, turns))
}

/// The C side's reference for `n` critical-path delays, on a team of the
/// runtime this process loaded (`epcc_reference_team`).
pub fn omp_team_reference(threads: usize, n: u64, len: u32, turns: bool) -> Result<Duration, String> {
    let per = per_thread_delays(n, threads, turns);
    let took = omp::reference_team(threads, per, len, turns).map_err(|e| e.to_string())?;
    Ok(scale_reference(took, n, per, threads, turns))
}

/// Measures `c` with the C OpenMP runtime this process loaded, or says why not.
pub fn measure_omp(m: &Method, c: Construct) -> Measured {
    let multiple = c.rep_multiple(m.threads);
    let critical = critical_path_delays(c, m.threads);
    let (len, turns) = (m.delay_len, serialised(c));
    measure_with_retry(critical, || {
        time_reps(
            m,
            multiple,
            critical,
            |reps| omp::try_run(c, m.threads, reps, len).map_err(|e| e.to_string()),
            |n| omp_team_reference(m.threads, n, len, turns),
        )
    })
    .0
}

/// Measures `c` with phalanx on `team`.
pub fn measure_phalanx(m: &Method, team: &Team, c: Construct) -> Measured {
    let multiple = c.rep_multiple(m.threads);
    let critical = critical_path_delays(c, m.threads);
    let (len, turns) = (m.delay_len, serialised(c));
    let kernel = |reps: u64| phalanx_kernel(team, c, reps, len);
    // The first call says whether the construct exists on the phalanx side.
    match kernel(multiple) {
        None => Measured::NotApplicable,
        Some(Err(e)) => Measured::Failed(e),
        Some(Ok(_)) => {
            measure_with_retry(critical, || {
                time_reps(
                    m,
                    multiple,
                    critical,
                    |reps| kernel(reps).expect("checked above"),
                    |n| phalanx_team_reference(team, n, len, turns),
                )
            })
            .0
        }
    }
}

/// Per-thread task counters, as the C kernels' `epcc_task_slots`: slot `t`
/// is written only by thread `t` (the thread that runs the task), one cache
/// line each.
struct TaskSlots(Vec<CachePadded<AtomicU64>>);

impl TaskSlots {
    fn new(n: usize) -> Self {
        TaskSlots((0..n).map(|_| CachePadded::new(AtomicU64::new(0))).collect())
    }

    /// The task body: one delay, then count it on thread `t`'s slot.
    fn ran(&self, t: usize, len: u32) {
        omp::delay(len);
        // Relaxed: only thread `t` writes the slot; the region's join
        // publishes it to `total`.
        self.0[t].fetch_add(1, Ordering::Relaxed);
    }

    /// Tasks run, once the region has returned.
    fn total(&self) -> u64 {
        // Relaxed: after the join (see `ran`).
        self.0.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }
}

/// EPCC's branch tree: a task with two subtrees and a delay, down to level 0.
fn branch_tree<'a, B: Fn(&phalanx::Ctx<'_>) + Sync>(ctx: &phalanx::Ctx<'a>, level: u32, body: &'a B) {
    if level > 0 {
        ctx.task(move |ctx| {
            branch_tree(ctx, level - 1, body);
            branch_tree(ctx, level - 1, body);
            body(ctx);
        });
    }
}

/// EPCC's leaf tree: tasks down to level 0, a delay in every leaf.
fn leaf_tree<'a, B: Fn(&phalanx::Ctx<'_>) + Sync>(ctx: &phalanx::Ctx<'a>, level: u32, body: &'a B) {
    if level == 0 {
        body(ctx);
    } else {
        ctx.task(move |ctx| {
            leaf_tree(ctx, level - 1, body);
            leaf_tree(ctx, level - 1, body);
        });
    }
}

/// The phalanx version of `c`: `reps` repetitions, each with the same
/// `omp::delay(len)` body as the C kernel, timed as a whole. `None` for a
/// construct phalanx has no version of (none at present; the table prints
/// "n/a"). Written the way a porter would
/// translate the C kernel in `omp-baseline/c/epcc.c`.
fn phalanx_kernel(team: &Team, c: Construct, reps: u64, len: u32) -> Option<Result<Duration, String>> {
    let n = team.num_threads();
    let start = Instant::now();
    match c {
        Construct::Parallel => {
            for _ in 0..reps {
                team.parallel(|_| omp::delay(len));
            }
        }
        Construct::For => team.parallel(|ctx| {
            for _ in 0..reps {
                ctx.for_each(0..n, Schedule::Static, |_| omp::delay(len));
            }
        }),
        Construct::ParallelFor => {
            for _ in 0..reps {
                team.parallel_for(0..n, Schedule::Static, |_| omp::delay(len));
            }
        }
        Construct::Barrier => team.parallel(|ctx| {
            for _ in 0..reps {
                omp::delay(len);
                ctx.barrier();
            }
        }),
        Construct::Single => team.parallel(|ctx| {
            for _ in 0..reps {
                ctx.single(|| omp::delay(len));
            }
        }),
        Construct::Critical => team.parallel(|ctx| {
            for _ in 0..reps / n as u64 {
                ctx.critical(|| omp::delay(len));
            }
        }),
        Construct::Lock => {
            // omp_lock_t: omp_set_lock / omp_unset_lock, waiting under the team's policy.
            let lock = Lock::with_policy((), team.wait_policy());
            team.parallel(|_| {
                for _ in 0..reps / n as u64 {
                    lock.set();
                    omp::delay(len);
                    lock.unset().expect("this thread holds the lock");
                }
            });
        }
        Construct::Atomic => {
            // `#pragma omp atomic` on a double (a CAS loop on the bits).
            let total = AtomicF64::new(0.0);
            team.parallel(|_| {
                for _ in 0..reps / n as u64 {
                    // Relaxed: only the value matters; the region's join
                    // publishes the total to the check below.
                    total.fetch_add(1.0, Ordering::Relaxed);
                }
            });
            let elapsed = start.elapsed();
            let got = total.into_inner();
            let want = (reps / n as u64 * n as u64) as f64;
            return Some(if got == want { Ok(elapsed) } else { Err(format!("ATOMIC total {got}, expected {want}")) });
        }
        Construct::Ordered => {
            // `parallel for ordered schedule(static,1)`, the delay in `ordered`.
            let next = AtomicU64::new(0);
            let wrong = AtomicU64::new(0);
            team.parallel(|ctx| {
                ctx.for_each_ordered(0..reps as usize, Schedule::StaticChunk(1), |j, ord| {
                    ord.ordered(|| {
                        omp::delay(len);
                        // Relaxed: the ordered hand-off orders these; the
                        // region's join publishes them to the check below.
                        if next.swap(j as u64 + 1, Ordering::Relaxed) != j as u64 {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
            });
            let elapsed = start.elapsed();
            let (got, bad) = (next.into_inner(), wrong.into_inner());
            return Some(if got == reps && bad == 0 {
                Ok(elapsed)
            } else {
                Err(format!("ORDERED ended at {got} with {bad} out of order, expected {reps} in order"))
            });
        }
        Construct::Reduction => {
            let mut total = 0u64;
            for _ in 0..reps {
                total += team.parallel_reduce(
                    0..n,
                    Schedule::Static,
                    0u64,
                    |acc, _| {
                        omp::delay(len);
                        acc + 1
                    },
                    |a, b| a + b,
                );
            }
            let elapsed = start.elapsed();
            let want = reps * n as u64;
            return Some(if total == want {
                Ok(elapsed)
            } else {
                Err(format!("REDUCTION total {total}, expected {want}"))
            });
        }
        Construct::Schedule { kind, chunk } => {
            let chunk = chunk as usize;
            let schedule = match (kind, chunk) {
                (ScheduleKind::Static, 0) => Schedule::Static,
                (ScheduleKind::Static, k) => Schedule::StaticChunk(k),
                (ScheduleKind::Dynamic, k) => Schedule::Dynamic(k.max(1)),
                (ScheduleKind::Guided, k) => Schedule::Guided(k.max(1)),
            };
            // threads * ITERS_PER_THREAD (EPCC's itersperthr = 128).
            let iters = c.delays_per_rep(n);
            team.parallel(|ctx| {
                for _ in 0..reps {
                    ctx.for_each(0..iters, schedule, |_| omp::delay(len));
                }
            });
        }
        // Tasks, as `epcc_master_task`, `epcc_parallel_task`, `epcc_task_wait`:
        // one region for every repetition, each task one delay plus a count
        // on the slot of the thread that ran it, checked after the region.
        Construct::MasterTask
        | Construct::ParallelTask
        | Construct::TaskWait
        | Construct::ConditionalTask
        | Construct::TaskBarrier
        | Construct::ParallelTaskDeps
        | Construct::MasterTaskDeps
        | Construct::MasterTaskBusySlaves
        | Construct::NestedTask
        | Construct::NestedMasterTask
        | Construct::BranchTaskTree
        | Construct::LeafTaskTree => {
            let slots = TaskSlots::new(n);
            let body = |ctx: &phalanx::Ctx<'_>| slots.ran(ctx.thread_num(), len);
            match c {
                // The master creates `threads` tasks per repetition; the
                // others run them from the region's end, which waits for all.
                Construct::MasterTask => team.parallel(|ctx| {
                    ctx.master(|| {
                        for _ in 0..reps * n as u64 {
                            ctx.task(body);
                        }
                    });
                }),
                // Every thread creates one task per repetition; they finish
                // at the region's end.
                Construct::ParallelTask => team.parallel(|ctx| {
                    for _ in 0..reps {
                        ctx.task(body);
                    }
                }),
                // Every thread creates one task and waits for it.
                Construct::TaskWait => team.parallel(|ctx| {
                    for _ in 0..reps {
                        ctx.task(body);
                        ctx.taskwait();
                    }
                }),
                // `task if(0)`: run at once by its creator.
                Construct::ConditionalTask => team.parallel(|ctx| {
                    for _ in 0..reps {
                        ctx.task_if(false, body);
                    }
                }),
                // A task, then a barrier (which runs it if nobody did).
                Construct::TaskBarrier => team.parallel(|ctx| {
                    for _ in 0..reps {
                        ctx.task(body);
                        ctx.barrier();
                    }
                }),
                // A chain per thread: each task `inout` on the thread's slot.
                Construct::ParallelTaskDeps => team.parallel(|ctx| {
                    let key = [Depend::InOut(DepKey::Id(ctx.thread_num() as u64))];
                    for _ in 0..reps {
                        ctx.task_depend(&key, body);
                    }
                }),
                // The master creates a task per repetition; the others run
                // their delay themselves, then help at the region's end.
                Construct::MasterTaskBusySlaves => team.parallel(|ctx| {
                    for _ in 0..reps {
                        if ctx.is_master() {
                            ctx.task(body);
                        } else {
                            body(ctx);
                        }
                    }
                }),
                // A task that creates `threads` tasks and waits for them,
                // `reps / threads` per thread.
                Construct::NestedTask => team.parallel(|ctx| {
                    for _ in 0..reps / n as u64 {
                        ctx.task(move |ctx| {
                            for _ in 0..n {
                                ctx.task(body);
                            }
                            ctx.taskwait();
                        });
                    }
                }),
                // The same, every outer task created by the master.
                Construct::NestedMasterTask => team.parallel(|ctx| {
                    ctx.master(|| {
                        for _ in 0..reps {
                            ctx.task(move |ctx| {
                                for _ in 0..n {
                                    ctx.task(body);
                                }
                                ctx.taskwait();
                            });
                        }
                    });
                }),
                // Per TREE_REPS repetitions: a task running a branch tree
                // of depth TREE_DEPTH, then a delay.
                Construct::BranchTaskTree => team.parallel(|ctx| {
                    let body = &body;
                    for _ in 0..reps / omp::TREE_REPS {
                        ctx.task(move |ctx| {
                            branch_tree(ctx, omp::TREE_DEPTH, body);
                            body(ctx);
                        });
                    }
                }),
                Construct::LeafTaskTree => team.parallel(|ctx| {
                    for _ in 0..reps / omp::TREE_REPS {
                        leaf_tree(ctx, omp::TREE_DEPTH, &body);
                    }
                }),
                // `threads` chains, all created by the master.
                _ => team.parallel(|ctx| {
                    ctx.master(|| {
                        for k in 0..reps * n as u64 {
                            ctx.task_depend(&[Depend::InOut(DepKey::Id(k % n as u64))], body);
                        }
                    });
                }),
            }
            let elapsed = start.elapsed();
            let (got, want) = (slots.total(), reps * n as u64);
            return Some(if got == want { Ok(elapsed) } else { Err(format!("{c}: {got} tasks ran, expected {want}")) });
        }
    }
    Some(Ok(start.elapsed()))
}
