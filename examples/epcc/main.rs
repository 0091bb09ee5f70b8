//! EPCC-method construct overheads: phalanx against C OpenMP (libgomp and
//! libomp), in one run, one table.
//!
//! `cargo run --release --example epcc [-- --threads 2 --outer-reps 20
//! --test-time-us 1000 --delay-us 0.1 --constructs barrier,single,dynamic
//! --policy hybrid --omp-wait-policy active --json|--markdown --quick]`
//!
//! # Method (J. M. Bull's EPCC OpenMP microbenchmarks, reimplemented)
//!
//! * The body of every construct is `phalanx_omp_baseline::delay(len)`, the C
//!   kernels' own delay loop, called by both sides. `len` is calibrated so
//!   one call lasts `--delay-us` (default 0.1 µs): double until a call takes
//!   that long, then scale.
//! * For each construct and side, the inner repetition count is doubled from
//!   1 until one call of the kernel lasts `--test-time-us` (default 1000 µs),
//!   then scaled to it; then `--outer-reps` (default 20) calls are timed.
//!   Each gives a time per construct instance.
//! * Overhead = time per instance − reference. The reference is the delay
//!   alone, **timed just before every outer repetition on the same team**
//!   that runs the construct, as many delays as the repetition's critical
//!   path runs: `delays_per_rep(threads)` counts the whole team's delays, so
//!   where the team splits them evenly (`PARALLEL`, `FOR`, `BARRIER`,
//!   `REDUCTION`, schedules, tasks) every thread runs `1/threads` of them at
//!   once and the reference is the slowest thread's time (each timed from
//!   its own start), as EPCC's critical path is; `SINGLE`, `CRITICAL`, `LOCK`
//!   run theirs one at a time, so the reference's threads take turns between
//!   barriers and their turns are summed; `ATOMIC` runs none. phalanx times
//!   it on its team (`measure::phalanx_team_reference`), the C runtimes in
//!   the C kernel `epcc_reference_team`, each calling the delay as its
//!   kernels do. Each repetition subtracts its own reference, so a slow
//!   moment of the machine, or a slower CPU under one thread, falls on both.
//!   Oversubscribed (threads > cores) the reference still times each thread
//!   from its own start, so the time threads wait for a core counts as
//!   overhead, as in EPCC.
//! * A negative median overhead (the delays alone took longer than the
//!   construct with them) is re-measured once; if it stays negative the cell
//!   reads `unreliable (reference > time)` instead of a number. The header
//!   gives each side's reference per delay (median and range over rows).
//!   `tests/epcc_method.rs` checks the rule and the subtraction.
//! * The table gives the median overhead, [min, max], sd and the reference
//!   per delay over the outer repetitions, for phalanx, libgomp and libomp
//!   (LLVM's runtime running the same gcc-built kernels through its `GOMP_*`
//!   entry points: a child process with `LD_LIBRARY_PATH` pointing at a
//!   folder where `libgomp.so.1` links to `libomp.so.5`; skipped with one
//!   line when libomp is not installed, `PHALANX_LIBOMP` names another
//!   copy); ratios are phalanx median / each C runtime's median.
//!
//! The phalanx kernels are written the way a porter would write the C ones
//! (see `measure.rs`; `LOCK/UNLOCK` is `phalanx::sync::Lock`'s `set` /
//! `unset`, waiting under the team's policy). One team, built with `--threads` and `--policy` (default
//! Hybrid), serves every phalanx measurement; it is dropped before libgomp
//! runs; libgomp runs after phalanx and libomp after libgomp, each in turn,
//! so no side's spinning idle threads steal another's CPU on a small machine.
//!
//! # OMP_WAIT_POLICY
//!
//! libgomp reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` once, when it is
//! loaded, before `main`; setting them later changes nothing. Without
//! `--omp-wait-policy`, libgomp runs in this process with the environment it
//! started with. With `active`/`passive`/`default` (unset) that differs from
//! it, the example runs itself again as a child process with the variable set
//! (`OmpWaitPolicy::apply`) or removed, and the flag `--omp-child`: the child
//! runs only the libgomp side with the parent's delay length and prints
//! tab-separated rows (`report::child_lines`) on stdout, which the parent
//! parses. libgomp 12's default (variable unset) is *not* passive, although
//! `OMP_DISPLAY_ENV=true` prints `OMP_WAIT_POLICY = 'PASSIVE'`: with
//! `OMP_DISPLAY_ENV=verbose` it shows `GOMP_SPINCOUNT = '300000'` (spin 300k
//! iterations, then futex), against 30 billion for `active` and 0 for
//! `passive`; with more threads than CPUs it spins 100 (default) or 1000
//! (active) iterations instead.
//!
//! Output: a text table on stdout (`--markdown`: a markdown table; `--json`:
//! only a JSON array on stdout, the rest on stderr; `--json-out FILE` also
//! writes the JSON array there); progress on stderr; then
//! the targets check (PASS/MISS, never a failing exit status). Bad
//! flag values exit with status 2 and a message naming the flag and value.
//! Without OpenMP (`available()` false) only the phalanx side runs.

