//! Three programs from the classic task suites (BOTS-style), written for
//! phalanx with one task per piece of work, each checked against a serial
//! run, and timed against rayon:
//!
//! * **N-queens**: count the placements; a task per candidate column down to
//!   a cut-off depth, values returned through `ctx.spawn` handles (the
//!   literal port of `#pragma omp task` + `taskwait`).
//! * **merge sort**: a task for one half (`TaskScope::spawn_if` above a
//!   cut-off), the other half in place; merges serial.
//! * **sparse LU** (blocked, no pivoting, as BOTS SparseLU): `lu0`, `fwd`,
//!   `bdiv`, `bmod` block tasks ordered only by `depend` on the blocks they
//!   read and write, all created by one thread (fill-in blocks allocated by
//!   the creator). rayon has no dependences, so its version runs the same
//!   kernels phase by phase (a barrier between `fwd`/`bdiv` and `bmod`).
//!
//! Exit status 1 if any result differs from the serial one.
//!
//! `cargo run --release --example task_suite -- --threads 2` (`--quick` for a
//! small run, `--reps R`)

use phalanx::tasks::{DepKey, Depend};
use phalanx::{Ctx, Team};
use rayon::prelude::*;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- N-queens

fn safe(cols: &[u8], col: u8) -> bool {
    let row = cols.len();
    cols.iter().enumerate().all(|(r, &c)| c != col && (row - r) as i32 != (i32::from(col) - i32::from(c)).abs())
}

fn queens_serial(n: u8, cols: &mut Vec<u8>) -> u64 {
    if cols.len() == n as usize {
        return 1;
    }
    let mut total = 0;
    for col in 0..n {
        if safe(cols, col) {
            cols.push(col);
            total += queens_serial(n, cols);
            cols.pop();
        }
    }
    total
}

fn queens_phalanx(ctx: &Ctx<'_>, n: u8, cols: Vec<u8>, cutoff: usize) -> u64 {
    if cols.len() >= cutoff {
        return queens_serial(n, &mut cols.clone());
    }
    let handles: Vec<_> = (0..n)
        .filter(|&col| safe(&cols, col))
        .map(|col| {
            let mut next = cols.clone();
            next.push(col);
            ctx.spawn(move |ctx| queens_phalanx(ctx, n, next, cutoff))
        })
        .collect();
    handles.into_iter().map(|h| h.join()).sum()
}

fn queens_rayon(n: u8, cols: Vec<u8>, cutoff: usize) -> u64 {
    if cols.len() >= cutoff {
        return queens_serial(n, &mut cols.clone());
    }
    (0..n)
        .into_par_iter()
        .filter(|&col| safe(&cols, col))
        .map(|col| {
            let mut next = cols.clone();
            next.push(col);
            queens_rayon(n, next, cutoff)
        })
        .sum()
}

// -------------------------------------------------------------- merge sort

fn merge(a: &[u64], b: &[u64], out: &mut [u64]) {
    let (mut i, mut j) = (0, 0);
    for o in out.iter_mut() {
        if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            *o = a[i];
            i += 1;
        } else {
            *o = b[j];
            j += 1;
        }
    }
}

/// Sort `v` using `tmp` (same length) as scratch.
fn msort_serial(v: &mut [u64], tmp: &mut [u64]) {
    if v.len() <= 32 {
        v.sort_unstable();
        return;
    }
    let mid = v.len() / 2;
    {
        let (l, r) = v.split_at_mut(mid);
        let (tl, tr) = tmp.split_at_mut(mid);
        msort_serial(l, tl);
        msort_serial(r, tr);
    }
    merge(&v[..mid], &v[mid..], tmp);
    v.copy_from_slice(tmp);
}

fn msort_phalanx(ctx: &Ctx<'_>, v: &mut [u64], tmp: &mut [u64], cutoff: usize) {
    if v.len() <= cutoff {
        return msort_serial(v, tmp);
    }
    let mid = v.len() / 2;
    {
        let (l, r) = v.split_at_mut(mid);
        let (tl, tr) = tmp.split_at_mut(mid);
        ctx.task_scope(|s| {
            s.spawn(move |ctx| msort_phalanx(ctx, l, tl, cutoff));
            msort_phalanx(ctx, r, tr, cutoff);
        });
    }
    merge(&v[..mid], &v[mid..], tmp);
    v.copy_from_slice(tmp);
}

