//! Command-line flags (hand-rolled: the example adds no dependencies).

use phalanx::WaitPolicy;
use phalanx_omp_baseline::{Construct, ScheduleKind};
use std::time::Duration;

/// What the user asked for `OMP_WAIT_POLICY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OmpPolicyChoice {
    /// No flag: libgomp runs in this process with the environment it started with.
    Inherit,
    /// `default`: the variable unset (libgomp's own default).
    Default,
    Active,
    Passive,
}

#[derive(Clone, Debug)]
pub struct Args {
    pub threads: usize,
    pub outer_reps: usize,
    pub test_time: Duration,
    pub delay_us: f64,
    /// Fixed delay length (skips calibration; the child gets the parent's).
    pub delay_len: Option<u32>,
    pub constructs: Vec<Construct>,
    pub policy: WaitPolicy,
    pub omp_policy: OmpPolicyChoice,
    pub json: bool,
    pub markdown: bool,
    pub quick: bool,
    /// Also write the JSON rows into this file (the benchmark script reads it).
    pub json_out: Option<std::path::PathBuf>,
    /// Internal: run only the libgomp side and print machine-readable rows.
    pub omp_child: bool,
}

pub const USAGE: &str = "usage: epcc [--threads N] [--outer-reps N] [--test-time-us US] [--delay-us US] \
[--constructs a,b,c] [--policy spin|spin-yield|block|hybrid|adaptive|sleep-poll] [--spin-us US (hybrid)] \
[--omp-wait-policy active|passive|default] [--json | --markdown] [--json-out FILE] [--quick]";

/// Every construct, in EPCC's order: syncbench, taskbench, schedbench
/// (static without a chunk, then each kind with chunks 1..=128).
pub fn all_constructs() -> Vec<Construct> {
    // `Construct::ALL` without its three schedule samples: syncbench, then
    // taskbench; then the schedule sweep.
    let mut v: Vec<Construct> =
        Construct::ALL.iter().copied().filter(|c| !matches!(c, Construct::Schedule { .. })).collect();
    v.push(Construct::Schedule { kind: ScheduleKind::Static, chunk: 0 });
    for kind in [ScheduleKind::Static, ScheduleKind::Dynamic, ScheduleKind::Guided] {
        for chunk in [1, 2, 4, 8, 16, 32, 64, 128] {
            v.push(Construct::Schedule { kind, chunk });
        }
    }
    v
}

/// Lower case, letters and digits only: `PARALLEL FOR` → `parallelfor`,
/// `LOCK/UNLOCK` → `lockunlock`, `DYNAMIC_4` → `dynamic4`.
fn normalize(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// A `--constructs` item selects a construct by its table name
/// (`DYNAMIC_4`, `parallel-for`, ...), or every schedule row of a kind
/// (`dynamic`), or `lock` for `LOCK/UNLOCK`.
fn select(item: &str, all: &[Construct]) -> Vec<Construct> {
    let key = normalize(item);
    let key = if key == "lock" { "lockunlock".to_string() } else { key };
    all.iter().copied().filter(|c| normalize(&c.to_string()) == key || normalize(c.name()) == key).collect()
}

fn bad(flag: &str, value: &str, expected: &str) -> String {
    format!("invalid {flag} = {value:?}: {expected}")
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(flag: &str, v: &str) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(x) if x > T::default() => Ok(x),
        _ => Err(bad(flag, v, "expected a positive number")),
    }
}

