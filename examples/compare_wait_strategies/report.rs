//! The output of `compare_wait_strategies`: the tables (plain text or
//! markdown), the checks against the design's targets, the machine header,
//! and the files written into `--out`.

use super::common::{fmt_value, rows_to_json};
use super::measure::Gap;
use super::{plot, Results};
use phalanx::wait::DEFAULT_HYBRID_SPIN;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Width of a plain-text table column.
const COLUMN: usize = 13;

/// What the run measured, for titles and table shapes.
pub struct Setup<'a> {
    /// Barrier team sizes.
    pub threads: &'a [usize],
    /// Every contender's row name, in table order.
    pub names: &'a [&'a str],
    /// The contenders that took part in the gate measurements.
    pub gate_names: &'a [&'a str],
    /// CPUs available to this process.
    pub cores: usize,
    /// Budget of each barrier and release measurement.
    pub budget: Duration,
    /// How long the idle-CPU waiter waited.
    pub cpu_wait: Duration,
}

/// One table, rendered as aligned text or as markdown.
struct Table {
    heading: String,
    caption: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    fn plain(&self) -> String {
        let mut out = format!("\n{}: {}\n", self.heading, self.caption);
        let line = |cells: &[String]| {
            let mut l = String::from(" ");
            for (i, c) in cells.iter().enumerate() {
                if i == 0 {
                    l.push_str(&format!(" {c:<COLUMN$}"));
                } else {
                    l.push_str(&format!("{c:>COLUMN$}"));
                }
            }
            l.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&self.head));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        for n in &self.notes {
            out.push_str(&format!("  * {n}\n"));
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("\n## {}\n\n{}\n\n", self.heading, self.caption);
        out.push_str(&format!("| {} |\n", self.head.join(" | ")));
        let align: Vec<&str> = (0..self.head.len()).map(|i| if i == 0 { "---" } else { "---:" }).collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for r in &self.rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(&format!("- \\* {n}\n"));
            }
        }
        out
    }
}

fn tables(s: &Setup, res: &Results) -> Vec<Table> {
    let cell = |v: Option<f64>| fmt_value(v.unwrap_or(f64::NAN));
    let mut out = Vec::new();

    let mut head = vec!["policy".to_string()];
    head.extend(s.threads.iter().map(|n| format!("{n} threads")));
    let rows = s
        .names
        .iter()
        .map(|&p| {
            let mut r = vec![p.to_string()];
            for &n in s.threads {
                let few = res.get("barrier", p, n, "crossings_timed").is_some_and(|k| k < 100.0);
                r.push(format!("{}{}", cell(res.get("barrier", p, n, "crossing_time")), if few { "*" } else { "" }));
            }
            r
        })
        .collect();
    out.push(Table {
        heading: "Barrier crossing".into(),
        caption: format!(
            "us per crossing, median of timed batches (threads spawned once per cell; omp-* = libgomp's \
             barrier with OMP_WAIT_POLICY=active/passive, libomp-* = the same kernel on LLVM libomp, each in a \
             child process; {} CPUs, budget {} ms per cell)",
            s.cores,
            s.budget.as_millis()
        ),
        head,
        rows,
        notes: res.notes.clone(),
    });

    for gap in Gap::ALL {
        let g = gap.name();
        let why = match gap {
            Gap::Short => format!("inside DEFAULT_HYBRID_SPIN = {DEFAULT_HYBRID_SPIN:?}: hybrid still spins"),
            Gap::Long => "past every spin budget: hybrid and adaptive have blocked (futex wake)".to_string(),
        };
        let rows = s
            .gate_names
            .iter()
            .map(|&p| {
                let m = |k: &str| res.get("gate", p, 2, &format!("release_{g}_{k}"));
                vec![p.to_string(), cell(m("median")), cell(m("p99")), format!("{}", m("rounds").unwrap_or(0.0))]
            })
            .collect();
        out.push(Table {
            heading: format!("Release latency, {g} gap"),
            caption: format!(
                "us from open() to the waiter running; the master works alone {} per round ({why}), budget {} ms",
                gap.describe(),
                s.budget.as_millis()
            ),
            head: ["policy", "median", "p99", "rounds"].map(String::from).to_vec(),
            rows,
            notes: Vec::new(),
        });
    }

    let rows =
        s.gate_names.iter().map(|&p| vec![p.to_string(), cell(res.get("gate", p, 2, "cpu_per_wait_s"))]).collect();
    out.push(Table {
        heading: "Idle CPU".into(),
        caption: format!(
            "ms of CPU per s of waiting (one waiter on a closed gate for {} ms, policies one after another)",
            s.cpu_wait.as_millis()
        ),
        head: ["policy", "ms/s"].map(String::from).to_vec(),
        rows,
        notes: Vec::new(),
    });
    out
}

/// The plain-text report on stdout.
pub fn print_plain(s: &Setup, res: &Results, checks: &[String]) {
    println!(
        "phalanx wait-strategy comparison: {} CPUs, {} build",
        s.cores,
        if cfg!(debug_assertions) { "DEBUG (numbers meaningless)" } else { "release" }
    );
    for t in tables(s, res) {
        print!("{}", t.plain());
    }
    println!("\nchecks (from this run's numbers; a MISS is reported, not fatal)");
    for line in checks {
        println!("  {line}");
    }
}

