//! Output: the text table, markdown, JSON, the targets check, and the
//! line format the libgomp child process prints for its parent.

use crate::measure::Measured;
use phalanx_omp_baseline::Construct;

/// One construct, both sides.
pub struct Row {
    pub construct: Construct,
    pub phalanx: Measured,
    pub libgomp: Measured,
}

impl Row {
    /// phalanx / libgomp medians, when both exist and libgomp's is positive
    /// (an overhead at or below the noise floor has no meaningful ratio).
    pub fn ratio(&self) -> Option<f64> {
        match (self.phalanx.median(), self.libgomp.median()) {
            (Some(p), Some(l)) if l > 0.0 => Some(p / l),
            _ => None,
        }
    }
}

/// The run's settings, printed once.
pub struct Context {
    pub threads: usize,
    pub phalanx_policy: String,
    pub omp_policy: String,
}

fn cell(m: &Measured) -> (String, String) {
    match m {
        Measured::NotApplicable => ("n/a".into(), String::new()),
        Measured::Failed(e) => ("error".into(), e.chars().take(40).collect()),
        Measured::Overhead { median, min, max, sd } => {
            (format!("{median:.3}"), format!("[{min:.3}, {max:.3}] sd {sd:.3}"))
        }
    }
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{r:.2}"))
}

/// The plain-text table.
pub fn text_table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<14} {:>10} {:<30} {:>10} {:<30} {:>7}\n",
        "construct", "phalanx us", "  [min, max] sd", "libgomp us", "  [min, max] sd", "ratio"
    );
    for r in rows {
        let (pm, pr) = cell(&r.phalanx);
        let (lm, lr) = cell(&r.libgomp);
        s += &format!(
            "{:<14} {:>10} {:<30} {:>10} {:<30} {:>7}\n",
            r.construct.to_string(),
            pm,
            format!("  {pr}"),
            lm,
            format!("  {lr}"),
            ratio_text(r.ratio())
        );
    }
    s
}

/// The markdown table (for BENCHMARKS.md).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| construct | phalanx µs (median) | phalanx [min, max] | libgomp µs (median) | libgomp [min, max] | ratio |\n\
         |---|---:|---|---:|---|---:|\n",
    );
    for r in rows {
        let (pm, pr) = cell(&r.phalanx);
        let (lm, lr) = cell(&r.libgomp);
        s += &format!("| {} | {pm} | {pr} | {lm} | {lr} | {} |\n", r.construct, ratio_text(r.ratio()));
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

/// One JSON array; extra fields after the documented seven give the spread.
pub fn json(rows: &[Row], cx: &Context) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let (pmin, pmax, psd) = bounds(&r.phalanx);
            let (lmin, lmax, lsd) = bounds(&r.libgomp);
            format!(
                "{{\"construct\":{},\"threads\":{},\"phalanx_us\":{},\"libgomp_us\":{},\"ratio\":{},\
                 \"phalanx_policy\":{},\"omp_wait_policy\":{},\"phalanx_min_us\":{},\"phalanx_max_us\":{},\
                 \"phalanx_sd_us\":{},\"libgomp_min_us\":{},\"libgomp_max_us\":{},\"libgomp_sd_us\":{}}}",
                json_str(&r.construct.to_string()),
                cx.threads,
                json_num(r.phalanx.median()),
                json_num(r.libgomp.median()),
                json_num(r.ratio()),
                json_str(&cx.phalanx_policy),
                json_str(&cx.omp_policy),
                json_num(pmin),
                json_num(pmax),
                json_num(psd),
                json_num(lmin),
                json_num(lmax),
                json_num(lsd),
            )
        })
        .collect();
    format!("[\n  {}\n]\n", items.join(",\n  "))
}

/// The targets: ratio <= 0.5 for these five at the default policy,
/// and BARRIER <= 0.2 when oversubscribed.
pub fn targets(rows: &[Row], oversubscribed: bool, default_policies: bool) -> String {
    let mut goals: Vec<(Construct, f64)> =
        [Construct::Barrier, Construct::For, Construct::Parallel, Construct::Reduction, Construct::Single]
            .into_iter()
            .map(|c| (c, 0.5))
            .collect();
    if oversubscribed {
        goals.push((Construct::Barrier, 0.2));
    }
    let mut s = format!(
        "targets (issue 6: phalanx/libgomp <= 0.5; BARRIER <= 0.2 oversubscribed){}:\n",
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
/// `ref <µs per delay>`, `row <construct> <median> <min> <max> <sd>`,
/// `fail <construct> <message>`. Rust's `f64` `Display` round-trips.
pub fn child_lines(reference: f64, rows: &[(Construct, Measured)]) -> String {
    let mut s = format!("ref\t{reference}\n");
    for (c, m) in rows {
        match m {
            Measured::Overhead { median, min, max, sd } => s += &format!("row\t{c}\t{median}\t{min}\t{max}\t{sd}\n"),
            Measured::Failed(e) => s += &format!("fail\t{c}\t{}\n", e.replace(['\t', '\n'], " ")),
            Measured::NotApplicable => s += &format!("fail\t{c}\tnot applicable\n"),
        }
    }
    s
}

/// Parses [`child_lines`] output back, for `constructs`. Errors say which
/// line is malformed.
pub fn parse_child(out: &str, constructs: &[Construct]) -> Result<(f64, Vec<Measured>), String> {
    let mut reference = None;
    let mut got: Vec<Measured> =
        constructs.iter().map(|_| Measured::Failed("missing from child output".into())).collect();
    let num = |s: &str, line: &str| s.parse::<f64>().map_err(|_| format!("bad number {s:?} in child line {line:?}"));
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let slot = |name: &str| constructs.iter().position(|c| c.to_string() == name);
        match f.as_slice() {
            ["ref", v] => reference = Some(num(v, line)?),
            ["row", name, med, min, max, sd] => {
                let i = slot(name).ok_or_else(|| format!("unknown construct in child line {line:?}"))?;
                got[i] = Measured::Overhead {
                    median: num(med, line)?,
                    min: num(min, line)?,
                    max: num(max, line)?,
                    sd: num(sd, line)?,
                };
            }
            ["fail", name, msg] => {
                let i = slot(name).ok_or_else(|| format!("unknown construct in child line {line:?}"))?;
                got[i] = Measured::Failed((*msg).to_string());
            }
            _ => return Err(format!("malformed child line {line:?}")),
        }
    }
    Ok((reference.ok_or("child printed no reference line")?, got))
}
