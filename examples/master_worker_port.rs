//! The seed's Fortran master-worker program, ported to phalanx.
//!
//! In the seed, thread 1 fills `master_queue` with `tasklist_GRAD(first_task:last_task)`
//! (each marked `STATE_READY`) while the other threads wait, first at an
//! `!$OMP BARRIER`, then (the question) in a `wait_thread` loop that polls
//! `queue_full` and calls `system_sleep(1)`; then every thread calls
//! `master_worker_execution`, which pops tasks and computes them.
//!
//! Thread numbering: OpenMP numbers threads `0..n` (`omp_get_thread_num()`)
//! and thread 0 is the master. The seed's `num_thread` is 1-based, the usual
//! Fortran convention (`num_thread = omp_get_thread_num() + 1`), so its
//! "thread 1" is OpenMP's thread 0: the master. phalanx keeps OpenMP's
//! numbers: `ctx.thread_num() == 0` (`ctx.is_master()`) is the seed's
//! `num_thread == 1`. (Which thread fills does not matter to any strategy.)
//!
//! Each task computes one component of a gradient by central differences
//! (`(F(x + h e_i) - F(x - h e_i)) / 2h`, O(dim) work); the master then takes
//! a gradient step, `rounds` times. The result is checked bit for bit against
//! a serial run, and against the analytic gradient.
//!
//! ```text
//! cargo run --release --example master_worker_port -- --all
//! cargo run --release --example master_worker_port -- --strategy queue --tasks 256 --rounds 100
//! ```
//! Strategies: `barrier` (the original `!$OMP BARRIER`), `gate` (master opens
//! a Gate after filling), `queue` (`Team::master_worker`: workers start on the
//! first task), `sleep-poll` (the seed's `wait_thread`: check a flag, sleep
//! 1 ms, check again; made race-free with an atomic, but slow).

use phalanx::{Ctx, Gate, TaskQueue, Team};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

// integer, parameter :: STATE_IDLE = 0, STATE_READY = 1, STATE_RUNNING = 2, STATE_DONE = 3
const STATE_IDLE: u8 = 0;
const STATE_READY: u8 = 1;
const STATE_RUNNING: u8 = 2;
const STATE_DONE: u8 = 3;

/// `type(TASK_STRUCT)`: one element of `tasklist_GRAD`.
struct GradTask {
    /// Which gradient component this task computes.
    component: usize,
    /// `tasklist_GRAD(i)%state`: STATE_IDLE, STATE_READY, ...
    state: AtomicU8,
    /// The computed component (f64 bits).
    result: AtomicU64,
}

const H: f64 = 1e-5;

/// The objective: F(x) = Σ_k (k+1)·sin(x_k) + x_k²/2.
fn objective(x: &[f64]) -> f64 {
    x.iter().enumerate().map(|(k, &v)| (k as f64 + 1.0) * v.sin() + 0.5 * v * v).sum()
}

/// One task's work: the `i`-th component of ∇F at `x`, by central differences.
fn grad_component(x: &[f64], i: usize) -> f64 {
    let mut y = x.to_vec();
    y[i] = x[i] + H;
    let up = objective(&y);
    y[i] = x[i] - H;
    let down = objective(&y);
    (up - down) / (2.0 * H)
}

/// `master_worker_execution`: pop tasks and run them until the queue is
/// empty (the queue is full when the threads get here, as after the seed's
/// barrier, so a non-waiting `try_pop` is the right check).
fn master_worker_execution(master_queue: &TaskQueue<usize>, tasklist: &[GradTask], x: &[f64]) {
    while let Some(i) = master_queue.try_pop().item() {
        run_task(&tasklist[i], x);
    }
}

fn run_task(task: &GradTask, x: &[f64]) {
    // Relaxed: the state is bookkeeping, checked by the master after the
    // region's join, which orders every store before the check.
    task.state.store(STATE_RUNNING, Ordering::Relaxed);
    let g = grad_component(x, task.component);
    // Relaxed: as above.
    task.result.store(g.to_bits(), Ordering::Relaxed);
    task.state.store(STATE_DONE, Ordering::Relaxed);
}