impl Args {
    pub fn parse(raw: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut a = Args {
            threads: 2,
            outer_reps: 20,
            test_time: Duration::from_micros(1000),
            delay_us: 0.1,
            delay_len: None,
            constructs: all_constructs(),
            policy: WaitPolicy::default(),
            omp_policy: OmpPolicyChoice::Inherit,
            json: false,
            markdown: false,
            quick: false,
            json_out: None,
            omp_child: false,
        };
        let (mut outer, mut test_us, mut spin) = (None, None, None);
        let mut it = raw.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--threads" => a.threads = positive("--threads", &value()?)?,
                "--outer-reps" => outer = Some(positive("--outer-reps", &value()?)?),
                "--test-time-us" => {
                    let v = value()?;
                    let us: f64 = positive("--test-time-us", &v)?;
                    if !us.is_finite() {
                        return Err(bad("--test-time-us", &v, "expected a finite number of microseconds"));
                    }
                    test_us = Some(us);
                }
                "--delay-us" => {
                    let v = value()?;
                    a.delay_us = match v.parse::<f64>() {
                        Ok(x) if x.is_finite() && x >= 0.0 => x,
                        _ => return Err(bad("--delay-us", &v, "expected a number of microseconds >= 0")),
                    };
                }
                "--delay-len" => {
                    let v = value()?;
                    let len = v.parse::<u32>().map_err(|_| bad("--delay-len", &v, "expected a whole number"))?;
                    a.delay_len = Some(len);
                }
                "--constructs" => {
                    let v = value()?;
                    let all = all_constructs();
                    let mut chosen: Vec<Construct> = Vec::new();
                    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let found = select(item, &all);
                        if found.is_empty() {
                            return Err(bad(
                                "--constructs",
                                item,
                                "no such construct (e.g. parallel, for, parallel-for, barrier, single, critical, \
                                 lock, atomic, reduction, master-task, parallel-task, task-wait, static, static_4, \
                                 dynamic_1, guided)",
                            ));
                        }
                        chosen.extend(found);
                    }
                    if chosen.is_empty() {
                        return Err(bad("--constructs", &v, "expected a comma-separated list of constructs"));
                    }
                    // Keep the table in EPCC's order whatever the list's order.
                    a.constructs = all.into_iter().filter(|c| chosen.contains(c)).collect();
                }
                "--policy" => {
                    let v = value()?;
                    let lower = v.trim().to_ascii_lowercase();
                    a.policy = WaitPolicy::all().into_iter().find(|p| p.name() == lower).ok_or_else(|| {
                        bad("--policy", &v, "expected spin, spin-yield, block, hybrid, adaptive or sleep-poll")
                    })?;
                }
                "--spin-us" => {
                    let v = value()?;
                    let us = v.parse::<u64>().map_err(|_| bad("--spin-us", &v, "expected whole microseconds"))?;
                    spin = Some(Duration::from_micros(us));
                }
                "--omp-wait-policy" => {
                    let v = value()?;
                    a.omp_policy = match v.trim().to_ascii_lowercase().as_str() {
                        "active" => OmpPolicyChoice::Active,
                        "passive" => OmpPolicyChoice::Passive,
                        "default" => OmpPolicyChoice::Default,
                        _ => return Err(bad("--omp-wait-policy", &v, "expected active, passive or default")),
                    };
                }
                "--json" => a.json = true,
                "--markdown" => a.markdown = true,
                "--quick" => a.quick = true,
                "--json-out" => {
                    let v = value()?;
                    if v.is_empty() {
                        return Err(bad("--json-out", &v, "expected a file name"));
                    }
                    a.json_out = Some(v.into());
                }
                "--omp-child" => a.omp_child = true,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        if a.json && a.markdown {
            return Err("--json and --markdown exclude each other: give one".to_string());
        }
        if let Some(spin) = spin {
            match a.policy {
                WaitPolicy::Hybrid { .. } => a.policy = WaitPolicy::Hybrid { spin },
                other => return Err(format!("--spin-us applies to --policy hybrid only, not to {other}")),
            }
        }
        let (quick_outer, quick_us) = if a.quick { (5, 200.0) } else { (20, 1000.0) };
        a.outer_reps = outer.unwrap_or(quick_outer);
        a.test_time = Duration::from_secs_f64(test_us.unwrap_or(quick_us) * 1e-6);
        Ok(a)
    }
}
