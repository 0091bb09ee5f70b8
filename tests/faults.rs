//! Seeded random fault trials: phalanx must never hang and never lose a task.
//!
//! Each trial draws, from its own seed, a fault site (`fault_kit/sites.rs`:
//! a panic at a barrier episode, a loop iteration under any schedule, a
//! `single` or `critical` body, a reduce fold or combine, a TaskQueue task or
//! producer, an explicit task's body, a `try_master_worker` producer or
//! worker, a thread leaving early while others wait, a panic in an ordered
//! loop's body or in a cancelled loop), a team size from
//! [`TEAM_SIZES`], a [`BarrierKind`] and a [`WaitPolicy`]. It runs on a
//! helper thread under a time limit (a hang aborts the process with the seed
//! and parameters) and checks:
//!
//! * the region fails with the right error and thread (`Panicked` by the
//!   thread that fired, `Diverged` naming the thread that left and the line
//!   where the others waited);
//! * no item or iteration was lost or run twice;
//! * the next clean region on the same team succeeds with every thread.
//!
//! Knobs: `PHALANX_FAULT_TRIALS` (default [`DEFAULT_TRIALS`]),
//! `PHALANX_FAULT_SEED` (replay one trial: the seed a failure printed).
//! With `--nocapture` it prints `faults: trials=N ok=N hangs=0 lost=0 duplicated=0`.

mod fault_kit;
#[path = "fault_kit/sites.rs"]
mod sites;

use fault_kit::{bounded, clock_seed, derive_seed, env_u64, quiet_injected_panics, SplitMix64, Tally, BOOM};
use phalanx::config::Config;
use phalanx::{BarrierKind, RegionError, Schedule, Team, WaitPolicy};
use sites::{Expect, Plan, Site, SITES};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Team sizes drawn from (2 cores here: 3, 4 and 8 oversubscribe).
const TEAM_SIZES: [usize; 5] = [1, 2, 3, 4, 8];
/// Trials per run unless `PHALANX_FAULT_TRIALS` says otherwise.
const DEFAULT_TRIALS: u64 = 1000;
/// A trial takes milliseconds; this much means it hangs.
const TRIAL_LIMIT: Duration = Duration::from_secs(30);
/// `SleepPoll`'s interval in trials: short, so its trials stay fast.
const SLEEP_POLL: Duration = Duration::from_micros(50);

/// Policies with draw weights: `SleepPoll` is drawn less often (slow by
/// design), `Spin` a little less (oversubscribed it crawls).
fn policies() -> [(WaitPolicy, u64); 6] {
    [
        (WaitPolicy::Spin, 2),
        (WaitPolicy::SpinYield, 3),
        (WaitPolicy::Block, 3),
        (WaitPolicy::default(), 3),
        (WaitPolicy::Adaptive, 3),
        (WaitPolicy::SleepPoll { interval: SLEEP_POLL }, 1),
    ]
}

/// One trial's parameters, all drawn from its seed.
struct Trial {
    seed: u64,
    site: &'static Site,
    n: usize,
    kind: BarrierKind,
    policy: WaitPolicy,
}

impl Trial {
    /// The trial of `seed`, and the generator the site goes on drawing from.
    fn draw(seed: u64) -> (Trial, SplitMix64) {
        let mut rng = SplitMix64::new(seed);
        let site = rng.pick(SITES);
        let sizes: Vec<usize> = TEAM_SIZES.into_iter().filter(|&n| n >= site.min_threads).collect();
        let n = *rng.pick(&sizes);
        let kind = *rng.pick(&BarrierKind::ALL);
        let all = policies();
        let mut ticket = rng.below(all.iter().map(|p| p.1).sum());
        let policy = all
            .into_iter()
            .find(|&(_, w)| {
                let hit = ticket < w;
                ticket = ticket.saturating_sub(w);
                hit
            })
            .map(|p| p.0)
            .expect("a ticket below the total weight hits a policy");
        (Trial { seed, site, n, kind, policy }, rng)
    }

    fn describe(&self) -> String {
        format!(
            "trial seed={:#x} site={} threads={} barrier={} policy={}",
            self.seed, self.site.name, self.n, self.kind, self.policy
        )
    }
}

/// The outcome of one trial.
struct Verdict {
    site: &'static str,
    /// `Err(why)` when a check failed.
    check: Result<(), String>,
    tally: Tally,
}

/// Does the region's error match the expectation?
fn check_error(result: &Result<(), RegionError>, expect: &Expect, n: usize) -> Result<(), String> {
    match (result, expect) {
        (_, Expect::Panicked(None)) => Err("the injected fault never fired".into()),
        (Err(RegionError::Panicked { thread, message, .. }), Expect::Panicked(Some(t))) => {
            if thread != t || !message.starts_with(BOOM) {
                return Err(format!("expected a panic of thread {t}, got thread {thread}: {message:?}"));
            }
            Ok(())
        }
        (Err(RegionError::Diverged { left, waiting, waiting_at }), Expect::Diverged { left: l, line }) => {
            let right_place = waiting_at.file().ends_with("sites.rs") && waiting_at.line() == *line;
            if left != l || waiting == left || *waiting >= n || !right_place {
                return Err(format!(
                    "expected thread {l} to have left while others wait at sites.rs:{line}, \
                     got {}",
                    result.as_ref().unwrap_err()
                ));
            }
            Ok(())
        }
        (other, e) => Err(format!("expected {e:?}, got {other:?}")),
    }
}

