//! Empty fork/join and barrier costs: phalanx next to its Rust peers and a
//! bare spin floor, at one team size.
//!
//! `cargo run --release --example region_overhead [-- --threads N
//! --budget-ms MS --json --quick]`
//!
//! Every row is the median over timed batches of µs per call of an empty
//! construct, on one persistent team (threads made once per row, outside the
//! timing). A batch is calibrated to 1/20 of the budget (doubling from one
//! call), then batches run until the budget is spent (at least 3, at most
//! 201). Rows, by construct:
//!
//! * **fork/join** (an empty parallel region, `#pragma omp parallel`):
//!   the floor (the master bumps a fork counter, each helper thread spinning
//!   on it bumps a join counter, nothing else); phalanx `Team::parallel`
//!   under `Spin` and the default (`Predictive`, which plans as `Hybrid`
//!   for these back-to-back regions); threadteam 0.3's team section
//!   (`Exec::team`, then `TeamExec::run` per call, members held by the scope);
//!   rayon's `ThreadPool::broadcast` from outside the pool; a rayon `scope`
//!   spawning `threads - 1` empty jobs from a pool thread; `rayon::join` of
//!   two empty closures from a pool thread (a 2-way fork/join at any size).
//!   The last two are kind `local`: an empty job is usually run by the
//!   thread that made it before another steals it, so they mostly measure
//!   rayon's bookkeeping, not a fork/join across threads.
//! * **barrier** (`#pragma omp barrier`): the floor (a sense-reversing
//!   counter, spinning); `phalanx::Barrier` under `Spin` and `Hybrid`;
//!   `Ctx::barrier` inside one region of a `Hybrid` team; threadteam's
//!   section barrier (`Participant::barrier`); `std::sync::Barrier`.
//! * **loop**: phalanx `for_each(Static)` of `threads` empty iterations,
//!   once with its own region per call and once inside one region.
//!
//! With more threads than CPUs every spinning row collapses (the floor too):
//! that is the row's honest cost, within the budget. The **yield floors**
//! (the same two floors waiting with `sched_yield` instead of `PAUSE`) are
//! the reference there: each thread must get a CPU once per crossing, so
//! threads / CPUs context switches per CPU is the least any runtime pays. Output: a text table,
//! or `--json` (one object per row: construct, impl, kind = floor | phalanx
//! | peer | local, threads, us, calls).

// The bare floor and the peers' harness use std sync types on purpose.
#![allow(clippy::disallowed_types)]

use phalanx::{Schedule, Team, WaitPolicy};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MIN_BATCHES: usize = 3;
const MAX_BATCHES: usize = 201;
/// A batch is calibrated to this share of the budget.
const CALIBRATE_SHARE: u32 = 20;

/// One result row.
struct Row {
    construct: &'static str,
    imp: String,
    kind: &'static str,
    us: f64,
    calls: u64,
}

/// Median µs per call of `f` over batches, and the calls timed. Calls `f`
/// untimed for 1/20 of the budget first (wake-ups, first touch), so the
/// first slow call does not set the batch size.
fn median_us(budget: Duration, mut f: impl FnMut()) -> (f64, u64) {
    let warm = Instant::now();
    while warm.elapsed() < budget / CALIBRATE_SHARE {
        f();
    }
    let start = Instant::now();
    let mut batch: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        if t.elapsed() >= budget / CALIBRATE_SHARE || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut v = Vec::new();
    while v.len() < MIN_BATCHES || (start.elapsed() < budget && v.len() < MAX_BATCHES) {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        v.push(t.elapsed().as_secs_f64() * 1e6 / batch as f64);
    }
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v.len() as u64 * batch)
}

