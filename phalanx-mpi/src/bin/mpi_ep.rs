//! NPB EP ("embarrassingly parallel", Bailey et al., NAS Parallel
//! Benchmarks) as a hybrid MPI + phalanx program: Gaussian pairs by the
//! Marsaglia polar method from the NPB linear congruential generator
//! (a = 5^13, modulus 2^46), tallied in ten square annuli, summed over
//! ranks × threads.
//!
//! The 2^(M-16) blocks of 2^16 pairs are dealt round-robin to the ranks;
//! inside a rank the team shares them with a dynamic schedule. Each block's
//! sums land in their own slot, and the ranks combine the slot arrays with
//! `MPI_Allreduce` inside the region (thread 0, between barriers:
//! `Cluster::exchange`). A slot is non-zero on one rank only, so the
//! reduction is exact, and the totals are then added in block order: the
//! result is bit-for-bit the same for any rank × thread split, which the
//! program prints (`bits`) so runs can be compared. With M = 24 (class S)
//! or 25 (class W) it also checks the NPB reference sums (relative 1e-8).
//!
//! `mpirun -np 2 target/release/mpi_ep --m 24 --threads 2`

use phalanx::{Schedule, Team};
use phalanx_mpi::Cluster;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

const A: u64 = 1_220_703_125; // 5^13
const SEED: u64 = 271_828_183;
const MASK: u64 = (1 << 46) - 1;
const MK: u32 = 16;
const NK: usize = 1 << MK;
const NQ: usize = 10;

/// `x * y mod 2^46` (exact: 2^46 divides 2^64, so wrapping is harmless).
fn mul46(x: u64, y: u64) -> u64 {
    x.wrapping_mul(y) & MASK
}

fn to_unit(x: u64) -> f64 {
    x as f64 * (1.0 / (1u64 << 46) as f64)
}

/// Block `kk`'s sums: (sx, sy, counts per annulus).
fn block(kk: u64) -> (f64, f64, [u64; NQ]) {
    // an = a^(2 * NK): the stride between block seeds.
    let mut an = A;
    for _ in 0..=MK {
        an = mul46(an, an);
    }
    // Jump the seed to block kk by binary powering (as NPB's ep.f).
    let (mut t1, mut t2, mut k) = (SEED, an, kk);
    while k != 0 {
        if k & 1 == 1 {
            t1 = mul46(t1, t2);
        }
        t2 = mul46(t2, t2);
        k >>= 1;
    }
    let (mut sx, mut sy, mut q) = (0.0f64, 0.0f64, [0u64; NQ]);
    for _ in 0..NK {
        t1 = mul46(t1, A);
        let x1 = 2.0 * to_unit(t1) - 1.0;
        t1 = mul46(t1, A);
        let x2 = 2.0 * to_unit(t1) - 1.0;
        let t = x1 * x1 + x2 * x2;
        if t <= 1.0 {
            let f = (-2.0 * t.ln() / t).sqrt();
            let (g1, g2) = (x1 * f, x2 * f);
            q[g1.abs().max(g2.abs()) as usize] += 1;
            sx += g1;
            sy += g2;
        }
    }
    (sx, sy, q)
}

