#!/usr/bin/env python3
"""Regenerate BENCHMARKS.md from the benchmark tools' own output.

Runs, from the repository root:

    cargo run --release --example compare_wait_strategies -- --out target/bench-report --markdown
    cargo run --release --example epcc -- --threads N --markdown --json-out F   (N = 2 and 8)
    cargo run --release --example region_overhead -- --threads N --json          (N = 2 and 8)
    cargo run --release --example fib_tasks
    cargo run --release --example npb_is -- --class A                            (S with --quick)

then copies the comparison's SVG plots into docs/benchmarks/ (checked in) and
writes BENCHMARKS.md: a summary (per construct, at 2 threads and 8 on the
machine's CPUs: phalanx against the best C runtime of the EPCC run and against
the best Rust peer of region_overhead, with ratios and a verdict computed here
from the tools' JSON), machine, method, how to reproduce, targets (PASS/MISS
as the tools computed them), the tables (pasted from the tools' markdown or
rendered from their JSON, never typed by hand), the plots, and the
hand-written advice in ADVICE below.

Python 3 standard library only. Takes minutes with the defaults; --quick passes
short-budget flags to the tools and, unless --output/--svg-dir are given,
writes under target/bench-report-quick/ instead of the checked-in files.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMPARE_OUT = "target/bench-report"
COMPARE = ["cargo", "run", "--release", "--example", "compare_wait_strategies", "--"]
COMPARE_FLAGS = ["--out", COMPARE_OUT, "--markdown"]
COMPARE_QUICK = ["--threads", "2,4", "--duration-ms", "100", "--cpu-wait-ms", "100"]
EPCC = ["cargo", "run", "--release", "--example", "epcc", "--"]
EPCC_THREADS = [2, 8]
REGION = ["cargo", "run", "--release", "--example", "region_overhead", "--"]
# A ratio inside [1 - BAND, 1 + BAND] reads "on par": not a significance test.
BAND = 0.10
# The summary's Rust-peer rows: EPCC construct -> (region_overhead construct,
# prefix of the phalanx row compared: the default policy, as a user gets it).
PEER_ROWS = {"PARALLEL": ("fork/join", "phalanx predictive"), "BARRIER": ("barrier", "phalanx ctx.barrier")}
SVGS = ["barrier_crossing.svg", "latency_vs_cpu.svg"]

# Hand-written advice: general statements the tables above it show, no numbers.
ADVICE = """\
## Which wait strategy when?

This is advice read off the tables above, in general terms; the numbers
themselves are in the tables and depend on the machine.

- **One core per thread, nothing else running, waits of microseconds: spin.**
  `Spin` (and libgomp with `OMP_WAIT_POLICY=active`) can only be fastest when
  every waiting thread has a core of its own; it pays for that with a full core
  burned per waiting thread for as long as it waits (the idle-CPU table), and
  on a machine where anything else runs it loses even its speed.
- **Not sure: keep the default, `Predictive`.** On waits of unknown or
  irregular length it plans exactly as `Hybrid`: spin for `DEFAULT_HYBRID_SPIN`,
  then block, so short waits see spin-like release latency (the short-gap table)
  while a long wait costs next to no CPU (the idle-CPU table). When a place is
  waited at regularly (a time-step loop's fork every 100 µs … 10 ms) it sleeps
  through most of the gap and spins only through the expected release: spin-like
  overhead per region at a fraction of the CPU (the gap sweep).
- **Shared or oversubscribed machine, long waits: block.** `Block` (like
  `OMP_WAIT_POLICY=passive`, or `std::sync`) costs a futex wake on every
  release, but a waiting thread gives its core to threads that have work.
- **Never spin oversubscribed.** With more threads than cores a spinning
  waiter holds the core the thread it waits for needs; the barrier table shows
  `spin` (and `omp-active`) collapsing by orders of magnitude once the team is
  larger than the machine.
- **Never sleep-poll.** `SleepPoll` is the slowest release in every regime and
  still burns more CPU than blocking: its latency is its sleep interval, not
  the time the work took. It is kept only as the baseline that shows this.
"""

EPCC_GENERIC = """\
The EPCC microbenchmarks (J. M. Bull, *Measuring Synchronisation and
Scheduling Overheads in OpenMP*, 1999) time many repetitions of a construct
around a fixed delay body and subtract the same delays run alone on one
thread; the difference per repetition is the construct's overhead. The epcc
example runs that method on phalanx's constructs and on libgomp's and
libomp's (the same C kernels in `omp-baseline/`)."""

CHECK_LINE = re.compile(r"^\s*(?:[-*]\s+)?(PASS|MISS|SKIP|INFO)\b:?\s*(.*)$")
# epcc prints its targets as "  BARRIER    <= 0.5: MISS ratio 0.67 (...)".
EPCC_CHECK_LINE = re.compile(r"^\s*(?:[-*]\s+)?(\S[^:]*?)\s*:\s*(PASS|MISS)\s+(.*)$")


def run_tool(cmd, what):
    """Runs cmd in the repository root; returns its stdout (stderr passes through)."""
    print(f"benchmarks.py: {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"benchmarks.py: {what} failed with exit code {proc.returncode}")
    return proc.stdout


def sections(markdown):
    """Splits a markdown report into (title, body) by its '## ' headings; the
    text before the first one comes as title ''."""
    out, title, body = [], "", []
    for line in markdown.splitlines():
        if line.startswith("## "):
            out.append((title, "\n".join(body).strip()))
            title, body = line[3:].strip(), []
        elif not line.startswith("# "):
            body.append(line)
    out.append((title, "\n".join(body).strip()))
    return out


def demote(markdown, levels=1):
    """Moves every heading down `levels` levels (## -> ###)."""
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + levels) + " ", markdown, flags=re.M)


