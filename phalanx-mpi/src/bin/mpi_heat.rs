//! 2-D Jacobi heat diffusion split across MPI ranks, each rank's rows
//! shared by its phalanx team: the hybrid (MPI_THREAD_FUNNELED) stencil.
//!
//! ```text
//! every step, inside one region:
//!     ctx.for_each(my rows)            all threads: next = stencil(cur)   (implicit barrier)
//!     cluster.exchange(ctx, halo)      barrier; thread 0 swaps halo rows with the
//!                                      neighbour ranks (MPI_Sendrecv); barrier
//! ```
//!
//! The grid's rows are dealt to the ranks in contiguous blocks; each rank
//! keeps one ghost row above and below its block. The top edge is held at
//! 1.0, the others at 0.0. At the end rank 0 gathers the rows and compares
//! them bit for bit with a serial run of the same `step_row` code.
//!
//! `mpirun -np 2 target/release/mpi_heat --n 256 --steps 200 --threads 2`

use mpi::point_to_point::send_receive_into;
use mpi::traits::*;
use phalanx::{Schedule, Team};
use phalanx_mpi::{Cluster, Comm};
use std::process::ExitCode;

const ALPHA: f64 = 0.2;
const HOT: f64 = 1.0;

/// Row `out` of the next grid from rows `up`, `mid`, `down` of the current one.
#[inline(always)]
fn step_row(up: &[f64], mid: &[f64], down: &[f64], out: &mut [f64]) {
    let n = mid.len();
    out[0] = mid[0];
    out[n - 1] = mid[n - 1];
    for j in 1..n - 1 {
        let c = mid[j];
        out[j] = c + ALPHA * (up[j] + down[j] + mid[j - 1] + mid[j + 1] - 4.0 * c);
    }
}

fn initial_row(g: usize, n: usize) -> Vec<f64> {
    vec![if g == 0 { HOT } else { 0.0 }; n]
}