/// Barrier harness for `n` parties, each calling `wait` in a loop: party
/// `master` times crossings with [`median_us`]; the others cross until their
/// count reaches `last`. The master stores the final crossing's number in
/// `last` before making it, so a helper that reads `last` after crossing `i`
/// sees either "not yet" (`u64::MAX`) or a number `>= i`: it never leaves
/// before the last crossing and never waits for one that will not come.
fn cross(master: bool, budget: Duration, last: &AtomicU64, wait: impl Fn()) -> Option<(f64, u64)> {
    if master {
        let mut crossings = 0;
        let r = median_us(budget, || {
            wait();
            crossings += 1;
        });
        // Release: pairs with the helpers' Acquire load; the barrier crossing
        // that follows also orders it before their load.
        last.store(crossings + 1, Ordering::Release);
        wait();
        Some(r)
    } else {
        let mut i = 0;
        loop {
            wait();
            i += 1;
            // Acquire: pairs with the master's Release store above.
            if i == last.load(Ordering::Acquire) {
                return None;
            }
        }
    }
}

/// `n` threads (the caller and `n - 1` scoped ones) each running `cross`
/// with `wait`; the caller is the master.
fn threads_cross(n: usize, budget: Duration, wait: impl Fn() + Sync) -> (f64, u64) {
    let last = AtomicU64::new(u64::MAX);
    std::thread::scope(|s| {
        for _ in 1..n {
            s.spawn(|| cross(false, budget, &last, &wait));
        }
        cross(true, budget, &last, &wait).expect("the master measures")
    })
}

/// A cache line of its own.
#[repr(align(128))]
struct Line<T>(T);

/// How a floor waits between checks: `PAUSE` (the spin floor) or
/// `sched_yield` (the yield floor: with more threads than CPUs, the least a
/// fork/join or barrier must pay is each thread getting a CPU once, one
/// context switch per thread per crossing).
fn relax(yielding: bool) {
    if yielding {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

/// The fork/join floor: `n - 1` helpers spin (or yield) on a fork counter and
/// each adds one to a join counter per fork; the master waits for all of them.
fn floor_fork_join(n: usize, budget: Duration, yielding: bool) -> (f64, u64) {
    let fork = Line(AtomicU64::new(0));
    let join = Line(AtomicU64::new(0));
    let helpers = (n - 1) as u64;
    std::thread::scope(|s| {
        for _ in 1..n {
            s.spawn(|| {
                let mut seen = 0;
                loop {
                    // Acquire: pairs with the master's Release store of the fork counter.
                    let f = fork.0.load(Ordering::Acquire);
                    if f == u64::MAX {
                        return;
                    }
                    if f != seen {
                        seen = f;
                        // Release: pairs with the master's Acquire load in the join wait.
                        join.0.fetch_add(1, Ordering::Release);
                    }
                    relax(yielding);
                }
            });
        }
        let mut k = 0;
        let r = median_us(budget, || {
            k += 1;
            // Release: publishes the fork (nothing else to publish; the shape of a fork).
            fork.0.store(k, Ordering::Release);
            // Acquire: pairs with the helpers' Release increments.
            while join.0.load(Ordering::Acquire) != k * helpers {
                relax(yielding);
            }
        });
        // Release: as above; the helpers return.
        fork.0.store(u64::MAX, Ordering::Release);
        r
    })
}

/// The barrier floor: a sense-reversing counter, spinning (or yielding).
struct SpinBarrier {
    n: u64,
    yielding: bool,
    count: Line<AtomicU64>,
    sense: Line<AtomicBool>,
}

impl SpinBarrier {
    fn new(n: usize, yielding: bool) -> Self {
        SpinBarrier { n: n as u64, yielding, count: Line(AtomicU64::new(0)), sense: Line(AtomicBool::new(false)) }
    }

    fn wait(&self) {
        // Relaxed: only this episode's sense matters, and it cannot flip
        // before this thread arrives (the counter below is not full yet).
        let mine = !self.sense.0.load(Ordering::Relaxed);
        // AcqRel: the last arriver acquires every earlier arriver's writes
        // (Release) before it flips the sense.
        if self.count.0.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            // Relaxed: the next episode's arrivals wait for the flip below,
            // whose Release orders this reset before them.
            self.count.0.store(0, Ordering::Relaxed);
            // Release: pairs with the waiters' Acquire load.
            self.sense.0.store(mine, Ordering::Release);
        } else {
            // Acquire: pairs with the last arriver's Release store.
            while self.sense.0.load(Ordering::Acquire) != mine {
                relax(self.yielding);
            }
        }
    }
}

struct Args {
    threads: usize,
    budget: Duration,
    json: bool,
}

const USAGE: &str = "usage: region_overhead [--threads N (>= 2, default 2)] [--budget-ms MS (default 100)] \
[--quick (budget 20 ms)] [--json]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args { threads: 2, budget: Duration::from_millis(100), json: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => {
                let v = value()?;
                a.threads =
                    v.parse().ok().filter(|&n| n >= 2).ok_or(format!("invalid --threads = {v:?}: expected >= 2"))?;
            }
            "--budget-ms" => {
                let v = value()?;
                let ms: u64 = v.parse().ok().filter(|&m| m > 0).ok_or(format!("invalid --budget-ms = {v:?}"))?;
                a.budget = Duration::from_millis(ms);
            }
            "--quick" => a.budget = Duration::from_millis(20),
            "--json" => a.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(a)
}

