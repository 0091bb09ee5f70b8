//! EPCC-method construct overheads: phalanx against C OpenMP (libgomp), in one
//! run, one table.
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
//!   alone, timed the same way on one thread, times the delays on one
//!   thread's critical path per repetition: `delays_per_rep(threads)` counts
//!   the whole team's delays, so where the team splits them evenly
//!   (`PARALLEL`, `FOR`, `BARRIER`, `REDUCTION`, schedules) one thread runs
//!   `1/threads` of them, as EPCC's reference does; `SINGLE`, `CRITICAL`,
//!   `LOCK` run one each, serialised; `ATOMIC` none. Each side subtracts its
//!   own reference (the delay called from Rust through FFI, or from C, as
//!   that side's kernels call it). Oversubscribed (threads > cores) this
//!   under-subtracts: the delays of threads sharing a core add up.
//! * The table gives the median overhead, [min, max] and sd over the outer
//!   repetitions; ratio = phalanx median / libgomp median.
//!
//! The phalanx kernels are written the way a porter would write the C ones
//! (see `measure.rs`; `LOCK/UNLOCK` is `phalanx::sync::Lock`'s `set` /
//! `unset`, waiting under the team's policy). One team, built with `--threads` and `--policy` (default
//! Hybrid), serves every phalanx measurement; it is dropped before libgomp
//! runs, and libgomp runs after phalanx, so neither side's spinning idle
//! threads steal the other's CPU on a small machine.
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
//! only a JSON array on stdout, the rest on stderr); progress on stderr; then
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

/// The libgomp side, here: the reference, then every construct.
fn libgomp_side(m: &Method, constructs: &[Construct]) -> Result<(f64, Vec<Measured>), String> {
    let reference = measure::libgomp_reference(m)?;
    let rows = constructs
        .iter()
        .map(|&c| {
            eprintln!("libgomp  {c}");
            measure::measure_libgomp(m, c, reference)
        })
        .collect();
    Ok((reference, rows))
}

/// `--omp-child`: the libgomp side only, rows on stdout for the parent.
fn omp_child(args: &Args) -> ExitCode {
    let (len, _) = delay_len(args);
    match libgomp_side(&method(args, len), &args.constructs) {
        Ok((reference, rows)) => {
            let rows: Vec<(Construct, Measured)> = args.constructs.iter().copied().zip(rows).collect();
            print!("{}", report::child_lines(reference, &rows));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("epcc child: {e}");
            ExitCode::FAILURE
        }
    }
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

/// Runs the libgomp side here or in a child, as the wait-policy flag needs.
fn run_libgomp(args: &Args, m: &Method) -> Result<(f64, Vec<Measured>, &'static str), String> {
    let here = match args.omp_policy {
        OmpPolicyChoice::Inherit => true,
        OmpPolicyChoice::Default => std::env::var_os(OmpWaitPolicy::VAR).is_none(),
        OmpPolicyChoice::Active => OmpWaitPolicy::from_env() == Some(OmpWaitPolicy::Active),
        OmpPolicyChoice::Passive => OmpWaitPolicy::from_env() == Some(OmpWaitPolicy::Passive),
    };
    if here {
        let (r, rows) = libgomp_side(m, &args.constructs)?;
        return Ok((r, rows, "in this process"));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable to re-run: {e}"))?;
    let names: Vec<String> = args.constructs.iter().map(|c| c.to_string()).collect();
    let mut cmd = Command::new(exe);
    cmd.args(["--omp-child", "--threads", &m.threads.to_string(), "--outer-reps", &m.outer_reps.to_string()])
        .args(["--test-time-us", &(m.test_time.as_secs_f64() * 1e6).to_string()])
        .args(["--delay-len", &m.delay_len.to_string(), "--constructs", &names.join(",")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match args.omp_policy {
        OmpPolicyChoice::Active => OmpWaitPolicy::Active.apply(&mut cmd),
        OmpPolicyChoice::Passive => OmpWaitPolicy::Passive.apply(&mut cmd),
        _ => cmd.env_remove(OmpWaitPolicy::VAR),
    };
    let out = cmd.output().map_err(|e| format!("cannot run the libgomp child process: {e}"))?;
    if !out.status.success() {
        return Err(format!("the libgomp child process failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (r, rows) = report::parse_child(&text, &args.constructs)?;
    Ok((r, rows, "in a child process (OMP_WAIT_POLICY is read at load time)"))
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
            "EPCC construct overheads, phalanx vs {}",
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
    let p_ref = measure::phalanx_reference(&m);
    let phalanx: Vec<Measured> = args
        .constructs
        .iter()
        .map(|&c| {
            eprintln!("phalanx  {c}");
            measure::measure_phalanx(&m, &team, c, p_ref)
        })
        .collect();
    drop(team); // no phalanx worker may spin while libgomp runs
    let (omp_name, omp_how) = omp_policy_text(args.omp_policy);
    header.push(format!("phalanx: wait policy {phalanx_policy}; reference {p_ref:.4} us per delay (Rust -> C delay)"));
    let libgomp: Vec<Measured> = if omp::available() {
        let (o_ref, rows, place) = run_libgomp(args, &m)?;
        header.push(format!("libgomp: OMP_WAIT_POLICY {omp_name} ({omp_how}); run {place}"));
        header.push(format!("libgomp: reference {o_ref:.4} us per delay (C delay)"));
        rows
    } else {
        header.push("libgomp: OpenMP is not available (the C baseline was built without it): phalanx only".into());
        args.constructs.iter().map(|_| Measured::Failed("OpenMP not available".into())).collect()
    };
    header.push(format!("load average at end: {} (a shared, noisy machine: read ratios loosely)", loadavg()));
    let rows: Vec<Row> = args
        .constructs
        .iter()
        .zip(phalanx.into_iter().zip(libgomp))
        .map(|(&construct, (phalanx, libgomp))| Row { construct, phalanx, libgomp })
        .collect();
    let default_policies =
        args.policy == WaitPolicy::default() && omp_name == "default" && args.omp_policy != OmpPolicyChoice::Active;
    let cx = Context { threads: m.threads, phalanx_policy, omp_policy: omp_name };
    let targets = report::targets(&rows, m.threads > cores, default_policies);
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
