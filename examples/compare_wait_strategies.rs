//! Compare phalanx's wait policies (and `std` baselines) on three questions:
//!
//! 1. **Barrier crossing**: µs per crossing of `phalanx::Barrier` at 2, 4, 8
//!    threads, median of timed batches on a persistent set of threads.
//! 2. **Release latency**: a master works alone (200 µs–2 ms, varied), then
//!    opens a `phalanx::Gate`; how long until the waiter runs (median, p99).
//! 3. **Idle CPU**: ms of CPU a thread burns per second of waiting on a
//!    closed gate.
//!
//! Then a "checks" section compares this run's numbers with the design's
//! targets. A MISS is a measurement, not a failure: the exit code is non-zero
//! only on a bad flag (2) or a primitive that reported an error (1).
//!
//! ```text
//! cargo run --release --example compare_wait_strategies -- --help
//! ```

mod common;

use common::{fmt_value, median, parse_millis, parse_usize_list, percentile, rows_to_json, FlagError, Row};
use phalanx::sync::Gate;
use phalanx::{Barrier, WaitPolicy};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[path = "compare_wait_strategies/measure.rs"]
mod measure;

const USAGE: &str = "\
compare_wait_strategies: barrier crossing time, release latency and idle CPU per wait policy

USAGE:
    cargo run --release --example compare_wait_strategies -- [FLAGS]

FLAGS:
    --threads LIST       barrier team sizes, comma-separated, each 2..=256   [default: 2,4,8]
    --policies LIST      any of spin,spin-yield,block,hybrid,adaptive,sleep-poll,std
                         (std = std::sync baselines)                          [default: all]
    --duration-ms MS     time budget of each barrier and release measurement  [default: 300]
    --cpu-wait-ms MS     how long the idle-CPU waiter waits, per policy       [default: 1000]
    --json               print only a JSON array of rows
                         {primitive, policy, threads, metric, value, unit} on stdout
    -h, --help           print this help

Progress goes to stderr. Exit codes: 0 ok (MISS lines included), 1 a primitive
returned an error, 2 a bad flag.";

/// One contender: a phalanx policy or the std baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Contender {
    Phalanx(WaitPolicy),
    Std,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Phalanx(p) => p.name(),
            Contender::Std => "std",
        }
    }
}