/// A clean region right after the failed one: every thread takes part, a
/// barrier, a loop, `critical`, `single` and `reduce` all work.
fn clean_region(team: &Team) -> Result<(), String> {
    let n = team.num_threads();
    let seen: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let hits: Vec<AtomicU8> = (0..8 * n).map(|_| AtomicU8::new(0)).collect();
    let r = team.try_parallel(|ctx| {
        // Relaxed: counters read after the join.
        seen[ctx.thread_num()].fetch_add(1, Ordering::Relaxed);
        ctx.barrier();
        ctx.for_each(0..8 * n, Schedule::Dynamic(1), |i| {
            // Relaxed: as above.
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        ctx.critical(|| ());
        assert_eq!(ctx.single(|| 7u32), 7);
        assert_eq!(ctx.reduce(0..n, Schedule::Static, 0, |a, i| a + i, |a, b| a + b), n * (n - 1) / 2);
        ctx.barrier();
    });
    if let Err(e) = r {
        return Err(format!("the clean region after the fault failed: {e}"));
    }
    // Relaxed: the region joined.
    let missing = seen.iter().filter(|s| s.load(Ordering::Relaxed) != 1).count();
    let wrong = hits.iter().filter(|h| h.load(Ordering::Relaxed) != 1).count();
    if missing + wrong > 0 {
        return Err(format!("clean region: {missing} threads did not run once, {wrong} iterations not run once"));
    }
    Ok(())
}

/// Build the team, run the site, check, run a clean region, drop the team.
fn run_trial(seed: u64, note: &Mutex<String>) -> Verdict {
    let (trial, mut rng) = Trial::draw(seed);
    let team = Team::builder()
        .num_threads(trial.n)
        .wait_policy(trial.policy)
        .barrier(trial.kind)
        .env_config(Config::default())
        .build()
        .expect("build the trial's team");
    let run = (trial.site.run)(&mut Plan { team: &team, rng: &mut rng, note });
    let check = check_error(&run.result, &run.expect, trial.n).and_then(|()| clean_region(&team));
    drop(team);
    Verdict { site: trial.site.name, check, tally: run.tally }
}

#[derive(Default)]
struct Summary {
    trials: u64,
    ok: u64,
    lost: usize,
    duplicated: usize,
    items: usize,
    per_site: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
}

#[test]
fn random_fault_trials() {
    quiet_injected_panics();
    let replay = env_u64("PHALANX_FAULT_SEED");
    let base = clock_seed();
    let trials = if replay.is_some() { 1 } else { env_u64("PHALANX_FAULT_TRIALS").unwrap_or(DEFAULT_TRIALS) };
    let seeds: Box<dyn Iterator<Item = u64>> = match replay {
        Some(s) => Box::new(std::iter::once(s)),
        None => Box::new((0..trials).map(|i| derive_seed(base, i))),
    };
    let start = Instant::now();
    let mut sum = Summary::default();
    for seed in seeds {
        let note = Arc::new(Mutex::new(String::new()));
        let what = {
            let note = Arc::clone(&note);
            move || format!("{} [{}]", Trial::draw(seed).0.describe(), note.lock().unwrap_or_else(|e| e.into_inner()))
        };
        let trial_note = Arc::clone(&note);
        let v = match bounded(TRIAL_LIMIT, &what, move || run_trial(seed, &trial_note)) {
            Ok(v) => v,
            Err(payload) => {
                let msg = payload.downcast_ref::<String>().cloned().unwrap_or_else(|| "(non-string panic)".into());
                Verdict { site: Trial::draw(seed).0.site.name, check: Err(msg), tally: Tally::default() }
            }
        };
        sum.trials += 1;
        *sum.per_site.entry(v.site).or_default() += 1;
        sum.lost += v.tally.lost;
        sum.duplicated += v.tally.duplicated;
        sum.items += v.tally.offered;
        let ledger_ok = v.tally.lost == 0 && v.tally.duplicated == 0;
        match v.check {
            Ok(()) if ledger_ok => sum.ok += 1,
            Ok(()) => sum.failures.push(format!("{}: ledger {:?}", what(), v.tally)),
            Err(why) => sum.failures.push(format!("{}: {why}", what())),
        }
        if replay.is_some() {
            println!("replayed {}", what());
        }
    }
    println!(
        "faults: trials={} ok={} wrong={} hangs=0 items={} lost={} duplicated={} base_seed={base:#x} time={:.1}s",
        sum.trials,
        sum.ok,
        sum.failures.len(),
        sum.items,
        sum.lost,
        sum.duplicated,
        start.elapsed().as_secs_f64()
    );
    println!("faults per site: {:?}", sum.per_site);
    assert!(
        sum.failures.is_empty(),
        "{} of {} fault trials failed (replay one with PHALANX_FAULT_SEED=<seed>):\n{}",
        sum.failures.len(),
        sum.trials,
        sum.failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}
