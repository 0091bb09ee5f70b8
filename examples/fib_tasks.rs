//! Tasks against rayon, in one run:
//!
//! * recursive Fibonacci with a task per call above a cut-off (serial below),
//!   phalanx `task_scope` vs `rayon::join`; the result is checked against the
//!   serial value (exit status 1 if wrong);
//! * the same with `ctx.spawn` + `join` (the literal port of OpenMP's
//!   `x = task fib(n-1); y = task fib(n-2); taskwait`), with ns per task;
//! * EPCC-style MASTER TASK: thread 0 creates N empty tasks while the other
//!   threads run them; µs per task, phalanx `ctx.task` vs rayon
//!   `scope` + `spawn`.
//!
//! Medians of `--reps` runs. Flags: `--threads T` (default 2), `--n N`
//! (fib argument, default 32), `--cutoff C` (serial below, default 20),
//! `--tasks K` (master-task count, default 1_000_000), `--reps R` (default 7).
//!
//! `cargo run --release --example fib_tasks -- --threads 2 --n 32 --cutoff 20`

use phalanx::{Ctx, Team};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

fn fib_phalanx(ctx: &Ctx<'_>, n: u64, cutoff: u64) -> u64 {
    if n < cutoff.max(2) {
        return fib_serial(n);
    }
    let mut a = 0;
    let b = ctx.task_scope(|s| {
        s.spawn(|ctx| a = fib_phalanx(ctx, n - 1, cutoff));
        fib_phalanx(ctx, n - 2, cutoff)
    });
    a + b
}

/// The literal OpenMP port: a task per call, values back through handles,
/// `join` as the taskwait; serial below the cut-off.
fn fib_spawn(ctx: &Ctx<'_>, n: u64, cutoff: u64) -> u64 {
    if n < cutoff.max(2) {
        return fib_serial(n);
    }
    let x = ctx.spawn(move |ctx| fib_spawn(ctx, n - 1, cutoff));
    let y = ctx.spawn(move |ctx| fib_spawn(ctx, n - 2, cutoff));
    x.join() + y.join()
}

/// Calls of `fib_*(n)` above the cut-off (each creates tasks).
fn inner_calls(n: u64, cutoff: u64) -> u64 {
    if n < cutoff.max(2) {
        0
    } else {
        1 + inner_calls(n - 1, cutoff) + inner_calls(n - 2, cutoff)
    }
}

fn fib_rayon(n: u64, cutoff: u64) -> u64 {
    if n < cutoff.max(2) {
        return fib_serial(n);
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1, cutoff), || fib_rayon(n - 2, cutoff));
    a + b
}

struct Args {
    threads: usize,
    n: u64,
    cutoff: u64,
    tasks: usize,
    reps: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { threads: 2, n: 32, cutoff: 20, tasks: 1_000_000, reps: 7 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("missing value after {flag}"))?;
        let bad = |e: std::num::ParseIntError| format!("invalid {flag} = {value}: {e}");
        match flag.as_str() {
            "--threads" => a.threads = value.parse().map_err(bad)?,
            "--n" => a.n = value.parse().map_err(bad)?,
            "--cutoff" => a.cutoff = value.parse().map_err(bad)?,
            "--tasks" => a.tasks = value.parse().map_err(bad)?,
            "--reps" => a.reps = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown flag {flag} (use --threads, --n, --cutoff, --tasks, --reps)")),
        }
    }
    if a.threads == 0 || a.reps == 0 || a.tasks == 0 {
        return Err(format!(
            "invalid --threads = {} / --reps = {} / --tasks = {}: must be at least 1",
            a.threads, a.reps, a.tasks
        ));
    }
    Ok(a)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let times = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            out = Some(f());
            t0.elapsed()
        })
        .collect();
    (median(times), out.expect("reps >= 1"))
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fib_tasks: {e}");
            return ExitCode::from(2);
        }
    };
    let team = Team::builder().num_threads(a.threads).build().expect("team");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(a.threads).build().expect("rayon pool");
    println!("threads = {}, wait policy = {}, reps = {} (medians)", a.threads, team.wait_policy(), a.reps);

    let (t_serial, want) = time(a.reps, || fib_serial(a.n));
    let (t_ph, got_ph) = time(a.reps, || {
        let out = AtomicU64::new(0);
        team.parallel(|ctx| {
            ctx.master(|| out.store(fib_phalanx(ctx, a.n, a.cutoff), Ordering::Relaxed));
        });
        out.into_inner()
    });
    let (t_ry, got_ry) = time(a.reps, || pool.install(|| fib_rayon(a.n, a.cutoff)));
    let (t_sp, got_sp) = time(a.reps, || {
        let out = AtomicU64::new(0);
        team.parallel(|ctx| {
            ctx.master(|| out.store(fib_spawn(ctx, a.n, a.cutoff), Ordering::Relaxed));
        });
        out.into_inner()
    });
    let spawned = 2 * inner_calls(a.n, a.cutoff);

    let n_tasks = a.tasks;
    let (t_mt_ph, ()) = time(a.reps, || {
        team.parallel(|ctx| {
            if ctx.is_master() {
                for _ in 0..n_tasks {
                    ctx.task(|_| {});
                }
            }
        })
    });
    let (t_mt_ry, ()) = time(a.reps, || {
        pool.scope(|s| {
            for _ in 0..n_tasks {
                s.spawn(|_| {});
            }
        })
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n_tasks as f64;
    println!();
    println!("| benchmark | phalanx | rayon | phalanx / rayon |");
    println!("|---|---|---|---|");
    println!(
        "| fib({}) cut-off {} (serial {:.1} ms) | {:.1} ms | {:.1} ms | {:.2} |",
        a.n,
        a.cutoff,
        ms(t_serial),
        ms(t_ph),
        ms(t_ry),
        t_ph.as_secs_f64() / t_ry.as_secs_f64()
    );
    println!(
        "| master creates {} empty tasks | {:.3} µs/task | {:.3} µs/task | {:.2} |",
        n_tasks,
        per(t_mt_ph),
        per(t_mt_ry),
        t_mt_ph.as_secs_f64() / t_mt_ry.as_secs_f64()
    );
    println!(
        "| fib({}) cut-off {}, `spawn` + `join` ({} tasks, {:.1} ns/task) | {:.1} ms | {:.1} ms | {:.2} |",
        a.n,
        a.cutoff,
        spawned,
        t_sp.as_secs_f64() * 1e9 / spawned.max(1) as f64,
        ms(t_sp),
        ms(t_ry),
        t_sp.as_secs_f64() / t_ry.as_secs_f64()
    );
    if got_ph != want || got_ry != want || got_sp != want {
        eprintln!(
            "fib_tasks: WRONG RESULT: fib({}) = {want}, phalanx gave {got_ph} (scope) and {got_sp} (spawn), rayon \
             gave {got_ry}",
            a.n
        );
        return ExitCode::FAILURE;
    }
    println!("\nfib({}) = {want}: phalanx and rayon agree with the serial value", a.n);
    ExitCode::SUCCESS
}