def checks(markdown, source):
    """The PASS/MISS/SKIP/INFO lines a tool printed, as (verdict, text, source)."""
    found = []
    for line in markdown.splitlines():
        m = CHECK_LINE.match(line)
        if m:
            found.append((m.group(1), m.group(2).strip(), source))
            continue
        m = EPCC_CHECK_LINE.match(line)
        if m:
            found.append((m.group(2), f"{' '.join(m.group(1).split())}: {m.group(3).strip()}", source))
    return found


def machine_line(machine):
    """CPU, CPU count, kernel and OpenMP runtime from the comparison's machine table, on one line."""
    cells = {}
    for line in machine.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) == 2:
            cells[parts[0]] = parts[1]
    keys = ["CPU", "CPUs available", "kernel", "rustc", "OpenMP runtime"]
    return ", ".join(f"{k}: {cells[k]}" for k in keys if k in cells) or "see Machine"


def epcc_header():
    """The leading //! doc comment of examples/epcc/main.rs, as text."""
    lines = []
    with open(os.path.join(ROOT, "examples", "epcc", "main.rs"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("//!"):
                if lines:
                    break
                continue
            lines.append(line[3:].rstrip("\n")[1:] if line[3:4] == " " else line[3:].rstrip("\n"))
    text = "\n".join(lines).strip()
    # Code fences in the header are shell commands; keep them as they are.
    return text or EPCC_GENERIC


def epcc_flags(quick):
    """Flags for the epcc example beyond --threads/--markdown, from its --help."""
    help_text = run_tool(EPCC + ["--help"], "epcc --help")
    flags = ["--quick"] if quick and "--quick" in help_text else []
    return help_text, flags


def verdict(ratio):
    """Words for a phalanx / other ratio (BAND either side of 1 is on par)."""
    if ratio is None:
        return "no verdict (a side has no number)"
    if ratio < 1 - BAND:
        return "phalanx faster"
    if ratio > 1 + BAND:
        return "phalanx slower"
    return f"on par (within {BAND:.0%})"


def fmt_us(x):
    return "-" if x is None else f"{x:.3f}"


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def side_text(row, side):
    """A side's median as text, or its status when there is no number."""
    v = row.get(f"{side}_us")
    if v is not None:
        return fmt_us(v)
    status = row.get(f"{side}_status", "n/a")
    return "unreliable (reference > time)" if status == "unreliable" else status


def best_c(row):
    """(median, runtime) of the faster C runtime with a positive median, or (None, why)."""
    found = [(row[f"{k}_us"], k) for k in ("libgomp", "libomp") if row.get(f"{k}_us") is not None and row[f"{k}_us"] > 0]
    if not found:
        return None, "/".join(side_text(row, k) for k in ("libgomp", "libomp"))
    return min(found)


def median(values):
    v = sorted(values)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def summary_rows(epcc_rows):
    """The EPCC rows for the summary: every synchronisation and task construct,
    and one line per schedule kind (medians over its chunk sizes, of the rows
    where phalanx and a C runtime both have a number)."""
    out, kinds = [], {}
    for r in epcc_rows:
        name = r["construct"]
        kind = name.split("_")[0]
        if kind in ("STATIC", "DYNAMIC", "GUIDED"):
            kinds.setdefault(kind, []).append(r)
        else:
            out.append((name, r["phalanx_us"], side_text(r, "phalanx"), *best_c(r)))
    for kind, rows in kinds.items():
        pairs = [(r["phalanx_us"], best_c(r)) for r in rows]
        good = [(p, c) for p, c in pairs if p is not None and c[0] is not None]
        p = median([p for p, _ in good])
        c = median([c[0] for _, c in good])
        runtimes = sorted({c[1] for _, c in good})
        label = f"{kind}* (median of {len(good)} of {len(rows)} chunk rows)"
        out.append((label, p, fmt_us(p), c, "/".join(runtimes) if c is not None else "no rows with both"))
    return out


def summary(epcc_json, region_json):
    """The summary table, from the tools' JSON (epcc_json, region_json: thread count -> rows)."""
    lines = ["| construct | threads | phalanx µs | best C runtime µs (which) | phalanx / C | verdict vs C | "
             "phalanx µs, empty (region_overhead) | best Rust peer µs (which) | phalanx / peer | verdict vs peer |",
             "|---|---:|---:|---|---:|---|---:|---|---:|---|"]
    for n in sorted(epcc_json):
        region = region_json.get(n, [])
        for name, p, p_text, c, c_name in summary_rows(epcc_json[n]):
            ratio = p / c if p is not None and c is not None and c > 0 else None
            c_cell = f"{fmt_us(c)} ({c_name})" if c is not None else c_name
            peer_cells = ["-", "(no Rust peer measured)", "-", "-"]
            if name in PEER_ROWS and region:
                construct, prefix = PEER_ROWS[name]
                mine = [r for r in region if r["construct"] == construct and r["impl"].startswith(prefix)]
                peers = [r for r in region if r["construct"] == construct and r["kind"] == "peer"]
                if mine and peers:
                    best = min(peers, key=lambda r: r["us"])
                    pr = mine[0]["us"] / best["us"] if best["us"] > 0 else None
                    peer_cells = [f"{mine[0]['us']:.3f} ({mine[0]['impl']})", f"{best['us']:.3f} ({best['impl']})",
                                  fmt_ratio(pr), verdict(pr)]
            lines.append(f"| {name} | {n} | {p_text} | {c_cell} | {fmt_ratio(ratio)} | {verdict(ratio)} | "
                         + " | ".join(peer_cells) + " |")
    return "\n".join(lines)


def region_table(rows):
    """region_overhead's JSON rows as a markdown table."""
    lines = ["| construct | implementation | kind | µs per call | calls timed |", "|---|---|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['construct']} | {r['impl']} | {r['kind']} | {r['us']:.3f} | {r['calls']} |")
    return "\n".join(lines)


def epcc_load(md):
    """The load-average lines epcc printed in its markdown header."""
    return [line.lstrip("- ").strip() for line in md.splitlines() if "load average" in line]


def git_commit():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return rev + (" (uncommitted changes)" if dirty else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short budgets, for testing this script")
    ap.add_argument("--output", help="the markdown file to write [BENCHMARKS.md; quick: target/bench-report-quick/]")
    ap.add_argument("--svg-dir", help="where the plots go [docs/benchmarks; quick: target/bench-report-quick/]")
    opts = ap.parse_args()
    quick_dir = os.path.join(ROOT, "target", "bench-report-quick")
    output = opts.output or (os.path.join(quick_dir, "BENCHMARKS.md") if opts.quick else os.path.join(ROOT, "BENCHMARKS.md"))
    svg_dir = opts.svg_dir or (os.path.join(quick_dir, "docs", "benchmarks") if opts.quick else os.path.join(ROOT, "docs", "benchmarks"))

    compare_cmd = COMPARE + COMPARE_FLAGS + (COMPARE_QUICK if opts.quick else [])
    compare_md = run_tool(compare_cmd, "compare_wait_strategies")
    parts = sections(compare_md)
    machine = dict(parts).get("Machine", "(the comparison printed no machine section)")
    all_checks = checks(dict(parts).get("Checks", ""), "compare_wait_strategies")

    epcc_runs, epcc_json, region_json, region_cmds = [], {}, {}, []
    data_dir = quick_dir if opts.quick else os.path.join(ROOT, COMPARE_OUT)
    os.makedirs(data_dir, exist_ok=True)
    have_epcc = os.path.exists(os.path.join(ROOT, "examples", "epcc", "main.rs"))
    if have_epcc:
        help_text, extra = epcc_flags(opts.quick)
        for n in EPCC_THREADS:
            json_path = os.path.join(data_dir, f"epcc-{n}.json")
            cmd = EPCC + ["--threads", str(n), "--markdown", "--json-out", os.path.relpath(json_path, ROOT)] + extra
            md = run_tool(cmd, f"epcc at {n} threads")
            epcc_runs.append((n, cmd, md))
            with open(json_path, encoding="utf-8") as f:
                epcc_json[n] = json.load(f)
            all_checks += checks(md, f"epcc ({n} threads)")
    for n in EPCC_THREADS:
        cmd = REGION + ["--threads", str(n), "--json"] + (["--quick"] if opts.quick else [])
        region_json[n] = json.loads(run_tool(cmd, f"region_overhead at {n} threads"))
        region_cmds.append(cmd)

    os.makedirs(svg_dir, exist_ok=True)
    for name in SVGS:
        shutil.copyfile(os.path.join(ROOT, COMPARE_OUT, name), os.path.join(svg_dir, name))
    rel_svg = os.path.relpath(svg_dir, os.path.dirname(os.path.abspath(output)))

    out = ["# Benchmarks", ""]
    out.append("Generated by `python3 scripts/benchmarks.py` from the tools' own output: every number below was")
    out.append("printed by the commands in [Reproduce](#reproduce); none is typed by hand. Edit the script, not this file.")
    if opts.quick:
        out += ["", "**QUICK RUN** (`--quick`: short budgets, 2 and 4 threads): numbers are rough; do not check in."]
    cpus = os.cpu_count()
    out += ["", "## Summary", ""]
    out.append(f"Per construct, at {' and '.join(str(n) for n in EPCC_THREADS)} threads on this machine's {cpus} CPUs"
               " (more threads than CPUs is oversubscribed). *phalanx µs* and *best C runtime* are EPCC overheads from")
    out.append("the same `epcc` run (median µs per construct instance; the faster of libgomp and libomp running the same")
    out.append("gcc-built kernels); the Rust-peer columns compare empty constructs from `region_overhead` (phalanx at its")
    out.append("default wait policy against the fastest of threadteam, rayon and `std`; its kind `local` rows and the")
    out.append(f"spin floors are not peers). Verdicts: a ratio below {1 - BAND:.2f} is *phalanx faster*, above {1 + BAND:.2f}"
               " *phalanx slower*; the band is not a significance test, the spreads are in the tables below.")
    out.append("")
    out.append(f"Machine: {machine_line(machine)}; commit {git_commit()}.")
    for n, _, md in epcc_runs:
        out.append(f"Load during epcc at {n} threads: {'; '.join(epcc_load(md)) or 'not printed'}.")
    out.append("")
    out.append(summary(epcc_json, region_json) if epcc_json else "(epcc did not run: no summary)")
    out += ["", "## Machine", "", machine, ""]

    out += ["## Method", ""]
    out.append("`compare_wait_strategies` (`examples/compare_wait_strategies.rs`):")
    out.append("")
    out.append("- **Barrier crossing**: the team's threads are spawned once per cell; batches of crossings are timed on")
    out.append("  party 0, the batch size doubling until a batch takes 1/20 of the cell's budget, then batches run until the")
    out.append("  budget is spent (at least 3, at most 41). The table gives the median over batches of time / crossings.")
    out.append("  A `*` marks a cell where fewer than 100 crossings fit the budget (a collapsing policy).")
    out.append("  `omp-active` / `omp-passive` run libgomp's `#pragma omp barrier` (EPCC's barrier kernel with an empty")
    out.append("  delay) in a child process started with `OMP_WAIT_POLICY` set, with the same batching; each batch is one")
    out.append("  parallel region, libgomp keeping its threads between regions. `libomp-active` / `libomp-passive` run the")
    out.append("  same gcc-built kernel on LLVM's libomp (loaded as `libgomp.so.1` through `LD_LIBRARY_PATH`; skipped with")
    out.append("  a note when libomp is not installed).")
    out.append("- **Release latency**: a master thread works alone for a random time, then opens a `Gate`; the waiter")
    out.append("  records the time from just before `open()` to just after its `wait()` returned. Median and p99 over the")
    out.append("  rounds that fit the budget. The *short gap* (master works 5-40 us) stays inside `DEFAULT_HYBRID_SPIN`, so")
    out.append("  hybrid and adaptive still spin; the *long gap* (200 us-2 ms) is past it, so they have blocked and their")
    out.append("  release is a futex wake.")
    out.append("- **Idle CPU**: one thread waits on a closed gate while the main thread sleeps; the waiter's")
    out.append("  `CLOCK_THREAD_CPUTIME_ID` time divided by the wall time it waited, in ms of CPU per s.")
    out.append("")
    if have_epcc:
        out += ["`epcc` (`examples/epcc/main.rs`), from its header:", "", epcc_header(), ""]
    else:
        out += ["EPCC microbenchmarks: not run (`examples/epcc/main.rs` does not exist).", "", EPCC_GENERIC, ""]

    out += ["## Reproduce", "", "From the repository root, on an otherwise idle machine:", "", "```sh"]
    out.append(" ".join(compare_cmd))
    for _, cmd, _ in epcc_runs:
        out.append(" ".join(cmd))
    for cmd in region_cmds:
        out.append(" ".join(cmd))
    out.append("for i in 1 2 3 4 5; do cargo run --release --example epcc -- --threads 8 --constructs 'parallel,parallel for,reduction,barrier'; done")
    out.append("cargo run --release --example fib_tasks")
    out.append("cargo run --release --example task_spread")
    out.append("cargo run --release --example task_suite")
    out.append("cargo run --release --example gap_sweep -- --markdown --svg-dir docs/benchmarks/gap")
    out.append("cargo run --release --example npb_is -- --class " + ("S" if opts.quick else "A"))
    out.append("cargo bench   # the criterion suites in benches/ (minutes; not part of this file)")
    out.append("python3 scripts/benchmarks.py" + (" --quick" if opts.quick else "") + "   # all of the above, and this file")
    out += ["```", ""]
    out.append(f"`compare_wait_strategies` also writes `summary.md`, `rows.json` and the plots into `{COMPARE_OUT}/`.")
    out.append("")

    out += ["## Targets", "", "As computed by the tools in this run (a MISS is a measurement, not a failure).", ""]
    if all_checks:
        out += ["| verdict | target | tool |", "| --- | --- | --- |"]
        for verdict, text, source in all_checks:
            out.append(f"| {verdict} | {text.replace('|', '/')} | {source} |")
    else:
        out.append("(the tools printed no checks)")
    out.append("")

    out += ["## Wait-strategy comparison", ""]
    for title, body in parts:
        if title and title not in ("Machine", "Checks"):
            out += [f"### {title}", "", demote(body, 1), ""]
    out += ["### Plots", "", f"![Barrier crossing time by team size]({rel_svg}/barrier_crossing.svg)", ""]
    out += [f"![Release latency vs idle CPU]({rel_svg}/latency_vs_cpu.svg)", ""]

    if epcc_runs:
        out += ["## EPCC microbenchmarks", ""]
        for n, _, md in epcc_runs:
            out += [f"### {n} threads", ""]
            for title, body in sections(md):
                if title in ("Machine", "Checks") or not (title or body):
                    continue
                if title:
                    out += [f"#### {title}", ""]
                out += [demote(body, 2), ""]

    out += ["## Fork/join and barrier against Rust peers (`region_overhead`)", ""]
    out.append("Empty constructs, median µs per call over timed batches on one persistent team per row (the example's")
    out.append("header has the method). Kind: `floor` = bare spinning atomics, nothing else; `peer` = another Rust")
    out.append("library; `local` = rayon jobs that mostly run on the thread that made them (not a cross-thread fork).")
    out.append("")
    for n, cmd in zip(EPCC_THREADS, region_cmds):
        out += [f"### {n} threads", "", f"`{' '.join(cmd)}`:", "", region_table(region_json[n]), ""]

    # Tasks and NPB IS: the examples print plain text; pasted verbatim.
    fib_small = ["--n", "24", "--cutoff", "2", "--tasks", "100000", "--reps", "3"] if opts.quick else ["--n", "30", "--cutoff", "2"]
    extra_runs = [
        ("Tasks (`fib_tasks`)", ["cargo", "run", "--release", "--example", "fib_tasks"]),
        ("Tasks, one per call, 1 thread (`fib_tasks`)", ["cargo", "run", "--release", "--example", "fib_tasks", "--", "--threads", "1"] + fib_small),
        ("Tasks, one per call, 2 threads (`fib_tasks`)", ["cargo", "run", "--release", "--example", "fib_tasks", "--", "--threads", "2"] + fib_small),
        ("One producer's tasks over the team (`task_spread`)", ["cargo", "run", "--release", "--example", "task_spread"] + (["--", "--quick"] if opts.quick else [])),
        ("Task suite: N-queens, merge sort, sparse LU (`task_suite`)", ["cargo", "run", "--release", "--example", "task_suite"] + (["--", "--quick"] if opts.quick else [])),
        ("NPB IS (`npb_is`, phalanx only)", ["cargo", "run", "--release", "--example", "npb_is", "--", "--class", "S" if opts.quick else "A"]),
    ]
    for title, cmd in extra_runs:
        text = run_tool(cmd, title)
        out += [f"## {title}", "", f"`{' '.join(cmd)}`:", "", "```text", text.rstrip(), "```", ""]

    # Oversubscribed fork/join, run after run: the same epcc rows several times
    # in a row (issue 12 asks for five, each against libomp in its own run).
    repeat_n, repeat_runs = 8, (2 if opts.quick else 5)
    repeat_constructs = "parallel,parallel for,reduction,barrier"
    repeat_rows = []
    for i in range(repeat_runs):
        json_path = os.path.join(data_dir, f"epcc-{repeat_n}-repeat-{i + 1}.json")
        cmd = EPCC + ["--threads", str(repeat_n), "--constructs", repeat_constructs, "--markdown",
                      "--json-out", os.path.relpath(json_path, ROOT)] + (["--quick"] if opts.quick else [])
        run_tool(cmd, f"epcc at {repeat_n} threads, run {i + 1} of {repeat_runs}")
        with open(json_path, encoding="utf-8") as f:
            repeat_rows.append(json.load(f))
    out += [f"## Oversubscribed fork/join, {repeat_runs} runs in a row (`epcc --threads {repeat_n}`)", ""]
    out.append(f"`{' '.join(EPCC + ['--threads', str(repeat_n), '--constructs', repr(repeat_constructs)])}`, run"
               f" {repeat_runs} times one after another. Per run: phalanx µs / libomp µs (ratio); then the"
               " spread of phalanx's figure over the runs (max / median).")
    out.append("")
    names = [r["construct"] for r in repeat_rows[0]]
    out.append("| construct | " + " | ".join(f"run {i + 1}" for i in range(repeat_runs)) + " | phalanx max / median |")
    out.append("| --- | " + " | ".join("---" for _ in range(repeat_runs)) + " | --- |")
    for name in names:
        cells, mine = [], []
        for rows in repeat_rows:
            row = next((r for r in rows if r["construct"] == name), None)
            if row is None or row.get("phalanx_status") != "ok" or row.get("libomp_us") is None:
                cells.append("n/a")
                continue
            mine.append(row["phalanx_us"])
            cells.append(f"{row['phalanx_us']:.2f} / {row['libomp_us']:.2f} ({row['phalanx_us'] / row['libomp_us']:.2f})")
        spread = f"{max(mine) / median(mine):.2f}" if mine else "n/a"
        out.append(f"| {name} | " + " | ".join(cells) + f" | {spread} |")
    out.append("")

    gap_dir = os.path.join(svg_dir, "gap")
    os.makedirs(gap_dir, exist_ok=True)
    gap_cmd = ["cargo", "run", "--release", "--example", "gap_sweep", "--", "--markdown", "--svg-dir",
               os.path.relpath(gap_dir, ROOT)] + (["--quick"] if opts.quick else [])
    gap_md = run_tool(gap_cmd, "gap_sweep")
    out += ["## Gap sweep: regions separated by serial work (`gap_sweep`)", "", f"`{' '.join(gap_cmd)}`:", "", gap_md.rstrip(), ""]
    for svg in sorted(os.listdir(gap_dir)):
        if svg.endswith(".svg"):
            out += [f"![{svg}]({rel_svg}/gap/{svg})", ""]

    out.append(ADVICE)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(out).rstrip() + "\n")
    print(f"benchmarks.py: wrote {output} and {len(SVGS)} plots into {svg_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
