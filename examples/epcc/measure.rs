//! The EPCC method: delay calibration, inner-repetition scaling, outer
//! repetitions, reference subtraction; and the phalanx side of every construct.

use crossbeam_utils::CachePadded;
use phalanx::sync::Lock;
use phalanx::{AtomicF64, Schedule, Team};
use phalanx_omp_baseline::{self as omp, Construct, ScheduleKind};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Overhead = time per instance − reference: median, min, max, sd.
    Overhead { median: f64, min: f64, max: f64, sd: f64 },
}

impl Measured {
    pub fn median(&self) -> Option<f64> {
        match self {
            Measured::Overhead { median, .. } => Some(*median),
            _ => None,
        }
    }
}

/// Delays on one thread's critical path in one repetition: what EPCC's
/// reference times. `delays_per_rep` counts the whole team's delays; where
/// the team splits them evenly one thread runs `1 / threads` of them, while
/// `SINGLE`, `CRITICAL` and `LOCK` run theirs one after another.
pub fn critical_path_delays(c: Construct, threads: usize) -> usize {
    match c {
        Construct::Single | Construct::Critical | Construct::Lock | Construct::Atomic => c.delays_per_rep(threads),
        _ => c.delays_per_rep(threads) / threads,
    }
}

/// Constructs whose repetitions the team shares out (`inner_reps / threads`
/// per thread): their repetition counts are rounded to a multiple of threads.
fn shared_out(c: Construct) -> bool {
    matches!(c, Construct::Critical | Construct::Lock | Construct::Atomic)
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
/// lasts `m.test_time`, then time `m.outer_reps` calls. Returns the time per
/// construct instance of each outer repetition, in µs.
pub fn time_reps(
    m: &Method,
    multiple: u64,
    mut kernel: impl FnMut(u64) -> Result<Duration, String>,
) -> Result<Vec<f64>, String> {
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
    (0..m.outer_reps).map(|_| kernel(reps).map(|d| d.as_secs_f64() * 1e6 / reps as f64)).collect()
}

/// Overhead statistics of per-instance times `t` (µs) over `reference` µs.
pub fn overhead(t: &[f64], reference: f64) -> Measured {
    let mut v: Vec<f64> = t.iter().map(|x| x - reference).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64).sqrt();
    Measured::Overhead { median, min: v[0], max: v[n - 1], sd }
}

/// Median of per-delay times of the delay loop run alone on this thread,
/// called from Rust as the phalanx kernels call it (µs per delay).
pub fn phalanx_reference(m: &Method) -> f64 {
    let len = m.delay_len;
    let times = time_reps(m, 1, |reps| {
        let t = Instant::now();
        for _ in 0..reps {
            omp::delay(len);
        }
        Ok(t.elapsed())
    })
    .expect("the reference cannot fail");
    median(times)
}

/// Median of per-delay times of `epcc_reference` (the delay called from C,
/// as the C kernels call it), µs per delay.
pub fn libgomp_reference(m: &Method) -> Result<f64, String> {
    let times = time_reps(m, 1, |reps| omp::reference(reps, m.delay_len).ok_or_else(|| "OpenMP missing".to_string()))?;
    Ok(median(times))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures `c` with libgomp, or says why not.
pub fn measure_libgomp(m: &Method, c: Construct, ref_per_delay: f64) -> Measured {
    let multiple = if shared_out(c) { m.threads as u64 } else { 1 };
    let reference = ref_per_delay * critical_path_delays(c, m.threads) as f64;
    match time_reps(m, multiple, |reps| omp::try_run(c, m.threads, reps, m.delay_len).map_err(|e| e.to_string())) {
        Ok(t) => overhead(&t, reference),
        Err(e) => Measured::Failed(e),
    }
}

/// Measures `c` with phalanx on `team`.
pub fn measure_phalanx(m: &Method, team: &Team, c: Construct, ref_per_delay: f64) -> Measured {
    let multiple = if shared_out(c) { m.threads as u64 } else { 1 };
    let reference = ref_per_delay * critical_path_delays(c, m.threads) as f64;
    let len = m.delay_len;
    let kernel = |reps: u64| phalanx_kernel(team, c, reps, len);
    // The first call says whether the construct exists on the phalanx side.
    match kernel(multiple) {
        None => Measured::NotApplicable,
        Some(Err(e)) => Measured::Failed(e),
        Some(Ok(_)) => match time_reps(m, multiple, |reps| kernel(reps).expect("checked above")) {
            Ok(t) => overhead(&t, reference),
            Err(e) => Measured::Failed(e),
        },
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
        Construct::MasterTask | Construct::ParallelTask | Construct::TaskWait => {
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
                _ => team.parallel(|ctx| {
                    for _ in 0..reps {
                        ctx.task(body);
                        ctx.taskwait();
                    }
                }),
            }
            let elapsed = start.elapsed();
            let (got, want) = (slots.total(), reps * n as u64);
            return Some(if got == want { Ok(elapsed) } else { Err(format!("{c}: {got} tasks ran, expected {want}")) });
        }
    }
    Some(Ok(start.elapsed()))
}