fn serial(n: usize, steps: usize) -> Vec<f64> {
    let mut cur: Vec<f64> = (0..n).flat_map(|g| initial_row(g, n)).collect();
    let mut next = cur.clone();
    for _ in 0..steps {
        for i in 1..n - 1 {
            let (a, b) = (&cur[(i - 1) * n..i * n], &cur[i * n..(i + 1) * n]);
            step_row(a, b, &cur[(i + 1) * n..(i + 2) * n], &mut next[i * n..(i + 1) * n]);
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

/// One rank's two grids (local rows 0..rows+2, row 0 and row rows+1 are
/// ghosts), shared with the team as raw pointers, as in C.
#[derive(Clone, Copy)]
struct Grids {
    ptr: [*mut f64; 2],
    n: usize,
}

// SAFETY: used only inside the region under the rule on `row`/`row_mut`:
// within a step each row of the written grid has one writer (the thread
// `for_each` gives it to, or thread 0 for ghost rows during the exchange),
// the other grid is only read, and steps are separated by barriers. The
// vectors outlive the region.
unsafe impl Send for Grids {}
// SAFETY: as for `Send`.
unsafe impl Sync for Grids {}

impl Grids {
    /// Local row `k` of grid `g`.
    ///
    /// # Safety
    /// Nobody writes that row while the slice lives (see the type's rule).
    unsafe fn row(&self, g: usize, k: usize) -> &[f64] {
        // SAFETY: in bounds (k < rows + 2, the vector's length / n); no writer (caller).
        unsafe { std::slice::from_raw_parts(self.ptr[g].add(k * self.n), self.n) }
    }

    /// Local row `k` of grid `g`, to write.
    ///
    /// # Safety
    /// The caller is that row's only user while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn row_mut(&self, g: usize, k: usize) -> &mut [f64] {
        // SAFETY: in bounds, and exclusive (caller).
        unsafe { std::slice::from_raw_parts_mut(self.ptr[g].add(k * self.n), self.n) }
    }
}

/// Swap ghost rows with the neighbour ranks: my first owned row goes up,
/// my last goes down; the ghosts receive theirs. The chain has no cycle,
/// so plain sends at the ends cannot deadlock.
fn halo(comm: &Comm<'_>, grids: &Grids, g: usize, rows: usize) {
    let (rank, size) = (comm.rank(), comm.size());
    let world = comm.world();
    // SAFETY: thread 0 runs this between two barriers: no other thread
    // touches grid `g` meanwhile. Owned rows are read, ghost rows written;
    // they are different rows.
    let (first, last, top, bottom) =
        unsafe { (grids.row(g, 1), grids.row(g, rows), grids.row_mut(g, 0), grids.row_mut(g, rows + 1)) };
    let up = (rank > 0).then(|| world.process_at_rank(rank as i32 - 1));
    let down = (rank + 1 < size).then(|| world.process_at_rank(rank as i32 + 1));
    // Downward: my last row to `down`, my top ghost from `up`.
    match (&up, &down) {
        (Some(u), Some(d)) => {
            send_receive_into(last, d, top, u);
        }
        (None, Some(d)) => d.send(last),
        (Some(u), None) => {
            u.receive_into(top);
        }
        (None, None) => {}
    }
    // Upward: my first row to `up`, my bottom ghost from `down`.
    match (&up, &down) {
        (Some(u), Some(d)) => {
            send_receive_into(first, u, bottom, d);
        }
        (Some(u), None) => u.send(first),
        (None, Some(d)) => {
            d.receive_into(bottom);
        }
        (None, None) => {}
    }
}

fn main() -> ExitCode {
    let mut it = std::env::args().skip(1);
    let (mut n, mut steps, mut threads) = (128usize, 100usize, 2usize);
    while let Some(flag) = it.next() {
        let v: usize = it.next().and_then(|v| v.parse().ok()).expect("flags: --n N --steps S --threads T");
        match flag.as_str() {
            "--n" => n = v,
            "--steps" => steps = v,
            "--threads" => threads = v,
            _ => panic!("unknown flag {flag} (--n N --steps S --threads T)"),
        }
    }
    let cluster = Cluster::init().expect("MPI init");
    let team = Team::builder().num_threads(threads).build().expect("team");
    let (rank, size) = (cluster.rank(), cluster.size());
    assert!(n >= 3 && n >= size, "mpi_heat: --n must be at least 3 and at least the number of ranks");
    // Rows [lo, hi) of the global grid are mine.
    let lo = n * rank / size;
    let hi = n * (rank + 1) / size;
    let rows = hi - lo;
    let mut a: Vec<f64> = vec![0.0; (rows + 2) * n];
    for k in 1..=rows {
        a[k * n..(k + 1) * n].copy_from_slice(&initial_row(lo + k - 1, n));
    }
    let mut b = a.clone();
    let grids = Grids { ptr: [a.as_mut_ptr(), b.as_mut_ptr()], n };
    let start = phalanx::wtime();
    team.parallel(|ctx| {
        cluster.exchange(ctx, |comm| halo(&comm, &grids, 0, rows));
        for s in 0..steps {
            let (cur, next) = (s % 2, (s + 1) % 2);
            ctx.for_each(1..rows + 1, Schedule::Static, |k| {
                let gk = lo + k - 1;
                // SAFETY: row k of `next` is written by this thread only
                // (`for_each` gives each k to one thread); `cur` is only
                // read during the step; the loop's implicit barrier ends it.
                unsafe {
                    let out = grids.row_mut(next, k);
                    if gk == 0 || gk == n - 1 {
                        out.copy_from_slice(grids.row(cur, k)); // fixed edge rows
                    } else {
                        step_row(grids.row(cur, k - 1), grids.row(cur, k), grids.row(cur, k + 1), out);
                    }
                }
            });
            cluster.exchange(ctx, |comm| halo(&comm, &grids, next, rows));
        }
    });
    let secs = phalanx::wtime() - start;
    let result = if steps % 2 == 0 { &a } else { &b };
    let owned = &result[n..(rows + 1) * n];
    let comm = cluster.comm().expect("owner");
    let mut ok = true;
    if rank == 0 {
        let mut whole = owned.to_vec();
        for r in 1..size {
            let (part, _) = comm.world().process_at_rank(r as i32).receive_vec::<f64>();
            whole.extend_from_slice(&part);
        }
        let want = serial(n, steps);
        let diff = whole.iter().zip(&want).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
        ok = whole.len() == want.len() && diff == 0;
        let heat: f64 = whole.iter().sum();
        println!(
            "heat: {n}x{n}, {steps} steps on {size} rank(s) x {threads} thread(s): {secs:.3} s, total heat {heat:.6}; \
             vs serial: {}",
            if ok { "OK (bit for bit)".to_string() } else { format!("FAILED ({diff} cells differ)") }
        );
    } else {
        comm.world().process_at_rank(0).send(owned);
    }
    let failed = comm.all_sum(if ok { 0.0 } else { 1.0 });
    if failed == 0.0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
