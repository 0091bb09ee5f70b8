#!/usr/bin/env python3
"""Regenerate BENCHMARKS.md from the benchmark tools' own output.

Runs, from the repository root:

    cargo run --release --example compare_wait_strategies -- --out target/bench-report --markdown
    cargo run --release --example epcc -- --threads N --markdown      (N = 2 and 8, examples/epcc/main.rs)

then copies the comparison's SVG plots into docs/benchmarks/ (checked in) and
writes BENCHMARKS.md: machine, method, how to reproduce, targets (PASS/MISS as
the tools computed them), the tables (pasted from the tools' markdown, never
typed by hand), the plots, and the hand-written advice in ADVICE below.

Python 3 standard library only. Takes minutes with the defaults; --quick passes
short-budget flags to the tools and, unless --output/--svg-dir are given,
writes under target/bench-report-quick/ instead of the checked-in files.
"""

import argparse
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
- **Not sure: keep the default, `Hybrid`.** It spins for `DEFAULT_HYBRID_SPIN`
  and then blocks, so short waits see spin-like release latency (the short-gap
  table) while a long wait costs next to no CPU (the idle-CPU table). Only a
  wait that ends just after the spin budget pays both the spin and a wake.
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
example runs that method on phalanx's constructs and on libgomp's (the C
kernels in `omp-baseline/`)."""

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

    epcc_runs = []
    have_epcc = os.path.exists(os.path.join(ROOT, "examples", "epcc", "main.rs"))
    if have_epcc:
        help_text, extra = epcc_flags(opts.quick)
        for n in EPCC_THREADS:
            cmd = EPCC + ["--threads", str(n), "--markdown"] + extra
            md = run_tool(cmd, f"epcc at {n} threads")
            epcc_runs.append((n, cmd, md))
            all_checks += checks(md, f"epcc ({n} threads)")

    os.makedirs(svg_dir, exist_ok=True)
    for name in SVGS:
        shutil.copyfile(os.path.join(ROOT, COMPARE_OUT, name), os.path.join(svg_dir, name))
    rel_svg = os.path.relpath(svg_dir, os.path.dirname(os.path.abspath(output)))

    out = ["# Benchmarks", ""]
    out.append("Generated by `python3 scripts/benchmarks.py` from the tools' own output: every number below was")
    out.append("printed by the commands in [Reproduce](#reproduce); none is typed by hand. Edit the script, not this file.")
    if opts.quick:
        out += ["", "**QUICK RUN** (`--quick`: short budgets, 2 and 4 threads): numbers are rough; do not check in."]
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
    out.append("  parallel region, libgomp keeping its threads between regions.")
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
    out.append("cargo run --release --example region_overhead")
    out.append("cargo run --release --example fib_tasks")
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

    # Team fork/join and tasks: their examples print plain tables; pasted verbatim.
    extra_runs = [
        ("Team fork/join (`region_overhead`)", ["cargo", "run", "--release", "--example", "region_overhead"]),
        ("Tasks (`fib_tasks`)", ["cargo", "run", "--release", "--example", "fib_tasks"]),
    ]
    for title, cmd in extra_runs:
        text = run_tool(cmd, title)
        out += [f"## {title}", "", f"`{' '.join(cmd)}`:", "", "```text", text.rstrip(), "```", ""]

    out.append(ADVICE)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(out).rstrip() + "\n")
    print(f"benchmarks.py: wrote {output} and {len(SVGS)} plots into {svg_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
