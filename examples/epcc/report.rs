//! Output: the text table, markdown, JSON, the targets check, and the
//! line format a C OpenMP child process (libgomp or libomp) prints for its
//! parent.

use crate::measure::Measured;
use phalanx_omp_baseline::Construct;

/// One construct, every side.
pub struct Row {
    pub construct: Construct,
    pub phalanx: Measured,
    pub libgomp: Measured,
    pub libomp: Measured,
}

/// phalanx / `c` medians, when both exist and `c`'s is positive (an
/// overhead at or below the noise floor has no meaningful ratio).
fn ratio_of(p: &Measured, c: &Measured) -> Option<f64> {
    match (p.median(), c.median()) {
        (Some(p), Some(c)) if c > 0.0 => Some(p / c),
        _ => None,
    }
}

impl Row {
    /// phalanx / libgomp.
    pub fn ratio(&self) -> Option<f64> {
        ratio_of(&self.phalanx, &self.libgomp)
    }

    /// phalanx / libomp.
    pub fn ratio_libomp(&self) -> Option<f64> {
        ratio_of(&self.phalanx, &self.libomp)
    }
}

/// The run's settings, printed once.
pub struct Context {
    pub threads: usize,
    pub phalanx_policy: String,
    pub omp_policy: String,
}

/// The text a table cell shows for an unreliable measurement.
pub const UNRELIABLE: &str = "unreliable (reference > time)";

fn cell(m: &Measured) -> (String, String) {
    match m {
        Measured::NotApplicable => ("n/a".into(), String::new()),
        Measured::Skipped(why) => ("skipped".into(), why.chars().take(40).collect()),
        Measured::Failed(e) => ("error".into(), e.chars().take(40).collect()),
        Measured::Unreliable { time, reference } => {
            (UNRELIABLE.into(), format!("time {time:.3}, delays alone {reference:.3} (re-measured)"))
        }
        Measured::Overhead { median, min, max, sd, reference } => {
            let r = if reference.is_finite() { format!(" ref {reference:.4}") } else { String::new() };
            (format!("{median:.3}"), format!("[{min:.3}, {max:.3}] sd {sd:.3}{r}"))
        }
    }
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{r:.2}"))
}

/// The plain-text table.
pub fn text_table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<14} {:>10} {:>10} {:>10} {:>8} {:>8}  {:<38} {:<38} {:<38}\n",
        "construct",
        "phalanx us",
        "libgomp us",
        "libomp us",
        "/gomp",
        "/libomp",
        "phalanx [min, max] sd ref/delay",
        "libgomp [min, max] sd ref/delay",
        "libomp [min, max] sd ref/delay"
    );
    for r in rows {
        let (pm, pr) = cell(&r.phalanx);
        let (gm, gr) = cell(&r.libgomp);
        let (lm, lr) = cell(&r.libomp);
        s += &format!(
            "{:<14} {pm:>10} {gm:>10} {lm:>10} {:>8} {:>8}  {pr:<38} {gr:<38} {lr:<38}\n",
            r.construct.to_string(),
            ratio_text(r.ratio()),
            ratio_text(r.ratio_libomp()),
        );
    }
    s
}

/// The markdown table (for BENCHMARKS.md).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| construct | phalanx µs | libgomp µs | libomp µs | phalanx / libgomp | phalanx / libomp | \
         phalanx [min, max] sd, ref µs/delay | libgomp [min, max] sd, ref | libomp [min, max] sd, ref |\n\
         |---|---:|---:|---:|---:|---:|---|---|---|\n",
    );
    for r in rows {
        let (pm, pr) = cell(&r.phalanx);
        let (gm, gr) = cell(&r.libgomp);
        let (lm, lr) = cell(&r.libomp);
        s += &format!(
            "| {} | {pm} | {gm} | {lm} | {} | {} | {pr} | {gr} | {lr} |\n",
            r.construct,
            ratio_text(r.ratio()),
            ratio_text(r.ratio_libomp())
        );
    }
    s
}

fn json_num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "null".into(),
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn bounds(m: &Measured) -> (Option<f64>, Option<f64>, Option<f64>) {
    match m {
        Measured::Overhead { min, max, sd, .. } => (Some(*min), Some(*max), Some(*sd)),
        _ => (None, None, None),
    }
}

/// A side's status word for JSON: `ok`, `unreliable`, `skipped`, `failed`, `n/a`.
fn status(m: &Measured) -> &'static str {
    match m {
        Measured::Overhead { .. } => "ok",
        Measured::Unreliable { .. } => "unreliable",
        Measured::Skipped(_) => "skipped",
        Measured::Failed(_) => "failed",
        Measured::NotApplicable => "n/a",
    }
}

fn side_json(name: &str, m: &Measured) -> String {
    let (min, max, sd) = bounds(m);
    format!(
        "\"{name}_min_us\":{},\"{name}_max_us\":{},\"{name}_sd_us\":{},\"{name}_ref_us_per_delay\":{},\
         \"{name}_status\":{}",
        json_num(min),
        json_num(max),
        json_num(sd),
        json_num(m.reference()),
        json_str(status(m))
    )
}