/// The whole report as markdown: machine header, tables, checks.
pub fn markdown(s: &Setup, res: &Results, checks: &[String]) -> String {
    let mut out = String::from("# phalanx wait-strategy comparison\n\n## Machine\n\n| what | value |\n|---|---|\n");
    for (k, v) in machine(s.cores) {
        out.push_str(&format!("| {k} | {} |\n", v.replace('|', "/")));
    }
    for t in tables(s, res) {
        out.push_str(&t.markdown());
    }
    out.push_str("\n## Checks\n\nFrom this run's numbers; a MISS is reported, not fatal.\n\n");
    for line in checks {
        out.push_str(&format!("- {line}\n"));
    }
    out
}

/// First line of a command's stdout, if it ran and succeeded.
fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next()?.trim();
    (out.status.success() && !first.is_empty()).then(|| first.to_string())
}

/// The machine header: what the numbers were measured on.
pub fn machine(cores: usize) -> Vec<(&'static str, String)> {
    let unknown = || "unknown".to_string();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().into())
        })
        .unwrap_or_else(unknown);
    let kernel = command_line("uname", &["-r"])
        .or_else(|| std::fs::read_to_string("/proc/version").ok().map(|v| v.trim().to_string()))
        .unwrap_or_else(unknown);
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"]).map_or_else(unknown, |c| {
        let dirty = command_line("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
        if dirty {
            format!("{c} (uncommitted changes)")
        } else {
            c
        }
    });
    vec![
        ("CPU", cpu),
        ("CPUs available", cores.to_string()),
        ("kernel", kernel),
        ("rustc", command_line("rustc", &["-V"]).unwrap_or_else(unknown)),
        ("gcc", command_line("gcc", &["--version"]).unwrap_or_else(unknown)),
        ("OpenMP runtime", phalanx_omp_baseline::runtime_name().map_or_else(|| "not built".into(), String::from)),
        ("build", if cfg!(debug_assertions) { "DEBUG (numbers meaningless)" } else { "release" }.into()),
        ("commit", commit),
        ("date", command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(unknown)),
    ]
}

/// Writes summary.md, rows.json and the two plots into `dir`; returns the
/// file names written.
pub fn write_out(dir: &Path, s: &Setup, summary: &str, res: &Results) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"));
    write("summary.md", summary)?;
    write("rows.json", &(rows_to_json(&res.rows) + "\n"))?;
    write("barrier_crossing.svg", &plot::barrier_crossing(s, res)?)?;
    write("latency_vs_cpu.svg", &plot::latency_vs_cpu(s, res)?)?;
    Ok(["summary.md", "rows.json", "barrier_crossing.svg", "latency_vs_cpu.svg"].map(String::from).to_vec())
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

/// The design's targets, evaluated on this run's rows, then `INFO` lines.
pub fn checks(res: &Results) -> Vec<String> {
    let bar = |p: &str, n| res.get("barrier", p, n, "crossing_time");
    let rel = |p: &str, g: Gap| res.get("gate", p, 2, &format!("release_{}_median", g.name()));
    let cpu = |p: &str| res.get("gate", p, 2, "cpu_per_wait_s");
    let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
    let us = |v: Option<f64>| v.map_or("-".into(), |v| format!("{} us", fmt_value(v)));
    let mut out = vec![
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
            "sleep-poll / hybrid release median, short gap",
            ratio(rel("sleep-poll", Gap::Short), rel("hybrid", Gap::Short)),
            ">=",
            100.0,
            format!(
                "{} / {}; master works {}, inside DEFAULT_HYBRID_SPIN",
                us(rel("sleep-poll", Gap::Short)),
                us(rel("hybrid", Gap::Short)),
                Gap::Short.describe()
            ),
        ),
        check("hybrid idle CPU (ms/s)", cpu("hybrid"), "<=", 5.0, "ms of CPU per s of waiting".into()),
        check(
            "predictive (default) idle CPU (ms/s)",
            cpu("predictive"),
            "<=",
            5.0,
            "ms of CPU per s of waiting".into(),
        ),
        check("block idle CPU (ms/s)", cpu("block"), "<=", 5.0, "ms of CPU per s of waiting".into()),
    ];
    if let Some(r) = ratio(rel("sleep-poll", Gap::Long), rel("hybrid", Gap::Long)).filter(|r| r.is_finite()) {
        out.push(format!(
            "INFO sleep-poll / hybrid release median, long gap = {} ({} / {}; not a target: the master works {}, \
             past DEFAULT_HYBRID_SPIN = {DEFAULT_HYBRID_SPIN:?}, so a hybrid waiter has blocked and its release is a \
             futex wake, and a sleep-poll waiter's ~1 ms interval overlaps the master's work: the ratio is bounded \
             by about 1 ms / the wake = {}x here)",
            fmt_value(r),
            us(rel("sleep-poll", Gap::Long)),
            us(rel("hybrid", Gap::Long)),
            Gap::Long.describe(),
            rel("hybrid", Gap::Long).map_or("-".into(), |w| fmt_value(1000.0 / w)),
        ));
    }
    out
}