fn measure(a: &Args) -> Vec<Row> {
    let (n, budget) = (a.threads, a.budget);
    let mut rows = Vec::new();
    let mut push = |construct, imp: &str, kind, (us, calls): (f64, u64)| {
        eprintln!("region_overhead: {construct} {imp}: {us:.3} us");
        rows.push(Row { construct, imp: imp.to_string(), kind, us, calls });
    };

    // fork/join
    push("fork/join", "bare spin floor (two atomics)", "floor", floor_fork_join(n, budget, false));
    push("fork/join", "bare yield floor (two atomics, sched_yield)", "floor", floor_fork_join(n, budget, true));
    for policy in [WaitPolicy::Spin, WaitPolicy::default()] {
        let team = Team::builder().num_threads(n).wait_policy(policy).build().expect("team");
        push("fork/join", &format!("phalanx {policy}"), "phalanx", median_us(budget, || team.parallel(|_| {})));
    }
    let pool = threadteam::Pool::builder()
        .threads(n)
        .acquire_timeout(Duration::from_secs(10))
        .build()
        .expect("threadteam pool");
    let mut exec = threadteam::Exec::new(&pool, n).expect("threadteam token");
    match exec.team(|mut t| median_us(budget, || t.reborrow().run(|_, _| {}))) {
        Ok(r) => push("fork/join", "threadteam team section (run)", "peer", r),
        Err(e) => eprintln!("region_overhead: threadteam team section refused: {e}"),
    }
    let rayon_pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("rayon pool");
    push(
        "fork/join",
        "rayon broadcast (from outside)",
        "peer",
        median_us(budget, || {
            rayon_pool.broadcast(|_| {});
        }),
    );
    let scope = rayon_pool.install(|| {
        median_us(budget, || {
            rayon::scope(|s| {
                for _ in 1..n {
                    s.spawn(|_| {});
                }
            })
        })
    });
    // An empty job is usually run by the thread that made it before another
    // can steal it: these two rows mostly do not cross threads, so they are
    // kind `local`, not counted as fork/join peers.
    push("fork/join", "rayon scope + spawn (in pool)", "local", scope);
    push(
        "fork/join",
        "rayon join, 2-way (in pool)",
        "local",
        rayon_pool.install(|| {
            median_us(budget, || {
                rayon::join(|| {}, || {});
            })
        }),
    );

    // barrier
    let floor = SpinBarrier::new(n, false);
    push("barrier", "bare spin floor (sense-reversing)", "floor", threads_cross(n, budget, || floor.wait()));
    let floor = SpinBarrier::new(n, true);
    push(
        "barrier",
        "bare yield floor (sense-reversing, sched_yield)",
        "floor",
        threads_cross(n, budget, || floor.wait()),
    );
    for policy in [WaitPolicy::Spin, WaitPolicy::default()] {
        let b = phalanx::Barrier::builder(n).wait_policy(policy).build().expect("barrier");
        let r = threads_cross(n, budget, || {
            b.wait().expect("not broken");
        });
        push("barrier", &format!("phalanx Barrier {policy}"), "phalanx", r);
    }
    let team = Team::builder().num_threads(n).build().expect("team");
    let out = Mutex::new(None);
    let last = AtomicU64::new(u64::MAX);
    team.parallel(|ctx| {
        if let Some(r) = cross(ctx.is_master(), budget, &last, || ctx.barrier()) {
            *out.lock().expect("not poisoned") = Some(r);
        }
    });
    let r = out.lock().expect("not poisoned").take().expect("the master measured");
    push("barrier", &format!("phalanx ctx.barrier {}", team.wait_policy()), "phalanx", r);
    let out = Mutex::new(None);
    let last = AtomicU64::new(u64::MAX);
    let ran = exec.team(|t| {
        t.run_with(|p| {
            let wait = || p.barrier().expect("no participant panics");
            if let Some(r) = cross(p.index() == 0, budget, &last, wait) {
                *out.lock().expect("not poisoned") = Some(r);
            }
        })
    });
    match ran {
        Ok(()) => {
            let r = out.lock().expect("not poisoned").take().expect("the leader measured");
            push("barrier", "threadteam section barrier", "peer", r);
        }
        Err(e) => eprintln!("region_overhead: threadteam team section refused: {e}"),
    }
    let b = std::sync::Barrier::new(n);
    push(
        "barrier",
        "std::sync::Barrier",
        "peer",
        threads_cross(n, budget, || {
            b.wait();
        }),
    );

    // loops
    let team = Team::builder().num_threads(n).build().expect("team");
    push(
        "loop",
        &format!("phalanx region + for_each(Static) {}", team.wait_policy()),
        "phalanx",
        median_us(budget, || team.parallel(|ctx| ctx.for_each(0..n, Schedule::Static, |_| {}))),
    );
    let out = Mutex::new(None);
    let last = AtomicU64::new(u64::MAX);
    team.parallel(|ctx| {
        // Every thread runs loops until the master's last one, so they pair up.
        let wait = || ctx.for_each(0..n, Schedule::Static, |_| {});
        if let Some(r) = cross(ctx.is_master(), budget, &last, wait) {
            *out.lock().expect("not poisoned") = Some(r);
        }
    });
    let r = out.lock().expect("not poisoned").take().expect("the master measured");
    push("loop", &format!("phalanx for_each(Static) inside one region {}", team.wait_policy()), "phalanx", r);
    rows
}

fn main() -> std::process::ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("region_overhead: {e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = measure(&a);
    if a.json {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{{\"construct\":\"{}\",\"impl\":\"{}\",\"kind\":\"{}\",\"threads\":{},\"us\":{:.4},\"calls\":{}}}",
                    r.construct, r.imp, r.kind, a.threads, r.us, r.calls
                )
            })
            .collect();
        println!("[\n  {}\n]", items.join(",\n  "));
    } else {
        println!(
            "{} threads on {cpus} CPUs{}; median us per call over batches, budget {} ms per row",
            a.threads,
            if a.threads > cpus { " (oversubscribed)" } else { "" },
            a.budget.as_millis()
        );
        println!("{:<10} {:<48} {:<8} {:>10} {:>10}", "construct", "implementation", "kind", "us", "calls");
        for r in &rows {
            println!("{:<10} {:<48} {:<8} {:>10.3} {:>10}", r.construct, r.imp, r.kind, r.us, r.calls);
        }
    }
    std::process::ExitCode::SUCCESS
}
