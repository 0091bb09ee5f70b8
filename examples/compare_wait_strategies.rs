//! Compare phalanx's wait policies (and `std` and C OpenMP baselines) on
//! three questions:
//!
//! 1. **Barrier crossing**: µs per crossing of `phalanx::Barrier` at 2, 4, 8
//!    threads, median of timed batches on a persistent set of threads; beside
//!    it `std::sync::Barrier`, and libgomp's and LLVM libomp's barrier with
//!    `OMP_WAIT_POLICY=active` / `passive` (each in a child process, see
//!    `compare_wait_strategies/omp.rs`; libomp rows are skipped with one line
//!    when libomp is not installed).
//! 2. **Release latency**: a master works alone, then opens a
//!    `phalanx::Gate`; how long until the waiter runs (median, p99). Two
//!    regimes: a short gap (5-40 µs, inside `DEFAULT_HYBRID_SPIN`, so hybrid
//!    still spins) and a long gap (200 µs-2 ms, past it, so hybrid and
//!    adaptive have blocked and are woken by a futex wake).
//! 3. **Idle CPU**: ms of CPU a thread burns per second of waiting on a
//!    closed gate.
//!
//! Then a "checks" section compares this run's numbers with the design's
//! targets. A MISS is a measurement, not a failure: the exit code is non-zero
//! only on a bad flag (2) or a primitive that reported an error (1). The run
//! also writes `summary.md`, `rows.json` and two SVG plots into `--out`.
//!
//! ```text
//! cargo run --release --example compare_wait_strategies -- --help
//! ```

mod common;

use common::{median, parse_millis, parse_usize_list, percentile, rows_to_json, FlagError, Row};
use measure::Gap;
use phalanx::sync::Gate;
use phalanx::{Barrier, WaitPolicy};
use phalanx_omp_baseline::OmpWaitPolicy;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[path = "compare_wait_strategies/measure.rs"]
mod measure;
#[path = "compare_wait_strategies/omp.rs"]
mod omp;
#[path = "compare_wait_strategies/plot.rs"]
mod plot;
#[path = "compare_wait_strategies/report.rs"]
mod report;

const USAGE: &str = "\
compare_wait_strategies: barrier crossing time, release latency and idle CPU per wait policy

USAGE:
    cargo run --release --example compare_wait_strategies -- [FLAGS]

FLAGS:
    --threads LIST       barrier team sizes, comma-separated, each 2..=256   [default: 2,4,8]
    --policies LIST      any of spin,spin-yield,block,hybrid,adaptive,sleep-poll,std,
                         omp-active,omp-passive,libomp-active,libomp-passive (std =
                         std::sync baselines; omp-* = libgomp's barrier, libomp-* = the
                         same kernel on LLVM libomp; barrier table only)    [default: all]
    --duration-ms MS     time budget of each barrier and release measurement  [default: 300]
    --cpu-wait-ms MS     how long the idle-CPU waiter waits, per policy       [default: 1000]
    --out DIR            write summary.md, rows.json, barrier_crossing.svg and
                         latency_vs_cpu.svg there     [default: target/compare_wait_strategies]
    --json               print only a JSON array of rows
                         {primitive, policy, threads, metric, value, unit} on stdout
    --markdown           print the summary as markdown (as in summary.md) on stdout
    -h, --help           print this help

Progress goes to stderr. Exit codes: 0 ok (MISS lines included), 1 a primitive
returned an error, 2 a bad flag.";

/// One contender: a phalanx policy, the std baseline or a libgomp policy.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Contender {
    Phalanx(WaitPolicy),
    Std,
    /// A C runtime's barrier under `OMP_WAIT_POLICY`; barrier table only.
    Omp(omp::Runtime, OmpWaitPolicy),
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Phalanx(p) => p.name(),
            Contender::Std => "std",
            Contender::Omp(r, p) => omp::row_name(r, p),
        }
    }

    /// Every contender, in table order.
    fn all() -> Vec<Contender> {
        let omp = [omp::Runtime::Gomp, omp::Runtime::Llvm]
            .into_iter()
            .flat_map(|r| [OmpWaitPolicy::Active, OmpWaitPolicy::Passive].map(|p| Contender::Omp(r, p)));
        WaitPolicy::all().into_iter().map(Contender::Phalanx).chain([Contender::Std]).chain(omp).collect()
    }

    /// Whether it takes part in the gate measurements (release, idle CPU).
    fn has_gate(self) -> bool {
        !matches!(self, Contender::Omp(..))
    }
}