mod args;
mod measure;
mod report;

use args::{Args, OmpPolicyChoice, USAGE};
use measure::{Measured, Method};
use phalanx::{Team, WaitPolicy};
use phalanx_omp_baseline::{self as omp, Construct, OmpWaitPolicy};
use report::{Context, Row};
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("epcc: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.omp_child {
        return omp_child(&args);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epcc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The delay length: given, or calibrated to `--delay-us`.
fn delay_len(args: &Args) -> (u32, f64) {
    match args.delay_len {
        Some(len) => (len, 0.0),
        None => measure::calibrate_delay(args.delay_us),
    }
}

fn method(args: &Args, delay_len: u32) -> Method {
    Method { threads: args.threads, outer_reps: args.outer_reps, test_time: args.test_time, delay_len }
}

/// The C OpenMP side in this process: every construct, each with its
/// interleaved reference.
fn omp_side(m: &Method, constructs: &[Construct], name: &str) -> Vec<Measured> {
    constructs
        .iter()
        .map(|&c| {
            eprintln!("{name:<8} {c}");
            measure::measure_omp(m, c)
        })
        .collect()
}

/// The runtime library this process loaded, as a path, for the child's
/// `runtime` line and the header.
fn loaded_runtime() -> String {
    omp::libomp::loaded_runtime().map_or_else(|| "unknown".into(), |p| p.display().to_string())
}

/// `--omp-child`: the C OpenMP side only, rows on stdout for the parent.
fn omp_child(args: &Args) -> ExitCode {
    let (len, _) = delay_len(args);
    let runtime = loaded_runtime();
    let name = omp::libomp::describe(std::path::Path::new(&runtime));
    let rows = omp_side(&method(args, len), &args.constructs, &name);
    let rows: Vec<(Construct, Measured)> = args.constructs.iter().copied().zip(rows).collect();
    print!("{}", report::child_lines(&runtime, &rows));
    ExitCode::SUCCESS
}

/// What libgomp waits with, in words, for the table header.
fn omp_policy_text(choice: OmpPolicyChoice) -> (String, String) {
    let effective = match choice {
        OmpPolicyChoice::Inherit => OmpWaitPolicy::from_env(),
        OmpPolicyChoice::Default => None,
        OmpPolicyChoice::Active => Some(OmpWaitPolicy::Active),
        OmpPolicyChoice::Passive => Some(OmpWaitPolicy::Passive),
    };
    let spincount = std::env::var("GOMP_SPINCOUNT").ok().filter(|v| !v.trim().is_empty());
    let (name, how) = match effective {
        Some(OmpWaitPolicy::Active) => ("active", "spin 30e9 iterations (~forever); 1000 when threads > CPUs"),
        Some(OmpWaitPolicy::Passive) => ("passive", "GOMP_SPINCOUNT 0: futex at once"),
        None => (
            "default",
            "unset: GOMP_SPINCOUNT 300000 spins then futex; 100 when threads > CPUs \
             (OMP_DISPLAY_ENV=true calls this PASSIVE)",
        ),
    };
    let mut how = how.to_string();
    if let Some(v) = spincount {
        how += &format!("; GOMP_SPINCOUNT={v} set in the environment overrides the count");
    }
    (name.to_string(), how)
}

/// Which C runtime a child process should load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Libgomp,
    /// libomp through the `libgomp.so.1` symlink folder (`omp::libomp`).
    Libomp,
}