/// One JSON array; extra fields after the documented seven give libomp,
/// the spread, the references and each side's status.
pub fn json(rows: &[Row], cx: &Context) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"construct\":{},\"threads\":{},\"phalanx_us\":{},\"libgomp_us\":{},\"ratio\":{},\
                 \"phalanx_policy\":{},\"omp_wait_policy\":{},\"libomp_us\":{},\"ratio_libomp\":{},{},{},{}}}",
                json_str(&r.construct.to_string()),
                cx.threads,
                json_num(r.phalanx.median()),
                json_num(r.libgomp.median()),
                json_num(r.ratio()),
                json_str(&cx.phalanx_policy),
                json_str(&cx.omp_policy),
                json_num(r.libomp.median()),
                json_num(r.ratio_libomp()),
                side_json("phalanx", &r.phalanx),
                side_json("libgomp", &r.libgomp),
                side_json("libomp", &r.libomp),
            )
        })
        .collect();
    format!("[\n  {}\n]\n", items.join(",\n  "))
}

/// One line per side: its reference per delay over the rows (median, and
/// the range over rows), so a reader can see both sides' delays cost the same.
pub fn reference_line(name: &str, side: impl Iterator<Item = Option<f64>>) -> String {
    let mut v: Vec<f64> = side.flatten().collect();
    if v.is_empty() {
        return format!("{name}: no reference measured");
    }
    v.sort_by(f64::total_cmp);
    format!(
        "{name}: reference (delay alone, interleaved with its construct runs) {:.4} us per delay, \
         median over {} rows [{:.4}, {:.4}]",
        v[v.len() / 2],
        v.len(),
        v[0],
        v[v.len() - 1]
    )
}

/// The targets: ratio <= 0.5 for these five at the default policy,
/// and BARRIER <= 0.2 when oversubscribed.
pub fn targets(rows: &[Row], oversubscribed: bool, default_policies: bool) -> String {
    let mut goals: Vec<(Construct, f64)> = [
        Construct::Barrier,
        Construct::For,
        Construct::Parallel,
        Construct::Reduction,
        Construct::Single,
        Construct::Ordered,
    ]
    .into_iter()
    .map(|c| (c, 0.5))
    .collect();
    if oversubscribed {
        goals.push((Construct::Barrier, 0.2));
    }
    let mut s = format!(
        "targets (issues 6, 11: phalanx/libgomp <= 0.5; BARRIER <= 0.2 oversubscribed){}:\n",
        if default_policies { "" } else { " [not both default policies: informational]" }
    );
    for (c, goal) in goals {
        let line = match rows.iter().find(|r| r.construct == c) {
            None => "not measured (filtered out)".to_string(),
            Some(r) => match r.ratio() {
                Some(x) => format!(
                    "{} ratio {x:.2} (phalanx {:.3} us / libgomp {:.3} us)",
                    if x <= goal { "PASS" } else { "MISS" },
                    r.phalanx.median().unwrap_or(f64::NAN),
                    r.libgomp.median().unwrap_or(f64::NAN)
                ),
                None => "n/a (no ratio)".to_string(),
            },
        };
        s += &format!("  {:<10} <= {goal:.1}: {line}\n", c.to_string());
    }
    s
}

/// The child's stdout, one line per item, tab-separated:
/// `runtime <library path>`, `row <construct> <median> <min> <max> <sd> <ref>`,
/// `unreliable <construct> <time> <reference>`, `fail <construct> <message>`.
/// Rust's `f64` `Display` round-trips (NaN included).
pub fn child_lines(runtime: &str, rows: &[(Construct, Measured)]) -> String {
    let mut s = format!("runtime\t{}\n", runtime.replace(['\t', '\n'], " "));
    for (c, m) in rows {
        match m {
            Measured::Overhead { median, min, max, sd, reference } => {
                s += &format!("row\t{c}\t{median}\t{min}\t{max}\t{sd}\t{reference}\n")
            }
            Measured::Unreliable { time, reference } => s += &format!("unreliable\t{c}\t{time}\t{reference}\n"),
            Measured::Failed(e) | Measured::Skipped(e) => {
                s += &format!("fail\t{c}\t{}\n", e.replace(['\t', '\n'], " "))
            }
            Measured::NotApplicable => s += &format!("fail\t{c}\tnot applicable\n"),
        }
    }
    s
}

/// Parses [`child_lines`] output back, for `constructs`: the runtime the
/// child loaded and its rows. Errors say which line is malformed.
pub fn parse_child(out: &str, constructs: &[Construct]) -> Result<(String, Vec<Measured>), String> {
    let mut runtime = None;
    let mut got: Vec<Measured> =
        constructs.iter().map(|_| Measured::Failed("missing from child output".into())).collect();
    let num = |s: &str, line: &str| s.parse::<f64>().map_err(|_| format!("bad number {s:?} in child line {line:?}"));
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let slot = |name: &str| {
            constructs
                .iter()
                .position(|c| c.to_string() == name)
                .ok_or_else(|| format!("unknown construct in child line {line:?}"))
        };
        match f.as_slice() {
            ["runtime", path] => runtime = Some((*path).to_string()),
            ["row", name, med, min, max, sd, reference] => {
                got[slot(name)?] = Measured::Overhead {
                    median: num(med, line)?,
                    min: num(min, line)?,
                    max: num(max, line)?,
                    sd: num(sd, line)?,
                    reference: num(reference, line)?,
                };
            }
            ["unreliable", name, time, reference] => {
                got[slot(name)?] = Measured::Unreliable { time: num(time, line)?, reference: num(reference, line)? };
            }
            ["fail", name, msg] => got[slot(name)?] = Measured::Failed((*msg).to_string()),
            _ => return Err(format!("malformed child line {line:?}")),
        }
    }
    Ok((runtime.ok_or("child printed no runtime line")?, got))
}