/// The master's part (`if (num_thread==1) then ... end if`): mark each task
/// of `first_task..=last_task` READY and enqueue it.
#[allow(clippy::needless_range_loop)] // the Fortran loop, kept as written
fn fill(master_queue: &TaskQueue<usize>, tasklist: &[GradTask], first_task: usize, last_task: usize) {
    // do i_task=first_task,last_task
    for i_task in first_task..=last_task {
        // tasklist_GRAD(i_task)%state=STATE_READY
        // Relaxed: published by the push (Release) or the barrier/gate that follows.
        tasklist[i_task].state.store(STATE_READY, Ordering::Relaxed);
        // call queue_enqueue_data(master_queue,tasklist_GRAD(i_task))
        master_queue.push(i_task).expect("the queue is open while the master fills it");
    }
    // end do
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Strategy {
    Barrier,
    Gate,
    Queue,
    SleepPoll,
}

impl Strategy {
    const ALL: [Strategy; 4] = [Strategy::Barrier, Strategy::Gate, Strategy::Queue, Strategy::SleepPoll];

    fn name(self) -> &'static str {
        match self {
            Strategy::Barrier => "barrier",
            Strategy::Gate => "gate",
            Strategy::Queue => "queue",
            Strategy::SleepPoll => "sleep-poll",
        }
    }

    fn parse(s: &str) -> Result<Strategy, String> {
        Strategy::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("invalid --strategy = {s:?}: expected barrier, gate, queue or sleep-poll"))
    }
}

/// One round (one gradient): fill the queue on the master, release the
/// others the way `strategy` says, run every task.
#[allow(clippy::needless_range_loop)] // the Fortran loop, kept as written
fn round(team: &Team, strategy: Strategy, tasklist: &[GradTask], x: &[f64]) {
    let (first_task, last_task) = (0, tasklist.len() - 1);
    let master_queue = TaskQueue::with_policy(team.wait_policy());
    match strategy {
        Strategy::Barrier => team.parallel(|ctx: &Ctx<'_>| {
            if ctx.is_master() {
                fill(&master_queue, tasklist, first_task, last_task);
            }
            // !$OMP BARRIER
            ctx.barrier();
            // call master_worker_execution(self,var,master_queue,...)
            master_worker_execution(&master_queue, tasklist, x);
        }),
        Strategy::Gate => {
            // logical :: full = .false.   (a Gate: closed until opened)
            let full = Gate::with_policy(team.wait_policy());
            team.parallel(|ctx| {
                if ctx.is_master() {
                    fill(&master_queue, tasklist, first_task, last_task);
                    // full = .true.
                    full.open();
                } else {
                    // call wait(full): blocks properly, wakes when opened
                    full.wait();
                }
                master_worker_execution(&master_queue, tasklist, x);
            });
        }
        Strategy::Queue => {
            // No wait at all: the workers pop as soon as the first task is in.
            team.master_worker(
                |feed| {
                    for i_task in first_task..=last_task {
                        // Relaxed: published by the push (Release) below.
                        tasklist[i_task].state.store(STATE_READY, Ordering::Relaxed);
                        feed.push(i_task).expect("nothing failed");
                    }
                },
                |_ctx, i| run_task(&tasklist[i], x),
            );
        }
        Strategy::SleepPoll => {
            // logical :: full — an atomic here: the seed's plain logical is a data race.
            let full = AtomicBool::new(false);
            team.parallel(|ctx| {
                if ctx.is_master() {
                    fill(&master_queue, tasklist, first_task, last_task);
                    // Release: publishes the queue contents to the pollers' Acquire.
                    full.store(true, Ordering::Release);
                } else {
                    // subroutine wait_thread: do while (.not. queue_full(master_queue)); call system_sleep(1)
                    // Acquire: pairs with the master's Release store.
                    while !full.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                master_worker_execution(&master_queue, tasklist, x);
            });
        }
    }
}