/// Runs the C side in a child process with the wait policy the flag asks
/// for and, for libomp, `LD_LIBRARY_PATH` pointing at the shim. Checks that
/// the child loaded the runtime it was meant to. Returns the rows and the
/// library the child loaded.
fn run_child(args: &Args, m: &Method, runtime: Runtime) -> Result<(Vec<Measured>, String), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable to re-run: {e}"))?;
    let names: Vec<String> = args.constructs.iter().map(|c| c.to_string()).collect();
    let mut cmd = Command::new(&exe);
    cmd.args(["--omp-child", "--threads", &m.threads.to_string(), "--outer-reps", &m.outer_reps.to_string()])
        .args(["--test-time-us", &(m.test_time.as_secs_f64() * 1e6).to_string()])
        .args(["--delay-len", &m.delay_len.to_string(), "--constructs", &names.join(",")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match args.omp_policy {
        OmpPolicyChoice::Active => OmpWaitPolicy::Active.apply(&mut cmd),
        OmpPolicyChoice::Passive => OmpWaitPolicy::Passive.apply(&mut cmd),
        OmpPolicyChoice::Default => cmd.env_remove(OmpWaitPolicy::VAR),
        OmpPolicyChoice::Inherit => &mut cmd,
    };
    if runtime == Runtime::Libomp {
        let parent = exe.parent().ok_or("this executable has no folder")?;
        let (dir, _) = omp::libomp::shim_dir(parent)?;
        omp::libomp::apply(&mut cmd, &dir);
    }
    let out = cmd.output().map_err(|e| format!("cannot run the C OpenMP child process: {e}"))?;
    if !out.status.success() {
        return Err(format!("the C OpenMP child process failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (loaded, rows) = report::parse_child(&text, &args.constructs)?;
    let is_libomp = omp::libomp::describe(std::path::Path::new(&loaded)).starts_with("libomp");
    if is_libomp != (runtime == Runtime::Libomp) {
        return Err(format!("the child loaded {loaded}, not the runtime it was started for"));
    }
    Ok((rows, loaded))
}

/// Runs the libgomp side here, or in a child where the wait-policy flag
/// differs from this process's environment (libgomp read it at load time).
fn run_libgomp(args: &Args, m: &Method) -> Result<(Vec<Measured>, &'static str), String> {
    let here = match args.omp_policy {
        OmpPolicyChoice::Inherit => true,
        OmpPolicyChoice::Default => std::env::var_os(OmpWaitPolicy::VAR).is_none(),
        OmpPolicyChoice::Active => OmpWaitPolicy::from_env() == Some(OmpWaitPolicy::Active),
        OmpPolicyChoice::Passive => OmpWaitPolicy::from_env() == Some(OmpWaitPolicy::Passive),
    };
    if here {
        return Ok((omp_side(m, &args.constructs, "libgomp"), "in this process"));
    }
    let (rows, _) = run_child(args, m, Runtime::Libgomp)?;
    Ok((rows, "in a child process (OMP_WAIT_POLICY is read at load time)"))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn run(args: &Args) -> Result<(), String> {
    let (len, cost) = delay_len(args);
    let m = method(args, len);
    let cores = phalanx::wait::cores();
    let mut header = vec![
        format!(
            "EPCC construct overheads, phalanx vs C OpenMP: kernels built for {}, run on libgomp and on libomp",
            omp::runtime_name().unwrap_or("C OpenMP (not available)")
        ),
        format!(
            "threads {} on {cores} CPUs{}; outer reps {}; test time {} us; delay_len {len} (~{cost:.3} us, target {} us)",
            m.threads,
            if m.threads > cores { " (oversubscribed)" } else { "" },
            m.outer_reps,
            m.test_time.as_secs_f64() * 1e6,
            args.delay_us
        ),
        format!("load average at start: {}", loadavg()),
    ];
    let team = Team::builder()
        .num_threads(m.threads)
        .wait_policy(args.policy)
        .build()
        .map_err(|e| format!("cannot build the phalanx team: {e}"))?;
    let phalanx_policy = team.wait_policy().to_string();
    let phalanx: Vec<Measured> = args
        .constructs
        .iter()
        .map(|&c| {
            eprintln!("phalanx  {c}");
            measure::measure_phalanx(&m, &team, c)
        })
        .collect();
    drop(team); // no phalanx worker may spin while the C runtimes run
    let (omp_name, omp_how) = omp_policy_text(args.omp_policy);
    header.push(format!("phalanx: wait policy {phalanx_policy}; delay called from Rust (FFI to the C delay)"));
    let unavailable = |why: &str| args.constructs.iter().map(|_| Measured::Skipped(why.to_string())).collect();
    let (libgomp, libomp): (Vec<Measured>, Vec<Measured>) = if omp::available() {
        let (gomp_rows, place) = run_libgomp(args, &m)?;
        header.push(format!("libgomp: OMP_WAIT_POLICY {omp_name} ({omp_how}); run {place}"));
        let omp_rows = match omp::libomp::find() {
            Err(why) => {
                eprintln!("epcc: libomp column skipped: {why}");
                header.push(format!("libomp: skipped: {why}"));
                unavailable("libomp not installed")
            }
            Ok(_) => match run_child(args, &m, Runtime::Libomp) {
                Ok((rows, loaded)) => {
                    header.push(format!(
                        "libomp: the same gcc-built kernels on {loaded} (loaded as libgomp.so.1 through \
                         LD_LIBRARY_PATH; it implements the GOMP_* entry points); OMP_WAIT_POLICY {omp_name}; \
                         run in a child process"
                    ));
                    rows
                }
                // libomp is an extra column: a runtime that cannot run the
                // kernels is reported, not fatal to the run.
                Err(why) => {
                    eprintln!("epcc: libomp column skipped: {why}");
                    header.push(format!("libomp: skipped: {why}"));
                    unavailable("the libomp child failed")
                }
            },
        };
        (gomp_rows, omp_rows)
    } else {
        header.push("C OpenMP: not available (the C baseline was built without it): phalanx only".into());
        (unavailable("OpenMP not available"), unavailable("OpenMP not available"))
    };
    header.push(report::reference_line("phalanx", phalanx.iter().map(Measured::reference)));
    header.push(report::reference_line("libgomp", libgomp.iter().map(Measured::reference)));
    header.push(report::reference_line("libomp", libomp.iter().map(Measured::reference)));
    header.push(format!(
        "overhead = time per instance - the delays on the critical path, timed alone on the same team just \
         before each outer repetition; a negative median is re-measured once, then printed as \"{}\"; a \
         negative min is one repetition whose delays-alone run was the slower (noise)",
        report::UNRELIABLE
    ));
    header.push(format!("load average at end: {} (a shared, noisy machine: read ratios loosely)", loadavg()));
    let rows: Vec<Row> = args
        .constructs
        .iter()
        .zip(phalanx.into_iter().zip(libgomp.into_iter().zip(libomp)))
        .map(|(&construct, (phalanx, (libgomp, libomp)))| Row { construct, phalanx, libgomp, libomp })
        .collect();
    let default_policies =
        args.policy == WaitPolicy::default() && omp_name == "default" && args.omp_policy != OmpPolicyChoice::Active;
    let cx = Context { threads: m.threads, phalanx_policy, omp_policy: omp_name };
    let targets = report::targets(&rows, m.threads > cores, default_policies);
    if let Some(path) = &args.json_out {
        std::fs::write(path, report::json(&rows, &cx)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    let w = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(|e| format!("cannot write: {e}"));
    if args.json {
        eprintln!("{}\n{}", header.join("\n"), targets);
        w(&mut out, &report::json(&rows, &cx))
    } else if args.markdown {
        let head: String = header.iter().map(|h| format!("- {h}\n")).collect();
        w(
            &mut out,
            &format!("{head}\nOverheads in µs per construct instance.\n\n{}\n{targets}", report::markdown_table(&rows)),
        )
    } else {
        w(&mut out, &format!("{}\n\n{}\n{targets}", header.join("\n"), report::text_table(&rows)))
    }
}
