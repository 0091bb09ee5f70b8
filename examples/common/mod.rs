//! Measurement helpers shared by the examples and benches: order statistics,
//! the calling thread's CPU time, busy work, JSON rows and flag parsing.
//!
//! Include it with `mod common;` from a file in `examples/` (or with
//! `#[path = "../examples/common/mod.rs"] mod common;` from `benches/`).
//! Not every includer uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::fmt;
use std::time::{Duration, Instant};

/// The median of `values` (the mean of the two middle ones for an even
/// count). `NaN` for an empty slice.
pub fn median(values: &[f64]) -> f64 {
    let mut v = sorted(values);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => {
            let hi = v.swap_remove(n / 2);
            (v[n / 2 - 1] + hi) / 2.0
        }
    }
}

/// The `p`-th percentile (`0.0..=100.0`) of `values` by the nearest-rank
/// method: the smallest value with at least `p` % of the values at or below
/// it. `NaN` for an empty slice.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let v = sorted(values);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// CPU time the calling thread has consumed so far
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`).
///
/// # Panics
/// If the clock cannot be read (it always can on Linux).
pub fn thread_cpu_time() -> Duration {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .unwrap_or_else(|e| panic!("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: {e}"));
    Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32)
}

/// Burn the CPU for `d` (checking the clock between pause hints), as a
/// master thread doing real work would.
pub fn busy_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
    }
}

/// A tiny deterministic generator (xorshift64*), so runs vary their work the
/// same way every time without a `rand` dependency.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration drawn uniformly from `lo..=hi` (nanosecond resolution).
    pub fn duration_between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_nanos() as u64;
        lo + Duration::from_nanos(if span == 0 { 0 } else { self.next_u64() % (span + 1) })
    }
}

/// One measured number, as printed in tables and in `--json` output.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What was measured: `barrier`, `gate`, ...
    pub primitive: String,
    /// The wait policy's name (`WaitPolicy::name`) or `std` for a baseline.
    pub policy: String,
    /// Threads taking part.
    pub threads: usize,
    /// The metric's name, e.g. `crossing_time`.
    pub metric: String,
    /// The value, in `unit`.
    pub value: f64,
    /// The unit, e.g. `us`, `ms/s`, `count`.
    pub unit: String,
}

impl Row {
    /// A row; the string fields are copied.
    pub fn new(primitive: &str, policy: &str, threads: usize, metric: &str, value: f64, unit: &str) -> Self {
        Row {
            primitive: primitive.into(),
            policy: policy.into(),
            threads,
            metric: metric.into(),
            value,
            unit: unit.into(),
        }
    }

    /// This row as one JSON object with the keys
    /// `primitive, policy, threads, metric, value, unit`. A non-finite value
    /// (which JSON cannot express) becomes `null`.
    pub fn to_json(&self) -> String {
        let value = if self.value.is_finite() { format!("{}", self.value) } else { "null".into() };
        format!(
            "{{\"primitive\":{},\"policy\":{},\"threads\":{},\"metric\":{},\"value\":{},\"unit\":{}}}",
            json_string(&self.primitive),
            json_string(&self.policy),
            self.threads,
            json_string(&self.metric),
            value,
            json_string(&self.unit),
        )
    }
}

/// `rows` as one JSON array, one object per line.
pub fn rows_to_json(rows: &[Row]) -> String {
    let body: Vec<String> = rows.iter().map(|r| format!("  {}", r.to_json())).collect();
    format!("[\n{}\n]", body.join(",\n"))
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bad command-line flag: names the flag and the value, says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagError {
    /// The flag, with its dashes (`--threads`).
    pub flag: String,
    /// The value given (empty when it was missing).
    pub value: String,
    /// What is wrong with it.
    pub why: String,
}

impl FlagError {
    /// An error for `flag` with `value`.
    pub fn new(flag: &str, value: &str, why: impl Into<String>) -> Self {
        FlagError { flag: flag.into(), value: value.into(), why: why.into() }
    }
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} = {:?}: {}", self.flag, self.value, self.why)
    }
}

impl std::error::Error for FlagError {}

/// Parse a comma-separated list of integers in `min..=max` for `flag`.
pub fn parse_usize_list(flag: &str, value: &str, min: usize, max: usize) -> Result<Vec<usize>, FlagError> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let n: usize =
            part.trim().parse().map_err(|_| FlagError::new(flag, value, format!("{part:?} is not a whole number")))?;
        if !(min..=max).contains(&n) {
            return Err(FlagError::new(flag, value, format!("{n} is outside {min}..={max}")));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Parse a whole number of milliseconds in `1..=max_ms` for `flag`.
pub fn parse_millis(flag: &str, value: &str, max_ms: u64) -> Result<Duration, FlagError> {
    let ms: u64 =
        value.trim().parse().map_err(|_| FlagError::new(flag, value, "expected a whole number of milliseconds"))?;
    if ms == 0 || ms > max_ms {
        return Err(FlagError::new(flag, value, format!("must be between 1 and {max_ms} ms")));
    }
    Ok(Duration::from_millis(ms))
}

/// A number for a table cell: 3 significant-ish digits, no exponent.
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() < 10.0 {
        format!("{v:.2}")
    } else if v.abs() < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Run `cmd` (stdout and stderr piped here) as a child process and return
/// its stdout, or an error starting with `what`: it could not start, was
/// still running after `timeout` (then it is killed), or exited unsuccessfully
/// (with its stderr). Meant for children that print little: the output is
/// read after the exit, so it must fit a pipe's buffer (64 KiB on Linux).
pub fn run_child(cmd: &mut std::process::Command, timeout: Duration, what: &str) -> Result<String, String> {
    use std::io::Read;
    use std::process::Stdio;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{what}: cannot start: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| format!("{what}: {e}"))? {
            Some(status) => break status,
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: not done after {timeout:?}, killed"));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut out).map_err(|e| format!("{what}: reading stdout: {e}"))?;
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_string(&mut err).map_err(|e| format!("{what}: reading stderr: {e}"))?;
    }
    if !status.success() {
        return Err(format!("{what}: {status}: {}", err.trim()));
    }
    Ok(out)
}