/// Run `rounds` gradient steps with `strategy` (`None`: serially); returns
/// the final point and the elapsed time.
fn descend(team: &Team, strategy: Option<Strategy>, cfg: &Cfg) -> Result<(Vec<f64>, Duration), String> {
    let tasklist: Vec<GradTask> = (0..cfg.dim)
        .map(|component| GradTask { component, state: AtomicU8::new(STATE_IDLE), result: AtomicU64::new(0) })
        .collect();
    let mut x: Vec<f64> = (0..cfg.dim).map(|k| ((k * 7919) % 97) as f64 / 97.0 - 0.5).collect();
    let t0 = Instant::now();
    for r in 0..cfg.rounds {
        match strategy {
            Some(s) => round(team, s, &tasklist, &x),
            None => tasklist.iter().for_each(|t| run_task(t, &x)),
        }
        for (k, t) in tasklist.iter().enumerate() {
            // Relaxed: the region's join ordered the workers' stores before this.
            let st = t.state.swap(STATE_IDLE, Ordering::Relaxed);
            if st != STATE_DONE {
                return Err(format!("round {r}: task {k} in state {st}, expected STATE_DONE"));
            }
            // Relaxed: as above.
            x[k] -= cfg.step * f64::from_bits(t.result.load(Ordering::Relaxed));
        }
    }
    Ok((x, t0.elapsed()))
}

struct Cfg {
    dim: usize,
    rounds: usize,
    step: f64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("master_worker_port: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut cfg = Cfg { dim: 256, rounds: 100, step: 1e-3 };
    let mut strategies = vec![Strategy::Queue];
    let mut threads = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let num = |name: &str, v: String| v.parse::<usize>().map_err(|_| format!("invalid {name} = {v:?}"));
        match a.as_str() {
            "--strategy" => strategies = vec![Strategy::parse(&val("--strategy")?)?],
            "--all" => strategies = Strategy::ALL.to_vec(),
            "--tasks" => cfg.dim = num("--tasks", val("--tasks")?)?,
            "--rounds" => cfg.rounds = num("--rounds", val("--rounds")?)?,
            "--threads" => threads = Some(num("--threads", val("--threads")?)?),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --strategy S | --all, --tasks N, --rounds R, --threads T)"
                ))
            }
        }
    }
    if cfg.dim == 0 || cfg.rounds == 0 {
        return Err(format!("invalid --tasks = {} / --rounds = {}: both must be at least 1", cfg.dim, cfg.rounds));
    }
    let mut b = Team::builder();
    if let Some(t) = threads {
        b = b.num_threads(t);
    }
    let team = b.build().map_err(|e| e.to_string())?;
    println!(
        "master-worker port: {} tasks (tasklist_GRAD(1:{})) x {} rounds, {} threads, wait policy {}",
        cfg.dim,
        cfg.dim,
        cfg.rounds,
        team.num_threads(),
        team.wait_policy()
    );

    let (reference, serial) = descend(&team, None, &cfg)?;
    // The analytic gradient at the final point, as a sanity check of the task itself.
    let max_err = reference
        .iter()
        .enumerate()
        .map(|(k, &v)| (grad_component(&reference, k) - ((k as f64 + 1.0) * v.cos() + v)).abs())
        .fold(0.0, f64::max);
    if max_err > 1e-4 {
        return Err(format!("finite-difference gradient off by {max_err:e} from the analytic one"));
    }
    println!("serial reference: {:9.2} ms ({:7.1} µs/round)", ms(serial), us(serial) / cfg.rounds as f64);

    println!("{:<11} {:>10} {:>12} {:>9}  result", "strategy", "total ms", "µs/round", "vs serial");
    let mut failed = false;
    for s in strategies {
        let (x, t) = descend(&team, Some(s), &cfg)?;
        let same = x.iter().zip(&reference).all(|(a, b)| a.to_bits() == b.to_bits());
        failed |= !same;
        println!(
            "{:<11} {:>10.2} {:>12.1} {:>8.2}x  {}",
            s.name(),
            ms(t),
            us(t) / cfg.rounds as f64,
            serial.as_secs_f64() / t.as_secs_f64(),
            if same { "bit-identical to serial" } else { "WRONG: differs from serial" }
        );
    }
    if failed {
        return Err("a strategy computed a different result".into());
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