fn msort_rayon(v: &mut [u64], tmp: &mut [u64], cutoff: usize) {
    if v.len() <= cutoff {
        return msort_serial(v, tmp);
    }
    let mid = v.len() / 2;
    {
        let (l, r) = v.split_at_mut(mid);
        let (tl, tr) = tmp.split_at_mut(mid);
        rayon::join(|| msort_rayon(l, tl, cutoff), || msort_rayon(r, tr, cutoff));
    }
    merge(&v[..mid], &v[mid..], tmp);
    v.copy_from_slice(tmp);
}

// --------------------------------------------------------------- sparse LU

/// A blocked matrix: `nb × nb` blocks of `bs × bs`, some absent (zero).
struct Blocks {
    nb: usize,
    bs: usize,
    /// Row-major blocks; a fill-in block is set once by the task creator.
    b: Vec<OnceLock<Mutex<Vec<f64>>>>,
}

impl Blocks {
    /// BOTS-like pattern: diagonal and near-diagonal blocks, plus a sparse
    /// scatter; diagonally dominant, so no pivoting is needed.
    fn new(nb: usize, bs: usize) -> Blocks {
        let b: Vec<OnceLock<Mutex<Vec<f64>>>> = (0..nb * nb).map(|_| OnceLock::new()).collect();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..nb {
            for j in 0..nb {
                let present = i == j || i.abs_diff(j) == 1 || (i * 7 + j * 3) % 5 == 0;
                if !present {
                    continue;
                }
                let block: Vec<f64> = (0..bs * bs)
                    .map(|k| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let v = (seed % 1000) as f64 / 1000.0 - 0.5;
                        if i == j && k / bs == k % bs {
                            v + (nb * bs) as f64
                        } else {
                            v
                        }
                    })
                    .collect();
                let _ = b[i * nb + j].set(Mutex::new(block));
            }
        }
        Blocks { nb, bs, b }
    }

    fn at(&self, i: usize, j: usize) -> Option<&Mutex<Vec<f64>>> {
        self.b[i * self.nb + j].get()
    }

    /// The block, allocated (zero) if absent: fill-in.
    fn or_zero(&self, i: usize, j: usize) -> &Mutex<Vec<f64>> {
        self.b[i * self.nb + j].get_or_init(|| Mutex::new(vec![0.0; self.bs * self.bs]))
    }

    fn snapshot(&self) -> Vec<Option<Vec<f64>>> {
        self.b.iter().map(|c| c.get().map(|m| m.lock().unwrap().clone())).collect()
    }
}

fn lu0(d: &mut [f64], bs: usize) {
    for k in 0..bs {
        for i in k + 1..bs {
            d[i * bs + k] /= d[k * bs + k];
            for j in k + 1..bs {
                d[i * bs + j] -= d[i * bs + k] * d[k * bs + j];
            }
        }
    }
}

fn fwd(d: &[f64], col: &mut [f64], bs: usize) {
    for k in 0..bs {
        for i in k + 1..bs {
            for j in 0..bs {
                col[i * bs + j] -= d[i * bs + k] * col[k * bs + j];
            }
        }
    }
}

fn bdiv(d: &[f64], row: &mut [f64], bs: usize) {
    for i in 0..bs {
        for k in 0..bs {
            row[i * bs + k] /= d[k * bs + k];
            for j in k + 1..bs {
                row[i * bs + j] -= row[i * bs + k] * d[k * bs + j];
            }
        }
    }
}

fn bmod(row: &[f64], col: &[f64], inner: &mut [f64], bs: usize) {
    for i in 0..bs {
        for j in 0..bs {
            let mut s = 0.0;
            for k in 0..bs {
                s += row[i * bs + k] * col[k * bs + j];
            }
            inner[i * bs + j] -= s;
        }
    }
}

