//! The C OpenMP rows of the barrier table: libgomp's barrier (`omp-*`) and
//! LLVM libomp's (`libomp-*`, the same gcc-built kernel on libomp through
//! its `GOMP_*` entry points), each with `OMP_WAIT_POLICY=active` and
//! `=passive`.
//!
//! Both runtimes read `OMP_WAIT_POLICY` once, when they are loaded, and which
//! library is loaded is decided then too, so each cell runs in a child
//! process: this example re-executes itself with the hidden flag
//! `--omp-child POLICY --threads N --duration-ms MS`, the variable set
//! (`OmpWaitPolicy::apply`) and, for libomp, `LD_LIBRARY_PATH` pointing at a
//! folder where `libgomp.so.1` links to `libomp.so.5`
//! (`phalanx_omp_baseline::libomp`). The child names its rows after the
//! runtime it finds mapped in its own address space, and the parent checks
//! the name, so a child that fell back to libgomp cannot pass as libomp. The child times `epcc_barrier` with a delay of
//! length 0 (an empty body: one volatile store), so a repetition is the bare
//! barrier, and prints its rows as JSON on stdout, which [`barrier_rows`]
//! parses.

use super::common::{median, rows_to_json, run_child, Row};
use phalanx_omp_baseline::{libomp, Construct, OmpWaitPolicy};
use std::process::Command;
use std::time::{Duration, Instant};

/// The hidden flag that starts child mode.
pub const CHILD_FLAG: &str = "--omp-child";
/// A child not done within this long is killed and its cell reported as an error.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);
/// A batch is long enough to time once it takes this share of the budget (as
/// in `measure::barrier`).
const CALIBRATE_SHARE: u32 = 20;
/// Timed batches: at least, at most (as in `measure::barrier`).
const MIN_BATCHES: usize = 3;
const MAX_BATCHES: usize = 41;
/// Largest batch, in repetitions.
const MAX_REPS: u64 = 1 << 20;

/// Which C OpenMP runtime a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// GNU libgomp, which the kernels are linked against.
    Gomp,
    /// LLVM libomp, loaded in libgomp's place.
    Llvm,
}

impl Runtime {
    /// The runtime this process has loaded (read from its memory map).
    fn loaded() -> Option<Runtime> {
        let path = libomp::loaded_runtime()?;
        Some(if libomp::describe(&path).starts_with("libomp") { Runtime::Llvm } else { Runtime::Gomp })
    }
}

/// The row name of a runtime and policy: `omp-active`, `omp-passive`
/// (libgomp), `libomp-active`, `libomp-passive`.
pub fn row_name(runtime: Runtime, policy: OmpWaitPolicy) -> &'static str {
    match (runtime, policy) {
        (Runtime::Gomp, OmpWaitPolicy::Active) => "omp-active",
        (Runtime::Gomp, OmpWaitPolicy::Passive) => "omp-passive",
        (Runtime::Llvm, OmpWaitPolicy::Active) => "libomp-active",
        (Runtime::Llvm, OmpWaitPolicy::Passive) => "libomp-passive",
    }
}

/// Parses `active` / `passive` for `--omp-child`.
pub fn parse_policy(value: &str) -> Option<OmpWaitPolicy> {
    [OmpWaitPolicy::Active, OmpWaitPolicy::Passive].into_iter().find(|p| p.name() == value)
}

/// Child mode: time the barrier at each of `threads` and print the rows.
/// Fails if this process did not start with `OMP_WAIT_POLICY=policy` (then
/// libgomp would be measuring another policy than the row's name says).
pub fn child_main(policy: OmpWaitPolicy, threads: &[usize], budget: Duration) -> Result<(), String> {
    if OmpWaitPolicy::from_env() != Some(policy) {
        return Err(format!(
            "{CHILD_FLAG} {}: this process started with {}={:?}, libgomp has read that value",
            policy.name(),
            OmpWaitPolicy::VAR,
            std::env::var(OmpWaitPolicy::VAR).ok()
        ));
    }
    let runtime = Runtime::loaded().ok_or("no OpenMP runtime library found in /proc/self/maps")?;
    let name = row_name(runtime, policy);
    let mut rows = Vec::new();
    for &n in threads {
        let (us, crossings) = time_barrier(n, budget)?;
        rows.push(Row::new("barrier", name, n, "crossing_time", us, "us"));
        rows.push(Row::new("barrier", name, n, "crossings_timed", crossings as f64, "count"));
    }
    println!("{}", rows_to_json(&rows));
    Ok(())
}

/// One `epcc_barrier` run of `reps` repetitions on `n` threads.
fn run(n: usize, reps: u64) -> Result<Duration, String> {
    phalanx_omp_baseline::try_run(Construct::Barrier, n, reps, 0).map_err(|e| e.to_string())
}