#[derive(Debug)]
struct Args {
    threads: Vec<usize>,
    contenders: Vec<Contender>,
    budget: Duration,
    cpu_wait: Duration,
    json: bool,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Parsed, FlagError> {
    let mut args = Args {
        threads: vec![2, 4, 8],
        contenders: WaitPolicy::all().into_iter().map(Contender::Phalanx).chain([Contender::Std]).collect(),
        budget: Duration::from_millis(300),
        cpu_wait: Duration::from_millis(1000),
        json: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |it: &mut dyn Iterator<Item = String>| {
            inline.clone().or_else(|| it.next()).ok_or_else(|| FlagError::new(&flag, "", "missing value"))
        };
        match flag.as_str() {
            "-h" | "--help" | "--json" if inline.is_some() => {
                return Err(FlagError::new(&flag, inline.as_deref().unwrap_or(""), "takes no value"))
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => args.json = true,
            "--threads" => args.threads = parse_usize_list(&flag, &value(&mut it)?, 2, 256)?,
            "--duration-ms" => args.budget = parse_millis(&flag, &value(&mut it)?, 600_000)?,
            "--cpu-wait-ms" => args.cpu_wait = parse_millis(&flag, &value(&mut it)?, 600_000)?,
            "--policies" => {
                let v = value(&mut it)?;
                args.contenders = Vec::new();
                for name in v.split(',').map(str::trim) {
                    let c = if name == "std" {
                        Contender::Std
                    } else {
                        let p = WaitPolicy::all().into_iter().find(|p| p.name() == name).ok_or_else(|| {
                            FlagError::new(&flag, &v, format!("unknown policy {name:?} (known: {})", known_policies()))
                        })?;
                        Contender::Phalanx(p)
                    };
                    if !args.contenders.contains(&c) {
                        args.contenders.push(c);
                    }
                }
            }
            _ => return Err(FlagError::new("flag", &arg, "unknown flag (see --help)")),
        }
    }
    Ok(Parsed::Run(args))
}

fn known_policies() -> String {
    let mut names: Vec<&str> = WaitPolicy::all().iter().map(|p| p.name()).collect();
    names.push("std");
    names.join(", ")
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: a primitive failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// Everything one run measured.
#[derive(Default)]
struct Results {
    rows: Vec<Row>,
    /// Barrier measurements that had to be cut short, for the notes.
    notes: Vec<String>,
}

impl Results {
    fn get(&self, primitive: &str, policy: &str, threads: usize, metric: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.primitive == primitive && r.policy == policy && r.threads == threads && r.metric == metric)
            .map(|r| r.value)
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let mut res = Results::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "compare_wait_strategies: {cores} CPUs, budget {} ms per measurement, idle-CPU wait {} ms",
        args.budget.as_millis(),
        args.cpu_wait.as_millis()
    );

    for &c in &args.contenders {
        for &n in &args.threads {
            eprintln!("  barrier  {:<10} {n} threads ...", c.name());
            let m = match c {
                Contender::Phalanx(p) => {
                    let b = Barrier::builder(n).wait_policy(p).build().map_err(|e| e.to_string())?;
                    measure::barrier(n, args.budget, || b.wait().map(drop).map_err(|e| e.to_string()))?
                }
                Contender::Std => {
                    let b = std::sync::Barrier::new(n);
                    measure::barrier(n, args.budget, || {
                        b.wait();
                        Ok(())
                    })?
                }
            };
            if m.crossings < 100 {
                res.notes.push(format!(
                    "barrier {}@{n}: only {} crossings ({} batches) fit the {} ms budget (took {:.0} ms)",
                    c.name(),
                    m.crossings,
                    m.batches,
                    args.budget.as_millis(),
                    m.elapsed.as_secs_f64() * 1e3
                ));
            }
            res.rows.push(Row::new("barrier", c.name(), n, "crossing_time", m.us_per_crossing, "us"));
            res.rows.push(Row::new("barrier", c.name(), n, "crossings_timed", m.crossings as f64, "count"));
        }
    }

    for &c in &args.contenders {
        eprintln!("  release  {:<10} ...", c.name());
        let lat = match c {
            Contender::Phalanx(p) => measure::release(&Gate::with_policy(p), args.budget)?,
            Contender::Std => measure::release(&measure::StdGate::default(), args.budget)?,
        };
        res.rows.push(Row::new("gate", c.name(), 2, "release_median", median(&lat), "us"));
        res.rows.push(Row::new("gate", c.name(), 2, "release_p99", percentile(&lat, 99.0), "us"));
        res.rows.push(Row::new("gate", c.name(), 2, "release_rounds", lat.len() as f64, "count"));
    }

    for &c in &args.contenders {
        eprintln!("  idle CPU {:<10} {} ms ...", c.name(), args.cpu_wait.as_millis());
        let ms_per_s = match c {
            Contender::Phalanx(p) => measure::idle_cpu(&Gate::with_policy(p), args.cpu_wait)?,
            Contender::Std => measure::idle_cpu(&measure::StdGate::default(), args.cpu_wait)?,
        };
        res.rows.push(Row::new("gate", c.name(), 2, "cpu_per_wait_s", ms_per_s, "ms/s"));
    }

    let checks = checks(&res);
    if args.json {
        println!("{}", rows_to_json(&res.rows));
        for line in &checks {
            eprintln!("{line}");
        }
    } else {
        print_tables(args, &res, cores);
        println!("\nchecks (from this run's numbers; a MISS is reported, not fatal)");
        for line in &checks {
            println!("  {line}");
        }
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_tables(args: &Args, res: &Results, cores: usize) {
    println!(
        "phalanx wait-strategy comparison: {cores} CPUs, {} build",
        if cfg!(debug_assertions) { "DEBUG (numbers meaningless)" } else { "release" }
    );

    println!("\nBarrier crossing, us per crossing (median of timed batches; threads spawned once per cell)");
    let mut head = format!("  {:<12}", "policy");
    for n in &args.threads {
        head.push_str(&format!("{:>12}", format!("{n} threads")));
    }
    println!("{head}");
    for c in &args.contenders {
        let mut line = format!("  {:<12}", c.name());
        for &n in &args.threads {
            let v = res.get("barrier", c.name(), n, "crossing_time").unwrap_or(f64::NAN);
            let few = res.get("barrier", c.name(), n, "crossings_timed").is_some_and(|k| k < 100.0);
            line.push_str(&format!("{:>12}", format!("{}{}", fmt_value(v), if few { "*" } else { "" })));
        }
        println!("{line}");
    }
    for note in &res.notes {
        println!("  * {note}");
    }

    println!(
        "\nGate release latency, us from open() to the waiter running (master busy 200 us-2 ms per round, \
         budget {} ms)",
        args.budget.as_millis()
    );
    println!("  {:<12}{:>12}{:>12}{:>12}", "policy", "median", "p99", "rounds");
    for c in &args.contenders {
        let g = |m| res.get("gate", c.name(), 2, m).unwrap_or(f64::NAN);
        println!(
            "  {:<12}{:>12}{:>12}{:>12}",
            c.name(),
            fmt_value(g("release_median")),
            fmt_value(g("release_p99")),
            g("release_rounds")
        );
    }

    println!(
        "\nCPU burned while waiting, ms of CPU per s of waiting (one waiter on a closed gate for {} ms, \
         policies one after another)",
        args.cpu_wait.as_millis()
    );
    println!("  {:<12}{:>12}", "policy", "ms/s");
    for c in &args.contenders {
        println!(
            "  {:<12}{:>12}",
            c.name(),
            fmt_value(res.get("gate", c.name(), 2, "cpu_per_wait_s").unwrap_or(f64::NAN))
        );
    }
}

/// One target from the design: `PASS`/`MISS` with the numbers, or `SKIP`
/// when this run did not measure what it needs.
fn check(label: &str, value: Option<f64>, op: &str, target: f64, detail: String) -> String {
    match value {
        Some(v) if v.is_finite() => {
            let ok = if op == "<=" { v <= target } else { v >= target };
            format!("{} {label} = {} (target {op} {target}; {detail})", if ok { "PASS" } else { "MISS" }, fmt_value(v))
        }
        _ => format!("SKIP {label}: not measured in this run ({detail})"),
    }
}

fn checks(res: &Results) -> Vec<String> {
    let bar = |p: &str, n| res.get("barrier", p, n, "crossing_time");
    let rel = |p: &str| res.get("gate", p, 2, "release_median");
    let cpu = |p: &str| res.get("gate", p, 2, "cpu_per_wait_s");
    let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
    let us = |v: Option<f64>| v.map_or("-".into(), |v| format!("{} us", fmt_value(v)));
    vec![
        check(
            "hybrid barrier@2 / spin barrier@2",
            ratio(bar("hybrid", 2), bar("spin", 2)),
            "<=",
            1.5,
            format!("{} / {}", us(bar("hybrid", 2)), us(bar("spin", 2))),
        ),
        check("hybrid barrier@8 (us)", bar("hybrid", 8), "<=", 10.0, us(bar("hybrid", 8))),
        check(
            "hybrid barrier@8 / std barrier@8",
            ratio(bar("hybrid", 8), bar("std", 8)),
            "<=",
            0.25,
            format!("{} / {}", us(bar("hybrid", 8)), us(bar("std", 8))),
        ),
        check(
            "block barrier@2 / std barrier@2",
            ratio(bar("block", 2), bar("std", 2)),
            "<=",
            1.2,
            format!("{} / {}", us(bar("block", 2)), us(bar("std", 2))),
        ),
        check(
            "sleep-poll release median / hybrid release median",
            ratio(rel("sleep-poll"), rel("hybrid")),
            ">=",
            100.0,
            format!("{} / {}", us(rel("sleep-poll")), us(rel("hybrid"))),
        ),
        check("hybrid idle CPU (ms/s)", cpu("hybrid"), "<=", 5.0, "ms of CPU per s of waiting".into()),
        check("block idle CPU (ms/s)", cpu("block"), "<=", 5.0, "ms of CPU per s of waiting".into()),
    ]
}
