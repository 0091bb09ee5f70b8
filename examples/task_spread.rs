//! The mission's task pattern: one thread creates a task per work item
//! (inside `master` followed by a barrier, or inside `single`), and every
//! thread of the team should run them. Measures, per wait policy, the wall
//! time of `--tasks` tasks of `--work-us` µs of CPU work created by one
//! producer, on 1 and on `--threads` threads, and how the tasks spread:
//! the share run by threads other than the producer, and the regions in
//! which the producer ran every task itself.
//!
//! Also checks itself: every task runs exactly once in every region (exit
//! status 1 otherwise). Target (issue 10): with 2 threads, wall ≤ 0.6× the
//! 1-thread wall under every policy but SleepPoll.
//!
//! `cargo run --release --example task_spread -- --threads 2 --tasks 64 --work-us 2000 --reps 5`

#[path = "common/mod.rs"]
mod common;

use common::{busy_for, median};
use phalanx::{Team, WaitPolicy};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    threads: usize,
    tasks: usize,
    work: Duration,
    lead: Duration,
    reps: usize,
}

fn parse() -> Result<Args, String> {
    let mut a =
        Args { threads: 2, tasks: 64, work: Duration::from_micros(2000), lead: Duration::from_micros(500), reps: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse::<u64>().map_err(|_| format!("{name} {v}: not a whole number"))
        };
        match flag.as_str() {
            "--threads" => a.threads = value("--threads")?.max(1) as usize,
            "--tasks" => a.tasks = value("--tasks")?.max(1) as usize,
            "--work-us" => a.work = Duration::from_micros(value("--work-us")?),
            "--lead-us" => a.lead = Duration::from_micros(value("--lead-us")?),
            "--reps" => a.reps = value("--reps")?.max(1) as usize,
            "--quick" => {
                a.tasks = 16;
                a.work = Duration::from_micros(200);
                a.reps = 2;
            }
            "--help" | "-h" => {
                return Err("flags: --threads T --tasks K --work-us W --lead-us L (producer's own work before \
                            creating) --reps R --quick"
                    .into())
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

#[derive(Clone, Copy)]
enum Producer {
    MasterBarrier,
    Single,
}

impl Producer {
    fn name(self) -> &'static str {
        match self {
            Producer::MasterBarrier => "master + barrier",
            Producer::Single => "single",
        }
    }
}

/// One region: returns (wall, tasks run by a thread other than the
/// producer), or an error if a task did not run exactly once.
fn region(team: &Team, p: Producer, a: &Args) -> Result<(Duration, usize), String> {
    let runs: Vec<AtomicU8> = (0..a.tasks).map(|_| AtomicU8::new(0)).collect();
    let producer = AtomicUsize::new(usize::MAX);
    let helped = AtomicUsize::new(0);
    let start = Instant::now();
    team.parallel(|ctx| {
        let create = || {
            producer.store(ctx.thread_num(), Ordering::Relaxed);
            busy_for(a.lead);
            for r in &runs {
                let (producer, helped) = (&producer, &helped);
                ctx.task(move |ctx| {
                    busy_for(a.work);
                    r.fetch_add(1, Ordering::Relaxed);
                    if ctx.thread_num() != producer.load(Ordering::Relaxed) {
                        helped.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        };
        match p {
            Producer::MasterBarrier => {
                ctx.master(create);
                ctx.barrier();
            }
            Producer::Single => ctx.single(create),
        }
    });
    let wall = start.elapsed();
    if let Some(i) = runs.iter().position(|r| r.load(Ordering::Relaxed) != 1) {
        return Err(format!("task {i} ran {} times", runs[i].load(Ordering::Relaxed)));
    }
    Ok((wall, helped.into_inner()))
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("task_spread: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{} tasks of {:?} CPU work from one producer ({:?} of its own work first), 1 vs {} threads, medians of {}",
        a.tasks, a.work, a.lead, a.threads, a.reps
    );
    println!();
    println!("| producer | policy | 1 thread (ms) | {} threads (ms) | ratio | tasks run by others | regions where the producer ran all | target ≤ 0.6 |", a.threads);
    println!("|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for p in [Producer::MasterBarrier, Producer::Single] {
        for policy in WaitPolicy::all() {
            let one = Team::builder().num_threads(1).wait_policy(policy).build().expect("team");
            let many = Team::builder().num_threads(a.threads).wait_policy(policy).build().expect("team");
            let (mut w1, mut wn, mut helped, mut alone) = (Vec::new(), Vec::new(), 0, 0);
            for _ in 0..a.reps {
                for (team, walls) in [(&one, &mut w1), (&many, &mut wn)] {
                    match region(team, p, &a) {
                        Ok((w, h)) => {
                            walls.push(w.as_secs_f64() * 1e3);
                            if team.num_threads() > 1 {
                                helped += h;
                                alone += usize::from(h == 0);
                            }
                        }
                        Err(e) => {
                            eprintln!("task_spread: {} / {policy}: {e}", p.name());
                            ok = false;
                        }
                    }
                }
            }
            let (m1, mn) = (median(&w1), median(&wn));
            let ratio = mn / m1;
            let verdict = match policy {
                WaitPolicy::SleepPoll { .. } => "(not targeted)",
                _ if ratio <= 0.6 => "PASS",
                _ => "MISS",
            };
            println!(
                "| {} | {policy} | {m1:.2} | {mn:.2} | {ratio:.2} | {:.0} % | {alone} of {} | {verdict} |",
                p.name(),
                100.0 * helped as f64 / (a.tasks * a.reps) as f64,
                a.reps
            );
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