/// The three kernels on blocks; locks are uncontended (the order comes
/// from the caller: serial, dependences, or phases).
fn do_lu0(m: &Blocks, k: usize) {
    lu0(&mut m.at(k, k).unwrap().lock().unwrap(), m.bs);
}
fn do_fwd(m: &Blocks, k: usize, j: usize) {
    let d = m.at(k, k).unwrap().lock().unwrap().clone();
    fwd(&d, &mut m.at(k, j).unwrap().lock().unwrap(), m.bs);
}
fn do_bdiv(m: &Blocks, k: usize, i: usize) {
    let d = m.at(k, k).unwrap().lock().unwrap().clone();
    bdiv(&d, &mut m.at(i, k).unwrap().lock().unwrap(), m.bs);
}
fn do_bmod(m: &Blocks, k: usize, i: usize, j: usize) {
    let row = m.at(i, k).unwrap().lock().unwrap().clone();
    let col = m.at(k, j).unwrap().lock().unwrap().clone();
    bmod(&row, &col, &mut m.at(i, j).unwrap().lock().unwrap(), m.bs);
}

fn lu_serial(m: &Blocks) {
    let nb = m.nb;
    for k in 0..nb {
        do_lu0(m, k);
        for j in k + 1..nb {
            if m.at(k, j).is_some() {
                do_fwd(m, k, j);
            }
        }
        for i in k + 1..nb {
            if m.at(i, k).is_some() {
                do_bdiv(m, k, i);
            }
        }
        for i in k + 1..nb {
            for j in k + 1..nb {
                if m.at(i, k).is_some() && m.at(k, j).is_some() {
                    m.or_zero(i, j);
                    do_bmod(m, k, i, j);
                }
            }
        }
    }
}

fn lu_phalanx<'a>(ctx: &Ctx<'a>, m: &'a Blocks) {
    let nb = m.nb;
    let key = |i: usize, j: usize| DepKey::Id((i * nb + j) as u64);
    for k in 0..nb {
        ctx.task_depend(&[Depend::InOut(key(k, k))], move |_| do_lu0(m, k));
        for j in k + 1..nb {
            if m.at(k, j).is_some() {
                ctx.task_depend(&[Depend::In(key(k, k)), Depend::InOut(key(k, j))], move |_| do_fwd(m, k, j));
            }
        }
        for i in k + 1..nb {
            if m.at(i, k).is_some() {
                ctx.task_depend(&[Depend::In(key(k, k)), Depend::InOut(key(i, k))], move |_| do_bdiv(m, k, i));
            }
        }
        for i in k + 1..nb {
            for j in k + 1..nb {
                if m.at(i, k).is_some() && m.at(k, j).is_some() {
                    m.or_zero(i, j);
                    let deps = [Depend::In(key(i, k)), Depend::In(key(k, j)), Depend::InOut(key(i, j))];
                    ctx.task_depend(&deps, move |_| do_bmod(m, k, i, j));
                }
            }
        }
    }
}

fn lu_rayon(m: &Blocks) {
    let nb = m.nb;
    for k in 0..nb {
        do_lu0(m, k);
        rayon::join(
            || (k + 1..nb).into_par_iter().filter(|&j| m.at(k, j).is_some()).for_each(|j| do_fwd(m, k, j)),
            || (k + 1..nb).into_par_iter().filter(|&i| m.at(i, k).is_some()).for_each(|i| do_bdiv(m, k, i)),
        );
        let pairs: Vec<(usize, usize)> = (k + 1..nb)
            .flat_map(|i| (k + 1..nb).map(move |j| (i, j)))
            .filter(|&(i, j)| m.at(i, k).is_some() && m.at(k, j).is_some())
            .collect();
        for &(i, j) in &pairs {
            m.or_zero(i, j);
        }
        pairs.par_iter().for_each(|&(i, j)| do_bmod(m, k, i, j));
    }
}

// -------------------------------------------------------------------- main

struct Args {
    threads: usize,
    reps: usize,
    queens: u8,
    sort_len: usize,
    lu: (usize, usize),
}

