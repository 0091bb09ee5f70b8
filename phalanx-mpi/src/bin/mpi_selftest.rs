//! Self-checking scenarios for the distributed master-worker, run by
//! `tests/mpirun.rs` under `mpirun` (and as a plain process for one rank).
//! Rank 0 prints `selftest <scenario>: OK ...` and every rank exits 0 when
//! the check passes; anything else exits 1 with the reason.
//!
//! `mpirun -np 3 target/debug/mpi_selftest ledger --threads 2 --tasks 100000`
//! Scenarios: `ledger`, `panic`, `equal`, `producer-panic`, `big`.

use phalanx::Team;
use phalanx_mpi::{Cluster, DistConfig, DistError, IdleWait, Place, TaskId};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

struct Args {
    scenario: String,
    threads: usize,
    tasks: u64,
    cfg: DistConfig,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().ok_or("usage: mpi_selftest ledger|panic|equal|producer-panic|big [--threads N] [--tasks N] [--idle probe|backoff] [--in-flight N]")?;
    let mut a = Args { scenario, threads: 2, tasks: 0, cfg: DistConfig::default() };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let n = || v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--threads" => a.threads = n()? as usize,
            "--tasks" => a.tasks = n()?,
            "--in-flight" => a.cfg.in_flight_per_thread = n()? as usize,
            "--idle" => {
                a.cfg.idle = match v.as_str() {
                    "probe" => IdleWait::Probe,
                    "backoff" => IdleWait::Backoff,
                    _ => return Err(format!("--idle probe|backoff, not {v}")),
                }
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

/// A deterministic, slightly costly function of a task.
fn work(seed: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    quiet_boom_panics();
    let cluster = Cluster::init().expect("MPI init");
    let team = Team::builder().num_threads(a.threads).build().expect("team");
    // Every rank enters the run together (so each asks for work early).
    cluster.comm().expect("owner").barrier();
    let verdict = match a.scenario.as_str() {
        "ledger" => ledger(&cluster, &team, &a.cfg, if a.tasks == 0 { 100_000 } else { a.tasks }),
        "panic" => panic_on_rank(&cluster, &team, &a.cfg, if a.tasks == 0 { 2_000 } else { a.tasks }),
        "equal" => equal(&cluster, &team, &a.cfg, if a.tasks == 0 { 5_000 } else { a.tasks }),
        "producer-panic" => producer_panic(&cluster, &team, &a.cfg, if a.tasks == 0 { 1_000 } else { a.tasks }),
        "big" => big(&cluster, &team, &a.cfg, if a.tasks == 0 { 400 } else { a.tasks }),
        s => Err(format!("unknown scenario {s}")),
    };
    // Every rank learns rank 0's verdict, so all exit with the same code.
    let ok = cluster.comm().expect("owner").all_sum(if verdict.is_ok() { 0.0 } else { 1.0 }) == 0.0;
    match verdict {
        Ok(Some(line)) => println!("selftest {}: OK {line}", a.scenario),
        Ok(None) => {}
        Err(e) => eprintln!("selftest {} on rank {}: FAILED: {e}", a.scenario, cluster.rank()),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Verdict = Result<Option<String>, String>;

/// Every id in `0..n` exactly once across the three sets; counts of lost
/// and duplicated ids otherwise.
fn partition(n: u64, sets: &[&[TaskId]]) -> Result<(), String> {
    let mut seen = vec![0u32; n as usize];
    let mut foreign = 0;
    for set in sets {
        for &id in *set {
            match seen.get_mut(id as usize) {
                Some(c) => *c += 1,
                None => foreign += 1,
            }
        }
    }
    let lost = seen.iter().filter(|&&c| c == 0).count();
    let dup = seen.iter().filter(|&&c| c > 1).count();
    if lost + dup + foreign == 0 {
        Ok(())
    } else {
        Err(format!("ledger: {lost} lost, {dup} duplicated, {foreign} unknown id(s)"))
    }
}

fn ledger(cluster: &Cluster, team: &Team, cfg: &DistConfig, n: u64) -> Verdict {
    let ran = AtomicU64::new(0);
    let out = cluster.master_worker(
        team,
        cfg,
        |feed| {
            for i in 0..n {
                feed.push(i * 7).map_err(|_| ()).expect("the run does not fail");
            }
        },
        |place: Place, payload: u64| {
            // Relaxed: a count read after the run (the region's join orders it).
            ran.fetch_add(1, Ordering::Relaxed);
            (payload + 1, place.rank as u32)
        },
    );
    // Executions counted where they happened, summed over ranks: a task run
    // twice would show here even if the ledger dropped its second result.
    let executions = cluster.comm().expect("owner").all_sum(ran.load(Ordering::Relaxed) as f64) as u64;
    let Some(out) = out else { return Ok(None) };
    let done = out.map_err(|e| e.to_string())?;
    let ids: Vec<TaskId> = done.results.iter().map(|&(id, _)| id).collect();
    partition(n, &[&ids])?;
    if let Some((id, _)) = done.results.iter().find(|&&(id, (r, _))| r != id * 7 + 1) {
        return Err(format!("task {id}: wrong result"));
    }
    if executions != n {
        return Err(format!("{executions} executions for {n} tasks"));
    }
    Ok(Some(format!(
        "{n} tasks on {} rank(s) x {} thread(s): 0 lost, 0 duplicated, {executions} executions; tasks per rank {:?}; {} messages",
        cluster.size(),
        team.num_threads(),
        done.tasks_per_rank,
        done.messages
    )))
}

fn panic_on_rank(cluster: &Cluster, team: &Team, cfg: &DistConfig, n: u64) -> Verdict {
    // Rank 2 (or the last rank if fewer) fails every task it is given.
    let bad = 2.min(cluster.size() - 1);
    let out = cluster.master_worker(
        team,
        cfg,
        |feed| {
            for i in 0..n {
                if feed.push(i).is_err() {
                    break; // the run failed: stop producing
                }
            }
        },
        |place: Place, id: u64| {
            if place.rank == bad {
                panic!("boom on rank {} task {id}", place.rank);
            }
            std::thread::sleep(Duration::from_micros(500));
            id
        },
    );
    let Some(out) = out else { return Ok(None) };
    let e: DistError<u64, u64> = match out {
        Ok(d) => return Err(format!("the run succeeded ({} results) though rank {bad} panics", d.results.len())),
        Err(e) => e,
    };
    if e.failures.is_empty() || !e.internal.is_empty() || e.producer_panic.is_some() {
        return Err(format!("unexpected error: {e:?}"));
    }
    for f in &e.failures {
        let want = format!("boom on rank {bad} task {}", f.id);
        if f.rank != bad || f.message != want {
            return Err(format!("failure misreported: {f} (expected rank {bad}, message {want:?})"));
        }
    }
    // Tasks the producer never pushed (it stops at the first refusal) are
    // not in the ledger: the partition covers the ids that were pushed.
    let pushed = e.done.len() as u64 + e.failures.len() as u64 + e.unrun.len() as u64;
    let done: Vec<TaskId> = e.done.iter().map(|&(id, _)| id).collect();
    let failed: Vec<TaskId> = e.failures.iter().map(|f| f.id).collect();
    let unrun: Vec<TaskId> = e.unrun.iter().map(|&(id, _)| id).collect();
    partition(pushed, &[&done, &failed, &unrun])?;
    if let Some(&(id, r)) = e.done.iter().find(|&&(id, r)| r != id) {
        return Err(format!("task {id}: wrong result {r}"));
    }
    let distinct: BTreeSet<TaskId> = failed.iter().copied().collect();
    Ok(Some(format!(
        "reported: {e}; {} failure(s) {:?}, all on rank {bad}; {pushed} pushed = {} done + {} failed + {} unrun",
        e.failures.len(),
        distinct,
        done.len(),
        failed.len(),
        unrun.len()
    )))
}

fn equal(cluster: &Cluster, team: &Team, cfg: &DistConfig, n: u64) -> Verdict {
    let out = cluster.master_worker(
        team,
        cfg,
        |feed| {
            for i in 0..n {
                feed.push(i).map_err(|_| ()).expect("the run does not fail");
            }
        },
        |_: Place, seed: u64| work(seed),
    );
    let Some(out) = out else { return Ok(None) };
    let dist = out.map_err(|e| e.to_string())?.results;
    // The same tasks through single-process `Team::master_worker`.
    let single = Mutex::new(Vec::new());
    team.master_worker(
        |feed| {
            for i in 0..n {
                feed.push(i).expect("open");
            }
        },
        |_ctx, seed| {
            let r = work(seed);
            single.lock().unwrap().push((seed, r));
        },
    );
    let mut single = single.into_inner().unwrap();
    single.sort_unstable();
    if dist != single {
        let first = dist.iter().zip(&single).position(|(a, b)| a != b);
        return Err(format!(
            "results differ: {} vs {} results, first difference at {first:?}",
            dist.len(),
            single.len()
        ));
    }
    Ok(Some(format!("{n} results equal to single-process master_worker ({} rank(s))", cluster.size())))
}

fn producer_panic(cluster: &Cluster, team: &Team, cfg: &DistConfig, n: u64) -> Verdict {
    let out = cluster.master_worker(
        team,
        cfg,
        |feed| {
            for i in 0..n {
                feed.push(i).map_err(|_| ()).expect("open until the producer fails");
            }
            panic!("boom in the producer after {n} tasks");
        },
        |_: Place, i: u64| i + 1,
    );
    let Some(out) = out else { return Ok(None) };
    let e = match out {
        Ok(_) => return Err("the run succeeded though the producer panicked".into()),
        Err(e) => e,
    };
    let want = format!("boom in the producer after {n} tasks");
    if e.producer_panic.as_deref() != Some(want.as_str()) || !e.failures.is_empty() || !e.internal.is_empty() {
        return Err(format!("misreported: {e:?}"));
    }
    let done: Vec<TaskId> = e.done.iter().map(|&(id, _)| id).collect();
    let unrun: Vec<TaskId> = e.unrun.iter().map(|&(id, _)| id).collect();
    partition(n, &[&done, &unrun])?;
    Ok(Some(format!("reported: {e}; {n} pushed = {} done + {} unrun", done.len(), unrun.len())))
}

/// Tasks and results of 24 KiB each: messages far over OpenMPI's eager
/// limit (rendezvous protocol) in both directions.
fn big(cluster: &Cluster, team: &Team, cfg: &DistConfig, n: u64) -> Verdict {
    const LEN: usize = 24 * 1024;
    let task = |i: u64| -> Vec<u8> { (0..LEN).map(|j| (i as usize * 31 + j) as u8).collect() };
    let out = cluster.master_worker(
        team,
        cfg,
        |feed| {
            for i in 0..n {
                feed.push((i, task(i))).map_err(|_| ()).expect("the run does not fail");
            }
        },
        |_: Place, (i, bytes): (u64, Vec<u8>)| -> (u64, Vec<u8>) {
            (i, bytes.iter().rev().map(|b| b ^ 0x5a).collect())
        },
    );
    let Some(out) = out else { return Ok(None) };
    let done = out.map_err(|e| e.to_string())?;
    let ids: Vec<TaskId> = done.results.iter().map(|&(id, _)| id).collect();
    partition(n, &[&ids])?;
    for (id, (i, r)) in &done.results {
        let want: Vec<u8> = task(*i).iter().rev().map(|b| b ^ 0x5a).collect();
        if *id != *i || *r != want {
            return Err(format!("task {id}: wrong result"));
        }
    }
    Ok(Some(format!("{n} tasks of {LEN} bytes each way, all results correct; {} messages", done.messages)))
}

/// The panics this program raises on purpose start with "boom": print one
/// line for each instead of the default report (and backtrace).
fn quiet_boom_panics() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if msg.starts_with("boom") {
            eprintln!("(expected panic: {msg})");
        } else {
            prev(info);
        }
    }));
}
