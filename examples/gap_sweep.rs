//! The gap sweep: what a time-step loop pays for its parallel regions.
//! `--regions`-style loops of empty parallel regions, each preceded by a gap
//! of master-only busy work (1 µs … 10 ms, regular or jittered ±50 %), per
//! phalanx wait policy and per C OpenMP runtime and `OMP_WAIT_POLICY`
//! (libgomp and libomp, default / active / passive; each in a child
//! process, since the runtimes read the variable when loaded). For each cell:
//!
//! * **overhead per region**: (wall − the gaps) / regions, in µs: the fork,
//!   the join, and the cost of waking threads that went to sleep in the gap;
//! * **cores used**: CPU time of the whole process / wall: how many cores
//!   the loop kept busy on average (the master's busy gaps are about one;
//!   the rest is what the waiting threads burned). CPU time from
//!   `/proc/self/task/*/schedstat`, ns resolution.
//!
//! The verdict per gap: whether some C setting is both faster and cheaper
//! than phalanx's default policy (it "dominates" it). The Pareto plots (x =
//! cores used, y = overhead) are written with `--svg-dir DIR`.
//!
//! `cargo run --release --example gap_sweep -- --threads 2` (`--quick`,
//! `--markdown`, `--cell-ms MS`, `--gaps-us 1,10,100`)

#[path = "common/mod.rs"]
mod common;

use common::run_child;

use phalanx::{Team, WaitPolicy};
use phalanx_omp_baseline::{self as omp, libomp, OmpWaitPolicy};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const CHILD_FLAG: &str = "--omp-child";
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

