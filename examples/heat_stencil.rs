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
//! is compared bit for bit with a serial run (same `step_row` code).
//!
//! Safe code only: each grid is a `DisjointSlice`. In step `s` grid `s % 2` is
//! only read (`DisjointSlice::read`) and `ctx.for_rows_mut_nowait` gives each
//! row of the other grid to one thread as `&mut [f64]`. Every thread knows the
//! step, so the master's pointer swap becomes `s % 2`, and the one barrier per
//! step (the `omp for`'s) orders one step's writes before the next step's
//! reads. A read that overlapped a write would panic, not race.
//!
//! `cargo run --release --example heat_stencil [-- --n 512 --steps 200]`

use phalanx::{DisjointSlice, Schedule, Team};
use std::process::ExitCode;
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

fn parallel(team: &Team, n: usize, steps: usize) -> Vec<f64> {
    let mut a = initial(n);
    let mut b = a.clone(); // the edges of both buffers: set once, never written
    {
        let grids = [DisjointSlice::new(&mut a), DisjointSlice::new(&mut b)];
        team.parallel(|ctx| {
            for step in 0..steps {
                // The C code's `cur` / `next` pointers, swapped every step.
                let (cur, next) = (&grids[step % 2], &grids[1 - step % 2]);
                // #pragma omp for over the rows; the edge rows stay as they are.
                cur.read(|cur| {
                    ctx.for_rows_mut_nowait(next, n, Schedule::Static, |i, row| {
                        if i > 0 && i < n - 1 {
                            step_row(cur, row, i, n);
                        }
                    })
                });
                // The loop's implicit barrier, after the read ended: next
                // step's writers of `cur` wait for every reader.
                ctx.barrier();
            }
        });
    }
    if steps % 2 == 0 {
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
