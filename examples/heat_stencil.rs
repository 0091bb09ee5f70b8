//! 2-D Jacobi heat diffusion on an N×N grid: the textbook OpenMP stencil.
//!
//! ```c
//! #pragma omp parallel
//! for (int step = 0; step < steps; step++) {
//!     #pragma omp for                      // implicit barrier at the end
//!     for (int i = 1; i < n - 1; i++)
//!         for (int j = 1; j < n - 1; j++)
//!             next[i][j] = cur[i][j] + ALPHA * (cur[i-1][j] + cur[i+1][j] + cur[i][j-1] + cur[i][j+1] - 4 * cur[i][j]);
//!     #pragma omp master
//!     { double *t = cur; cur = next; next = t; }
//!     #pragma omp barrier                  // everyone sees the swap
//! }
//! ```
//!
//! The top edge is held at 1.0, the other edges at 0.0. The parallel result
//! is compared bit for bit with a serial run (same `step_row` code). The
//! grids are shared as raw pointers, as in C: each row of the next grid is
//! written by the one thread `for_each` gives it to, the current grid is only
//! read, and the loop's implicit barrier orders one step's writes before the
//! next step's reads.
//!
//! `cargo run --release --example heat_stencil [-- --n 512 --steps 200]`

use phalanx::{Schedule, Team};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ALPHA: f64 = 0.2;
const HOT: f64 = 1.0;

/// Row `i` of the next grid from the current one: the same code for the
/// serial and the parallel run, so the results are bit-identical.
#[inline(always)]
fn step_row(cur: &[f64], out: &mut [f64], i: usize, n: usize) {
    let (up, mid, down) = (&cur[(i - 1) * n..i * n], &cur[i * n..(i + 1) * n], &cur[(i + 1) * n..(i + 2) * n]);
    for j in 1..n - 1 {
        let c = mid[j];
        out[j] = c + ALPHA * (up[j] + down[j] + mid[j - 1] + mid[j + 1] - 4.0 * c);
    }
}

fn initial(n: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * n];
    g[..n].fill(HOT);
    g
}

fn serial(n: usize, steps: usize) -> Vec<f64> {
    let mut cur = initial(n);
    let mut next = cur.clone();
    for _ in 0..steps {
        for i in 1..n - 1 {
            step_row(&cur, &mut next[i * n..(i + 1) * n], i, n);
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

/// The two grids, shared by the team as raw pointers (C's `double *cur, *next`).
#[derive(Clone, Copy)]
struct Grids {
    ptr: [*mut f64; 2],
    n: usize,
}

// SAFETY: the pointers are used only inside the region, under the access rule
// on `Grids::src` / `Grids::row` (disjoint rows written, the other grid only
// read, steps separated by barriers); the vectors outlive the region.
unsafe impl Send for Grids {}
// SAFETY: as for `Send`.
unsafe impl Sync for Grids {}

impl Grids {
    /// Grid `g` as a shared slice.
    ///
    /// # Safety
    /// No thread may write grid `g` while the slice lives (during a step only
    /// the other grid is written).
    unsafe fn src(&self, g: usize) -> &[f64] {
        // SAFETY: `ptr[g]` points to a live `n * n` vector; the caller
        // guarantees nobody writes it meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr[g], self.n * self.n) }
    }

    /// Row `i` of grid `g`, to write.
    ///
    /// # Safety
    /// Only one thread may hold row `i` of grid `g` at a time, and nobody may
    /// read grid `g` meanwhile (`for_each` gives each row to one thread; the
    /// barriers separate steps).
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, g: usize, i: usize) -> &mut [f64] {
        // SAFETY: in bounds (i < n); exclusive by the caller's guarantee.
        unsafe { std::slice::from_raw_parts_mut(self.ptr[g].add(i * self.n), self.n) }
    }
}

fn parallel(team: &Team, n: usize, steps: usize) -> Vec<f64> {
    let mut a = initial(n);
    let mut b = a.clone(); // the edges of both buffers: set once, never written
    let grids = Grids { ptr: [a.as_mut_ptr(), b.as_mut_ptr()], n };
    // Which buffer is `cur`: the pointer the C code swaps.
    let cur = AtomicUsize::new(0);
    team.parallel(|ctx| {
        for _ in 0..steps {
            // Relaxed: written by the master before the barrier below (or the fork).
            let c = cur.load(Ordering::Relaxed);
            ctx.for_each(1..n - 1, Schedule::Static, |i| {
                // SAFETY: during this loop grid `c` is only read and each row
                // of grid `1 - c` is written by the one thread `for_each` gave
                // it to; the implicit barrier ends the loop before the roles swap.
                unsafe { step_row(grids.src(c), grids.row(1 - c, i), i, n) };
            });
            // #pragma omp master: swap the pointers.
            // Relaxed: the barrier below orders it before every thread's next load.
            ctx.master(|| cur.store(1 - c, Ordering::Relaxed));
            // #pragma omp barrier
            ctx.barrier();
        }
    });
    // Relaxed: the region's join ordered every write before this.
    if cur.load(Ordering::Relaxed) == 0 {
        a
    } else {
        b
    }
}

fn main() -> ExitCode {
    let (mut n, mut steps) = (512usize, 200usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().map(|v| v.parse::<usize>());
        match (a.as_str(), v) {
            ("--n", Some(Ok(v))) if v >= 3 => n = v,
            ("--steps", Some(Ok(v))) if v >= 1 => steps = v,
            (name, v) => {
                eprintln!(
                    "heat_stencil: invalid argument {name} = {v:?}: expected --n N (N >= 3) or --steps S (S >= 1)"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let team = match Team::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("heat_stencil: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "heat stencil: {n}x{n} grid, {steps} Jacobi steps, {} threads ({})",
        team.num_threads(),
        team.wait_policy()
    );

    // Best of 3 runs each: the machine is shared, a single run is noisy.
    let best = |f: &dyn Fn() -> Vec<f64>| {
        let mut out = (Duration::MAX, Vec::new());
        for _ in 0..3 {
            let t = Instant::now();
            let g = f();
            out = (out.0.min(t.elapsed()), g);
        }
        out
    };
    let (ts, reference) = best(&|| serial(n, steps));
    let (tp, result) = best(&|| parallel(&team, n, steps));

    let per_step = |d: Duration| d.as_secs_f64() * 1e6 / steps as f64;
    println!("serial:   {:8.1} ms total (best of 3), {:8.1} µs/step", ts.as_secs_f64() * 1e3, per_step(ts));
    println!(
        "parallel: {:8.1} ms total (best of 3), {:8.1} µs/step, speed-up {:.2}x",
        tp.as_secs_f64() * 1e3,
        per_step(tp),
        ts.as_secs_f64() / tp.as_secs_f64()
    );
    let heat: f64 = reference[n..n * (n - 1)].iter().sum();
    let differing = reference.iter().zip(&result).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    let max_diff = reference.iter().zip(&result).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    println!("interior heat after {steps} steps: {heat:.6}; cells differing from serial: {differing}, max |diff| {max_diff:e}");
    if differing != 0 || heat <= 0.0 {
        eprintln!("heat_stencil: the parallel grid differs from the serial one (or no heat flowed in)");
        return ExitCode::FAILURE;
    }
    println!("OK: bit-identical to the serial run");
    ExitCode::SUCCESS
}