#[derive(Debug)]
struct Args {
    threads: Vec<usize>,
    contenders: Vec<Contender>,
    budget: Duration,
    cpu_wait: Duration,
    out: PathBuf,
    json: bool,
    markdown: bool,
    /// Hidden: run as the OpenMP child of another run (see `omp.rs`).
    omp_child: Option<OmpWaitPolicy>,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Parsed, FlagError> {
    let mut args = Args {
        threads: vec![2, 4, 8],
        contenders: Contender::all(),
        budget: Duration::from_millis(300),
        cpu_wait: Duration::from_millis(1000),
        out: PathBuf::from("target/compare_wait_strategies"),
        json: false,
        markdown: false,
        omp_child: None,
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
            "-h" | "--help" | "--json" | "--markdown" if inline.is_some() => {
                return Err(FlagError::new(&flag, inline.as_deref().unwrap_or(""), "takes no value"))
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => args.json = true,
            "--markdown" => args.markdown = true,
            "--threads" => args.threads = parse_usize_list(&flag, &value(&mut it)?, 2, 256)?,
            "--duration-ms" => args.budget = parse_millis(&flag, &value(&mut it)?, 600_000)?,
            "--cpu-wait-ms" => args.cpu_wait = parse_millis(&flag, &value(&mut it)?, 600_000)?,
            "--out" => {
                let v = value(&mut it)?;
                if v.is_empty() {
                    return Err(FlagError::new(&flag, &v, "expected a folder"));
                }
                args.out = PathBuf::from(v);
            }
            omp::CHILD_FLAG => {
                let v = value(&mut it)?;
                let p = omp::parse_policy(&v).ok_or_else(|| FlagError::new(&flag, &v, "expected active or passive"))?;
                args.omp_child = Some(p);
            }
            "--policies" => {
                let v = value(&mut it)?;
                args.contenders = Vec::new();
                for name in v.split(',').map(str::trim) {
                    let c = Contender::all().into_iter().find(|c| c.name() == name).ok_or_else(|| {
                        FlagError::new(&flag, &v, format!("unknown policy {name:?} (known: {})", known_policies()))
                    })?;
                    if !args.contenders.contains(&c) {
                        args.contenders.push(c);
                    }
                }
            }
            _ => return Err(FlagError::new("flag", &arg, "unknown flag (see --help)")),
        }
    }
    if args.json && args.markdown {
        return Err(FlagError::new("--markdown", "", "cannot be combined with --json (both print on stdout)"));
    }
    Ok(Parsed::Run(args))
}

fn known_policies() -> String {
    Contender::all().iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
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
    let result = match args.omp_child {
        Some(p) => omp::child_main(p, &args.threads, args.budget),
        None => run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: a primitive failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// Everything one run measured.
#[derive(Default)]
pub struct Results {
    pub rows: Vec<Row>,
    /// Barrier measurements that had to be cut short, and skipped rows, for the notes.
    pub notes: Vec<String>,
}

impl Results {
    pub fn get(&self, primitive: &str, policy: &str, threads: usize, metric: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.primitive == primitive && r.policy == policy && r.threads == threads && r.metric == metric)
            .map(|r| r.value)
    }
}

/// The progress line on stderr: `[3/21] barrier hybrid@4 ...`, rewritten in
/// place on a terminal, one line per step otherwise (CI logs).
struct Progress {
    step: usize,
    total: usize,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress { step: 0, total, tty: std::io::stderr().is_terminal() }
    }

    fn next(&mut self, what: &str) {
        self.step += 1;
        let line = format!("[{}/{}] {what} ...", self.step, self.total);
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a closed stderr must not stop the run.
        let _ = if self.tty { write!(err, "\r\x1b[K{line}") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }

    /// Ends the line on a terminal, so the next output starts on its own.
    fn done(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
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
    let mut contenders = args.contenders.clone();
    if !phalanx_omp_baseline::available() && contenders.iter().any(|c| matches!(c, Contender::Omp(..))) {
        let line = "C OpenMP baseline unavailable (built without OpenMP): omp-* and libomp-* rows skipped";
        eprintln!("{line}");
        res.notes.push(line.into());
        contenders.retain(|c| !matches!(c, Contender::Omp(..)));
    }
    if contenders.iter().any(|c| matches!(c, Contender::Omp(omp::Runtime::Llvm, _))) {
        if let Err(why) = omp::libomp_available() {
            let line = format!("libomp-active/libomp-passive rows skipped: {why}");
            eprintln!("{line}");
            res.notes.push(line);
            contenders.retain(|c| !matches!(c, Contender::Omp(omp::Runtime::Llvm, _)));
        }
    }
    let gated: Vec<Contender> = contenders.iter().copied().filter(|c| c.has_gate()).collect();
    let mut progress = Progress::new(contenders.len() * args.threads.len() + gated.len() * (Gap::ALL.len() + 1));

    for &c in &contenders {
        for &n in &args.threads {
            progress.next(&format!("barrier {}@{n}", c.name()));
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
                Contender::Omp(omp::Runtime::Gomp, p) => {
                    res.rows.extend(omp::barrier_rows(omp::Runtime::Gomp, p, n, args.budget)?);
                    continue;
                }
                // libomp is an extra baseline: a child that cannot run it is
                // a note, not a failed run.
                Contender::Omp(r, p) => {
                    match omp::barrier_rows(r, p, n, args.budget) {
                        Ok(rows) => res.rows.extend(rows),
                        Err(why) => {
                            let line = format!("barrier {}@{n} skipped: {why}", c.name());
                            eprintln!("{line}");
                            res.notes.push(line);
                        }
                    }
                    continue;
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

    for gap in Gap::ALL {
        for &c in &gated {
            progress.next(&format!("release {} gap {}", gap.name(), c.name()));
            let lat = match c {
                Contender::Phalanx(p) => measure::release(&Gate::with_policy(p), gap, args.budget)?,
                _ => measure::release(&measure::StdGate::default(), gap, args.budget)?,
            };
            let g = gap.name();
            res.rows.push(Row::new("gate", c.name(), 2, &format!("release_{g}_median"), median(&lat), "us"));
            res.rows.push(Row::new("gate", c.name(), 2, &format!("release_{g}_p99"), percentile(&lat, 99.0), "us"));
            res.rows.push(Row::new("gate", c.name(), 2, &format!("release_{g}_rounds"), lat.len() as f64, "count"));
        }
    }

    for &c in &gated {
        progress.next(&format!("idle CPU {} {} ms", c.name(), args.cpu_wait.as_millis()));
        let ms_per_s = match c {
            Contender::Phalanx(p) => measure::idle_cpu(&Gate::with_policy(p), args.cpu_wait)?,
            _ => measure::idle_cpu(&measure::StdGate::default(), args.cpu_wait)?,
        };
        res.rows.push(Row::new("gate", c.name(), 2, "cpu_per_wait_s", ms_per_s, "ms/s"));
    }
    progress.done();

    let names: Vec<&str> = contenders.iter().map(|c| c.name()).collect();
    let gate_names: Vec<&str> = gated.iter().map(|c| c.name()).collect();
    let setup = report::Setup {
        threads: &args.threads,
        names: &names,
        gate_names: &gate_names,
        cores,
        budget: args.budget,
        cpu_wait: args.cpu_wait,
    };
    let checks = report::checks(&res);
    let summary = report::markdown(&setup, &res, &checks);
    let written = report::write_out(&args.out, &setup, &summary, &res);
    if args.json {
        println!("{}", rows_to_json(&res.rows));
        for line in &checks {
            eprintln!("{line}");
        }
    } else if args.markdown {
        print!("{summary}");
    } else {
        report::print_plain(&setup, &res, &checks);
    }
    match written {
        Ok(files) => eprintln!("wrote {} ({})", args.out.display(), files.join(", ")),
        Err(e) => eprintln!("warning: could not write the report into {}: {e}", args.out.display()),
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