struct Args {
    m: u32,
    threads: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args { m: 20, threads: 2 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--m" => a.m = v.parse().map_err(|_| format!("--m: {v}"))?,
            "--threads" => a.threads = v.parse().map_err(|_| format!("--threads: {v}"))?,
            _ => return Err(format!("unknown flag {flag} (--m M --threads N)")),
        }
    }
    if !(MK..=40).contains(&a.m) {
        return Err(format!("--m must be in {MK}..=40"));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mpi_ep: {e}");
            return ExitCode::from(2);
        }
    };
    let cluster = Cluster::init().expect("MPI init");
    let team = Team::builder().num_threads(a.threads).build().expect("team");
    let nn = 1usize << (a.m - MK);
    let (rank, size) = (cluster.rank(), cluster.size());
    let mine: Vec<usize> = (rank..nn).step_by(size).collect();
    // Per-block slots, as f64 bits / counts. Relaxed everywhere: each slot
    // is written by one thread, and read after the barrier that starts
    // `exchange`, which orders the writes before the reads.
    let sx: Vec<AtomicU64> = (0..nn).map(|_| AtomicU64::new(0)).collect();
    let sy: Vec<AtomicU64> = (0..nn).map(|_| AtomicU64::new(0)).collect();
    let q: Vec<AtomicU64> = (0..nn * NQ).map(|_| AtomicU64::new(0)).collect();
    let start = phalanx::wtime();
    let totals = std::sync::Mutex::new(None);
    team.parallel(|ctx| {
        ctx.for_each(0..mine.len(), Schedule::Dynamic(1), |i| {
            let b = mine[i];
            let (x, y, c) = block(b as u64);
            sx[b].store(x.to_bits(), Ordering::Relaxed);
            sy[b].store(y.to_bits(), Ordering::Relaxed);
            for (l, n) in c.iter().enumerate() {
                q[b * NQ + l].store(*n, Ordering::Relaxed);
            }
        });
        let t = cluster.exchange(ctx, |comm| {
            let mut fx: Vec<f64> = sx.iter().map(|v| f64::from_bits(v.load(Ordering::Relaxed))).collect();
            let mut fy: Vec<f64> = sy.iter().map(|v| f64::from_bits(v.load(Ordering::Relaxed))).collect();
            let mut cq: Vec<u64> = q.iter().map(|v| v.load(Ordering::Relaxed)).collect();
            comm.all_sum_in_place(&mut fx);
            comm.all_sum_in_place(&mut fy);
            comm.all_sum_in_place(&mut cq);
            let (mut tx, mut ty, mut tq) = (0.0, 0.0, [0u64; NQ]);
            for b in 0..nn {
                tx += fx[b];
                ty += fy[b];
                for l in 0..NQ {
                    tq[l] += cq[b * NQ + l];
                }
            }
            (tx, ty, tq)
        });
        ctx.master(|| *totals.lock().unwrap() = Some(t));
    });
    let secs = phalanx::wtime() - start;
    let (tx, ty, tq) = totals.into_inner().unwrap().expect("the region ran");
    // The NPB reference sums, digits as published in ep.f.
    #[allow(clippy::excessive_precision)]
    let reference = match a.m {
        24 => Some((-3.247_834_652_034_740e3, -6.958_407_078_382_297e3)),
        25 => Some((-2.863_319_731_645_753e3, -6.320_053_679_109_499e3)),
        _ => None,
    };
    let mut ok = true;
    if rank == 0 {
        let pairs: u64 = tq.iter().sum();
        println!(
            "ep: M={} on {size} rank(s) x {} thread(s): {:.3} s, {pairs} Gaussian pairs, sx={tx:.15e} sy={ty:.15e}",
            a.m, a.threads, secs
        );
        println!("ep: counts {tq:?}");
        println!("ep: bits sx={:016x} sy={:016x}", tx.to_bits(), ty.to_bits());
        if let Some((rx, ry)) = reference {
            let err = ((tx - rx) / rx).abs().max(((ty - ry) / ry).abs());
            ok = err <= 1e-8;
            println!("ep: NPB reference check (relative error {err:.1e}): {}", if ok { "OK" } else { "FAILED" });
        } else {
            // No published sums for this M: check against a serial run here.
            let (mut x, mut y) = (0.0, 0.0);
            for b in 0..nn {
                let (bx, by, _) = block(b as u64);
                x += bx;
                y += by;
            }
            ok = x.to_bits() == tx.to_bits() && y.to_bits() == ty.to_bits();
            println!("ep: serial check (bit for bit): {}", if ok { "OK" } else { "FAILED" });
        }
    }
    let failed = cluster.comm().expect("owner").all_sum(if ok { 0.0 } else { 1.0 });
    if failed == 0.0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