/// µs per crossing (median over timed batches) and the crossings timed; the
/// same calibration and budget rule as `measure::barrier`. Each batch is one
/// parallel region, so a region's fork and join are spread over its
/// repetitions; libgomp keeps its threads between regions.
fn time_barrier(n: usize, budget: Duration) -> Result<(f64, u64), String> {
    let start = Instant::now();
    run(n, 1)?; // creates libgomp's thread pool
    let mut reps = 1;
    while run(n, reps)? < budget / CALIBRATE_SHARE && reps < MAX_REPS {
        reps *= 2;
    }
    let mut per = Vec::new();
    while per.len() < MIN_BATCHES || (start.elapsed() < budget && per.len() < MAX_BATCHES) {
        per.push(run(n, reps)?.as_secs_f64() * 1e6 / reps as f64);
    }
    Ok((median(&per), per.len() as u64 * reps))
}

/// Whether libomp can be measured here: `Err` says why not, in one line.
pub fn libomp_available() -> Result<(), String> {
    libomp::find().map(drop)
}

/// Parent side: runs one child for `runtime` and `policy` at `n` threads and
/// returns its rows, checked to be the barrier rows of that runtime, policy
/// and size.
pub fn barrier_rows(runtime: Runtime, policy: OmpWaitPolicy, n: usize, budget: Duration) -> Result<Vec<Row>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this example's executable: {e}"))?;
    let mut cmd = Command::new(&exe);
    if runtime == Runtime::Llvm {
        let (dir, _) = libomp::shim_dir(exe.parent().ok_or("the executable has no folder")?)?;
        libomp::apply(&mut cmd, &dir);
    }
    cmd.args([CHILD_FLAG, policy.name(), "--threads", &n.to_string(), "--duration-ms"])
        .arg(budget.as_millis().to_string());
    policy.apply(&mut cmd);
    let what = format!("OpenMP child ({runtime:?}, {}={}, {n} threads)", OmpWaitPolicy::VAR, policy.name());
    // The output is a few hundred bytes, far below a pipe's buffer.
    let out = run_child(&mut cmd, CHILD_TIMEOUT, &what)?;
    let rows = parse_rows(&out).map_err(|e| format!("{what}: {e} in its output {out:?}"))?;
    let expected = |r: &Row| r.primitive == "barrier" && r.policy == row_name(runtime, policy) && r.threads == n;
    if !rows.iter().any(|r| r.metric == "crossing_time") || !rows.iter().all(expected) {
        return Err(format!("{what}: unexpected rows {rows:?}"));
    }
    Ok(rows)
}

/// Parses the JSON array that `rows_to_json` writes: flat objects whose
/// values are strings, numbers or `null` (read as NaN).
pub fn parse_rows(json: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut rest = json.trim().strip_prefix('[').ok_or("no JSON array")?;
    loop {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        if let Some(tail) = rest.strip_prefix(']') {
            return if tail.trim().is_empty() { Ok(rows) } else { Err("text after the array".into()) };
        }
        let mut row = Row::new("", "", 0, "", f64::NAN, "");
        rest = rest.strip_prefix('{').ok_or("expected an object")?;
        loop {
            rest = rest.trim_start().trim_start_matches(',').trim_start();
            if let Some(tail) = rest.strip_prefix('}') {
                rest = tail;
                break;
            }
            let (key, tail) = json_str(rest)?;
            rest = tail.trim_start().strip_prefix(':').ok_or("expected ':'")?.trim_start();
            if rest.starts_with('"') {
                let (v, tail) = json_str(rest)?;
                rest = tail;
                match key.as_str() {
                    "primitive" => row.primitive = v,
                    "policy" => row.policy = v,
                    "metric" => row.metric = v,
                    "unit" => row.unit = v,
                    _ => return Err(format!("unknown key {key:?}")),
                }
            } else {
                let end = rest.find([',', '}']).ok_or("unterminated object")?;
                let text = rest[..end].trim();
                rest = &rest[end..];
                let v =
                    if text == "null" { f64::NAN } else { text.parse().map_err(|_| format!("bad number {text:?}"))? };
                match key.as_str() {
                    "threads" => row.threads = text.parse().map_err(|_| format!("bad threads {text:?}"))?,
                    "value" => row.value = v,
                    _ => return Err(format!("unknown key {key:?}")),
                }
            }
        }
        rows.push(row);
    }
}

/// A JSON string literal at the start of `s`: its text and the rest of `s`.
fn json_str(s: &str) -> Result<(String, &str), String> {
    let body = s.strip_prefix('"').ok_or("expected a string")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\u{hex}"))?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                Some(c) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}