struct Args {
    threads: usize,
    gaps_us: Vec<f64>,
    cell: Duration,
    markdown: bool,
    svg_dir: Option<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        threads: 2,
        gaps_us: vec![1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0],
        cell: Duration::from_millis(150),
        markdown: false,
        svg_dir: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => {
                let v = value()?;
                a.threads = v.parse().ok().filter(|&n| n >= 1).ok_or(format!("--threads {v}: a whole number >= 1"))?
            }
            "--gaps-us" => {
                let v = value()?;
                a.gaps_us = v
                    .split(',')
                    .map(|g| g.trim().parse::<f64>().ok().filter(|g| *g >= 0.0 && g.is_finite()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(format!("--gaps-us {v}: a comma-separated list of µs >= 0"))?
            }
            "--cell-ms" => {
                let v = value()?;
                a.cell = Duration::from_millis(
                    v.parse().ok().filter(|&m| m >= 1).ok_or(format!("--cell-ms {v}: a whole number >= 1"))?,
                )
            }
            "--quick" => {
                a.gaps_us = vec![10.0, 1000.0];
                a.cell = Duration::from_millis(30);
            }
            "--markdown" => a.markdown = true,
            "--svg-dir" => a.svg_dir = Some(value()?.clone()),
            "--help" | "-h" => {
                return Err("flags: --threads N --gaps-us LIST --cell-ms MS --quick --markdown --svg-dir DIR".into())
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The gaps of one cell: `regions` of `gap` µs, or jittered uniformly in
/// [0.5, 1.5] × `gap` by a fixed generator (the same in every process).
fn gaps(gap: f64, jitter: bool, regions: usize) -> Vec<f64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ gap.to_bits();
    (0..regions)
        .map(|_| {
            if !jitter {
                return gap;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            gap * (0.5 + (x % 10_000) as f64 / 10_000.0)
        })
        .collect()
}

fn regions_for(gap: f64, cell: Duration) -> usize {
    ((cell.as_secs_f64() * 1e6 / (gap + 5.0)) as usize).clamp(MIN_REGIONS, 20_000)
}

/// Regions per cell at least, whatever the cell time: a long-gap cell of a
/// few regions would mostly measure how fast a policy learns.
const MIN_REGIONS: usize = 40;
/// Untimed regions at the cell's gap before each cell, for every side: a
/// time-step loop runs many steps, and the learning policies (adaptive,
/// predictive) need a few dozen waits to settle on a new gap.
const WARM_UP: usize = 30;

/// CPU time of every thread of this process, from the scheduler's own
/// accounting (`/proc/self/task/*/schedstat`, first field, ns).
fn process_cpu() -> Duration {
    let mut ns = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) {
                ns += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(ns)
}

/// Busy work on the calling thread until `us` µs have passed.
fn busy(us: f64) {
    let until = Instant::now() + Duration::from_secs_f64(us * 1e-6);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// One cell's result.
#[derive(Clone, Debug)]
struct Cell {
    name: String,
    gap: f64,
    jitter: bool,
    overhead_us: f64,
    cores: f64,
}

fn cell(name: &str, gap: f64, jitter: bool, g: &[f64], wall: Duration, cpu: Duration) -> Cell {
    let total_gap: f64 = g.iter().sum();
    let wall_us = wall.as_secs_f64() * 1e6;
    Cell {
        name: name.into(),
        gap,
        jitter,
        overhead_us: (wall_us - total_gap) / g.len() as f64,
        cores: cpu.as_secs_f64() / wall.as_secs_f64(),
    }
}

fn phalanx_cells(a: &Args, policy: WaitPolicy) -> Vec<Cell> {
    let team = Team::builder().num_threads(a.threads).wait_policy(policy).build().expect("team");
    let name = if policy == WaitPolicy::default() {
        format!("phalanx {policy} (default)")
    } else {
        format!("phalanx {policy}")
    };
    let mut out = Vec::new();
    for &gap in &a.gaps_us {
        for jitter in [false, true] {
            let g = gaps(gap, jitter, regions_for(gap, a.cell));
            // Warm-up: `WARM_UP` regions at this gap (the learning policies learn).
            for &x in g.iter().cycle().take(WARM_UP) {
                busy(x);
                team.parallel(|_| omp::delay(0));
            }
            let (c0, t0) = (process_cpu(), Instant::now());
            for &x in &g {
                busy(x);
                team.parallel(|_| omp::delay(0));
            }
            let (wall, cpu) = (t0.elapsed(), process_cpu().saturating_sub(c0));
            out.push(cell(&name, gap, jitter, &g, wall, cpu));
        }
    }
    out
}

/// Child mode: run the C twin for every cell and print
/// `gap jitter wall_s cpu_s` lines.
fn child_main(a: &Args) -> Result<(), String> {
    let mut out = String::new();
    for &gap in &a.gaps_us {
        for jitter in [false, true] {
            let g = gaps(gap, jitter, regions_for(gap, a.cell));
            let warm: Vec<f64> = g.iter().copied().cycle().take(WARM_UP).collect();
            omp::gap_regions(a.threads, &warm).map_err(|e| e.to_string())?;
            let c0 = process_cpu();
            let wall = omp::gap_regions(a.threads, &g).map_err(|e| e.to_string())?;
            let cpu = process_cpu().saturating_sub(c0);
            let _ = writeln!(out, "{gap} {} {} {}", u8::from(jitter), wall.as_secs_f64(), cpu.as_secs_f64());
        }
    }
    let runtime = libomp::loaded_runtime().map(|p| libomp::describe(&p)).unwrap_or_default();
    println!("runtime {runtime}");
    print!("{out}");
    Ok(())
}

/// Parent side: one child for a runtime (`llvm`) and policy (`None` = the
/// runtime's default).
fn omp_cells(a: &Args, llvm: bool, policy: Option<OmpWaitPolicy>) -> Result<Vec<Cell>, String> {
    let name = format!("{} {}", if llvm { "libomp" } else { "libgomp" }, policy.map_or("default", |p| p.name()));
    let exe = std::env::current_exe().map_err(|e| format!("{name}: {e}"))?;
    let mut cmd = Command::new(&exe);
    if llvm {
        let (dir, _) = libomp::shim_dir(exe.parent().ok_or("no folder")?)?;
        libomp::apply(&mut cmd, &dir);
    }
    let gaps_arg = a.gaps_us.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(",");
    cmd.args([CHILD_FLAG, "--threads", &a.threads.to_string(), "--gaps-us", &gaps_arg, "--cell-ms"])
        .arg(a.cell.as_millis().to_string())
        .env_remove(OmpWaitPolicy::VAR);
    if let Some(p) = policy {
        p.apply(&mut cmd);
    }
    // Two short lines per cell: far below a pipe's buffer.
    let out = run_child(&mut cmd, CHILD_TIMEOUT, &name)?;
    let mut lines = out.lines();
    let runtime = lines.next().and_then(|l| l.strip_prefix("runtime ")).unwrap_or("").to_string();
    if runtime.starts_with("libomp") != llvm {
        return Err(format!("{name}: the child loaded {runtime:?}"));
    }
    let mut cells = Vec::new();
    for line in lines {
        let f: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let [gap, jitter, wall, cpu] = f[..] else { return Err(format!("{name}: bad line {line:?}")) };
        let g = gaps(gap, jitter != 0.0, regions_for(gap, a.cell));
        cells.push(cell(&name, gap, jitter != 0.0, &g, Duration::from_secs_f64(wall), Duration::from_secs_f64(cpu)));
    }
    Ok(cells)
}

fn pareto_svg(path: &str, gap: f64, jitter: bool, cells: &[&Cell]) -> Result<(), String> {
    let root = SVGBackend::new(path, (640, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xmax = cells.iter().map(|c| c.cores).fold(0.1, f64::max) * 1.15;
    let ymax = cells.iter().map(|c| c.overhead_us).fold(0.1, f64::max) * 1.15;
    let title = format!("gap {gap} µs{}: overhead vs CPU", if jitter { " ±50 %" } else { "" });
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("cores used (CPU / wall)")
        .y_desc("µs per region")
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, c) in cells.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(std::iter::once(Circle::new((c.cores, c.overhead_us.max(0.0)), 5, color.filled())))
            .map_err(|e| e.to_string())?
            .label(c.name.clone())
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let child = argv.first().is_some_and(|f| f == CHILD_FLAG);
    let a = match parse(if child { &argv[1..] } else { &argv[..] }) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gap_sweep: {e}");
            return ExitCode::from(2);
        }
    };
    if child {
        return match child_main(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gap_sweep child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut cells = Vec::new();
    for policy in WaitPolicy::all() {
        eprintln!("gap_sweep: phalanx {policy}");
        cells.extend(phalanx_cells(&a, policy));
    }
    let mut skipped = Vec::new();
    for llvm in [false, true] {
        if llvm {
            if let Err(e) = libomp::find() {
                skipped.push(format!("libomp: skipped: {e}"));
                continue;
            }
        }
        if !omp::available() {
            skipped.push("C OpenMP: skipped: the baseline was built without OpenMP".into());
            break;
        }
        for policy in [None, Some(OmpWaitPolicy::Active), Some(OmpWaitPolicy::Passive)] {
            eprintln!("gap_sweep: {} {:?}", if llvm { "libomp" } else { "libgomp" }, policy);
            match omp_cells(&a, llvm, policy) {
                Ok(c) => cells.extend(c),
                Err(e) => skipped.push(format!("skipped: {e}")),
            }
        }
    }
    let default_name = format!("phalanx {} (default)", WaitPolicy::default());
    let mut report = String::new();
    let _ = writeln!(
        report,
        "Gap sweep: {} threads, empty regions after master-only gaps; per cell about {} ms of regions; overhead = \
         (wall − gaps) / regions; cores used = process CPU / wall (the master's busy gaps are about one core). A C \
         setting *dominates* the phalanx default when it is both faster and cheaper.\n",
        a.threads,
        a.cell.as_millis()
    );
    for s in &skipped {
        let _ = writeln!(report, "- {s}");
    }
    let _ = writeln!(report);
    let _ = writeln!(report, "| gap | implementation | µs per region | cores used |");
    let _ = writeln!(report, "|---|---|---:|---:|");
    let mut verdicts = Vec::new();
    for &gap in &a.gaps_us {
        for jitter in [false, true] {
            let here: Vec<&Cell> = cells.iter().filter(|c| c.gap == gap && c.jitter == jitter).collect();
            let label = format!("{gap} µs{}", if jitter { " ±50 %" } else { "" });
            for c in &here {
                let _ = writeln!(report, "| {label} | {} | {:.2} | {:.3} |", c.name, c.overhead_us, c.cores);
            }
            if let Some(d) = here.iter().find(|c| c.name == default_name) {
                let dominating: Vec<&str> = here
                    .iter()
                    .filter(|c| !c.name.starts_with("phalanx") && c.overhead_us < d.overhead_us && c.cores < d.cores)
                    .map(|c| c.name.as_str())
                    .collect();
                let fastest_c = here
                    .iter()
                    .filter(|c| !c.name.starts_with("phalanx") && c.name.ends_with("default"))
                    .min_by(|x, y| x.overhead_us.total_cmp(&y.overhead_us));
                let ratio = fastest_c.map_or(String::from("n/a"), |f| {
                    format!(
                        "overhead {:.2}× / cores {:.2}× the faster C default ({})",
                        d.overhead_us / f.overhead_us,
                        d.cores / f.cores,
                        f.name
                    )
                });
                verdicts.push(format!(
                    "- {label}: {} — {ratio}",
                    if dominating.is_empty() {
                        "PASS (no C setting is both faster and cheaper)".to_string()
                    } else {
                        format!("MISS (dominated by {})", dominating.join(", "))
                    }
                ));
            }
            if let Some(dir) = &a.svg_dir {
                let file = format!("{dir}/gap_{}us{}.svg", gap, if jitter { "_jitter" } else { "" });
                if let Err(e) = pareto_svg(&file, gap, jitter, &here) {
                    eprintln!("gap_sweep: {file}: {e}");
                }
            }
        }
    }
    let _ = writeln!(report, "\nVerdicts (phalanx default vs every C setting, same gap):\n");
    for v in &verdicts {
        let _ = writeln!(report, "{v}");
    }
    if a.markdown {
        print!("{report}");
    } else {
        print!("{}", report.replace("| ", " ").replace(" |", " "));
    }
    ExitCode::SUCCESS
}