fn parse() -> Result<Args, String> {
    let mut a = Args { threads: 2, reps: 5, queens: 11, sort_len: 2_000_000, lu: (24, 32) };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse::<usize>().map_err(|_| format!("{name} {v}: not a whole number"))
        };
        match flag.as_str() {
            "--threads" => a.threads = num("--threads")?.max(1),
            "--reps" => a.reps = num("--reps")?.max(1),
            "--quick" => {
                a.reps = 1;
                a.queens = 8;
                a.sort_len = 100_000;
                a.lu = (8, 16);
            }
            "--help" | "-h" => return Err("flags: --threads T --reps R --quick".into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn median_time<R>(reps: usize, mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], last.expect("reps >= 1"))
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("task_suite: {e}");
            return ExitCode::from(2);
        }
    };
    let team = Team::builder().num_threads(a.threads).build().expect("team");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(a.threads).build().expect("rayon pool");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut ok = true;
    println!("threads = {}, medians of {} runs", a.threads, a.reps);
    println!();
    println!("| program | serial ms | phalanx ms | rayon ms | phalanx / rayon | result |");
    println!("|---|---:|---:|---:|---:|---|");

    // N-queens, tasks down to depth 3.
    let n = a.queens;
    let (ts, want) = median_time(a.reps, || queens_serial(n, &mut Vec::new()));
    let (tp, got) = median_time(a.reps, || {
        let out = AtomicU64::new(0);
        team.parallel(|ctx| {
            ctx.single(|| out.store(queens_phalanx(ctx, n, Vec::new(), 3), Ordering::Relaxed));
        });
        out.into_inner()
    });
    let (tr, got_r) = median_time(a.reps, || pool.install(|| queens_rayon(n, Vec::new(), 3)));
    let good = got == want && got_r == want;
    ok &= good;
    println!(
        "| {n}-queens (tasks to depth 3, spawn/join) | {:.1} | {:.1} | {:.1} | {:.2} | {} ({want} solutions) |",
        ms(ts),
        ms(tp),
        ms(tr),
        tp.as_secs_f64() / tr.as_secs_f64(),
        if good { "ok" } else { "WRONG" }
    );

    // Merge sort.
    let input: Vec<u64> = {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..a.sort_len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            })
            .collect()
    };
    let mut sorted = input.clone();
    sorted.sort_unstable();
    let cutoff = 4096;
    let (ts, vs) = median_time(a.reps, || {
        let (mut v, mut t) = (input.clone(), vec![0; input.len()]);
        msort_serial(&mut v, &mut t);
        v
    });
    let (tp, vp) = median_time(a.reps, || {
        let (mut v, mut t) = (input.clone(), vec![0; input.len()]);
        let (vr, tr) = (&mut v, &mut t);
        let cell = Mutex::new(Some((vr, tr)));
        team.parallel(|ctx| {
            ctx.single(|| {
                let (v, t) = cell.lock().unwrap().take().expect("one single");
                msort_phalanx(ctx, v, t, cutoff);
            })
        });
        v
    });
    let (tr, vr) = median_time(a.reps, || {
        let (mut v, mut t) = (input.clone(), vec![0; input.len()]);
        pool.install(|| msort_rayon(&mut v, &mut t, cutoff));
        v
    });
    let good = vs == sorted && vp == sorted && vr == sorted;
    ok &= good;
    println!(
        "| merge sort of {} u64 (cut-off {cutoff}) | {:.1} | {:.1} | {:.1} | {:.2} | {} |",
        a.sort_len,
        ms(ts),
        ms(tp),
        ms(tr),
        tp.as_secs_f64() / tr.as_secs_f64(),
        if good { "ok" } else { "WRONG" }
    );

    // Sparse LU.
    let (nb, bs) = a.lu;
    let (ts, want) = median_time(a.reps, || {
        let m = Blocks::new(nb, bs);
        lu_serial(&m);
        m.snapshot()
    });
    let (tp, got) = median_time(a.reps, || {
        let m = Blocks::new(nb, bs);
        team.parallel(|ctx| ctx.single(|| lu_phalanx(ctx, &m)));
        m.snapshot()
    });
    let (tr, got_r) = median_time(a.reps, || {
        let m = Blocks::new(nb, bs);
        pool.install(|| lu_rayon(&m));
        m.snapshot()
    });
    // Same operations on every block in the same order: bit-identical.
    let good = got == want && got_r == want;
    ok &= good;
    println!(
        "| sparse LU {nb}×{nb} blocks of {bs}×{bs} (depend) | {:.1} | {:.1} | {:.1} | {:.2} | {} |",
        ms(ts),
        ms(tp),
        ms(tr),
        tp.as_secs_f64() / tr.as_secs_f64(),
        if good { "ok" } else { "WRONG" }
    );
    println!();
    println!("(times include building the input; the serial column runs on one thread)");
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("task_suite: a result differs from the serial run");
        ExitCode::FAILURE
    }
}
