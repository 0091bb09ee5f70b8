//! Throughput and idle cost of the distributed master-worker.
//!
//! * `mpi_bench tasks --threads T [--lengths 1,10,100,1000] [--ms 300]`:
//!   tasks/s of `Cluster::master_worker` for tasks that busy-spin for each
//!   length (µs), on however many ranks `mpirun` started. One markdown row
//!   per length from rank 0: `| mpi | ranks | threads | length | tasks | s | tasks/s |`.
//! * `mpi_bench baseline --threads T ...`: the same tasks through
//!   single-process `Team::master_worker` (no MPI traffic; run it without mpirun).
//! * `mpi_bench idle --threads T [--gap-ms 200] [--tasks 5]`: a slow producer
//!   (one task every gap); every rank reports the CPU it burned per second
//!   of wall time (`getrusage`), once with `IdleWait::Backoff` and once with
//!   `IdleWait::Probe`.
//!
//! Timed runs belong under `flock /tmp/phalanx-bench.lock` (scripts/mpi_bench.sh).

use phalanx::Team;
use phalanx_mpi::cpu::process_cpu_time;
use phalanx_mpi::{Cluster, DistConfig, IdleWait, Place};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn spin_for(us: u64) -> u64 {
    let end = Instant::now() + Duration::from_micros(us);
    let mut n = 0u64;
    while Instant::now() < end {
        std::hint::spin_loop();
        n += 1;
    }
    n
}

struct Args {
    mode: String,
    threads: usize,
    lengths: Vec<u64>,
    ms: u64,
    gap_ms: u64,
    tasks: u64,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mode = it.next().expect("usage: mpi_bench tasks|baseline|idle [--threads T] ...");
    let mut a = Args { mode, threads: 1, lengths: vec![1, 10, 100, 1000], ms: 300, gap_ms: 200, tasks: 5 };
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let num = || v.parse::<u64>().unwrap_or_else(|_| panic!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--threads" => a.threads = num() as usize,
            "--ms" => a.ms = num(),
            "--gap-ms" => a.gap_ms = num(),
            "--tasks" => a.tasks = num(),
            "--lengths" => a.lengths = v.split(',').map(|x| x.parse().expect("--lengths: numbers")).collect(),
            _ => panic!("unknown flag {flag}"),
        }
    }
    a
}

/// Tasks for about `ms` of work on `workers` threads, within sane bounds.
fn task_count(ms: u64, len_us: u64, workers: usize) -> u64 {
    (ms * 1000 * workers as u64 / len_us).clamp(200, 200_000)
}

fn main() {
    let a = args();
    let team = Team::builder().num_threads(a.threads).build().expect("team");
    if a.mode == "baseline" {
        for &len in &a.lengths {
            let n = task_count(a.ms, len, a.threads);
            let out: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
            let t = Instant::now();
            team.master_worker(
                |feed| {
                    for i in 0..n {
                        feed.push(i).expect("open");
                    }
                },
                // Relaxed: each slot written once, read after the region.
                |_ctx, i| out[i as usize].store(spin_for(len), Ordering::Relaxed),
            );
            let s = t.elapsed().as_secs_f64();
            println!(
                "| single-process master_worker | 1 | {} | {len} | {n} | {s:.3} | {:.0} |",
                a.threads,
                n as f64 / s
            );
        }
        return;
    }
    let cluster = Cluster::init().expect("MPI init");
    let comm = cluster.comm().expect("owner");
    match a.mode.as_str() {
        "tasks" => {
            for &len in &a.lengths {
                let n = task_count(a.ms, len, a.threads * cluster.size());
                // Tasks run by each thread of this rank (Relaxed: read after the run).
                let per_thread: Vec<AtomicU64> = (0..a.threads).map(|_| AtomicU64::new(0)).collect();
                comm.barrier();
                let t = Instant::now();
                let out = cluster.master_worker(
                    &team,
                    &DistConfig::default(),
                    |feed| {
                        for i in 0..n {
                            feed.push(i).map_err(|_| ()).expect("the run does not fail");
                        }
                    },
                    |p: Place, _i: u64| {
                        per_thread[p.thread].fetch_add(1, Ordering::Relaxed);
                        spin_for(len)
                    },
                );
                let s = t.elapsed().as_secs_f64();
                if let Some(out) = out {
                    let done = out.expect("the run succeeds");
                    assert_eq!(done.results.len() as u64, n);
                    println!(
                        "| phalanx-mpi | {} | {} | {len} | {n} | {s:.3} | {:.0} | per rank {:?}, rank 0 per thread {:?}, {} msgs |",
                        cluster.size(),
                        a.threads,
                        n as f64 / s,
                        done.tasks_per_rank,
                        per_thread.iter().map(|c| c.load(Ordering::Relaxed)).collect::<Vec<_>>(),
                        done.messages
                    );
                }
            }
        }
        "idle" => {
            for (name, idle) in [("Backoff", IdleWait::Backoff), ("Probe", IdleWait::Probe)] {
                let cfg = DistConfig { idle, ..DistConfig::default() };
                comm.barrier();
                let (cpu0, t) = (process_cpu_time(), Instant::now());
                let _ = cluster.master_worker(
                    &team,
                    &cfg,
                    |feed| {
                        for i in 0..a.tasks {
                            std::thread::sleep(Duration::from_millis(a.gap_ms)); // a slow producer
                            feed.push(i).map_err(|_| ()).expect("the run does not fail");
                        }
                    },
                    |_: Place, i: u64| i,
                );
                let share = (process_cpu_time() - cpu0).as_secs_f64() / t.elapsed().as_secs_f64();
                let mut all = vec![0.0f64; cluster.size()];
                all[cluster.rank()] = share;
                comm.all_sum_in_place(&mut all);
                if cluster.is_root() {
                    let cells: Vec<String> = all.iter().map(|c| format!("{:.1} %", c * 100.0)).collect();
                    println!(
                        "| {name} | {} | {} | {:.2} s | {} |",
                        cluster.size(),
                        a.threads,
                        t.elapsed().as_secs_f64(),
                        cells.join(" | ")
                    );
                }
            }
        }
        m => panic!("unknown mode {m}"),
    }
}
