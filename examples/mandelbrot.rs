//! An unbalanced loop: Mandelbrot rows. Rows through the set cost up to
//! `max_iter` iterations per pixel, rows far from it a few, so a static split
//! gives one thread most of the work. Timed with each schedule:
//!
//! ```c
//! #pragma omp parallel for schedule(static)        // Schedule::Static
//! #pragma omp parallel for schedule(dynamic, 1)    // Schedule::Dynamic(1)
//! #pragma omp parallel for schedule(dynamic, 8)    // Schedule::Dynamic(8)
//! #pragma omp parallel for schedule(guided, 1)     // Schedule::Guided(1)
//! #pragma omp parallel for schedule(runtime)       // Schedule::Runtime (OMP_SCHEDULE)
//! for (int row = 0; row < height; row++) ...
//! ```
//!
//! Every schedule must give the serial image's checksum. Timings are best of
//! 3 (the machine may be shared).
//!
//! `OMP_SCHEDULE=dynamic,4 cargo run --release --example mandelbrot [-- --width 640 --height 480 --max-iter 500]`

use phalanx::{Schedule, Team};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Image {
    width: usize,
    height: usize,
    max_iter: u32,
}

impl Image {
    /// Iterations before |z| > 2 for pixel (x, y), at most `max_iter`.
    fn escape(&self, x: usize, y: usize) -> u32 {
        let cx = -2.2 + 3.0 * x as f64 / self.width as f64;
        // Only the upper half plus a sliver below the axis: the heavy rows
        // (near the real axis) all come first, so a static split is unfair.
        let cy = -0.2 + 1.4 * y as f64 / self.height as f64;
        let (mut zx, mut zy) = (0.0f64, 0.0f64);
        let mut k = 0;
        while k < self.max_iter && zx * zx + zy * zy <= 4.0 {
            let t = zx * zx - zy * zy + cx;
            zy = 2.0 * zx * zy + cy;
            zx = t;
            k += 1;
        }
        k
    }

    /// FNV-1a of the row's escape counts: the row's share of the checksum.
    fn row_hash(&self, y: usize) -> u64 {
        (0..self.width)
            .fold(0xcbf2_9ce4_8422_2325u64, |h, x| (h ^ u64::from(self.escape(x, y))).wrapping_mul(0x100_0000_01b3))
    }

    /// The image checksum from the row hashes, in row order.
    fn checksum(rows: &[u64]) -> u64 {
        rows.iter().fold(0u64, |h, &r| h.rotate_left(5) ^ r)
    }
}

fn best_of_3(mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut sum = 0;
    for _ in 0..3 {
        let t = Instant::now();
        sum = f();
        best = best.min(t.elapsed());
    }
    (best, sum)
}

fn main() -> ExitCode {
    let mut img = Image { width: 640, height: 480, max_iter: 500 };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().map(|v| v.parse::<usize>());
        match (a.as_str(), v) {
            ("--width", Some(Ok(v))) if v > 0 => img.width = v,
            ("--height", Some(Ok(v))) if v > 0 => img.height = v,
            ("--max-iter", Some(Ok(v))) if v > 0 && v <= u32::MAX as usize => img.max_iter = v as u32,
            (name, v) => {
                eprintln!("mandelbrot: invalid argument {name} = {v:?}: expected --width W, --height H, --max-iter M (each >= 1)");
                return ExitCode::FAILURE;
            }
        }
    }
    let team = match Team::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mandelbrot: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "mandelbrot {}x{}, max_iter {}, {} threads ({}), runtime schedule {:?} (OMP_SCHEDULE)",
        img.width,
        img.height,
        img.max_iter,
        team.num_threads(),
        team.wait_policy(),
        team.runtime_schedule()
    );
    let t0 = Instant::now();
    let (ts, reference) = best_of_3(|| Image::checksum(&(0..img.height).map(|y| img.row_hash(y)).collect::<Vec<_>>()));
    println!("{:<14} {:>10} {:>9}  checksum", "schedule", "ms", "speed-up");
    println!("{:<14} {:>10.2} {:>8.2}x  {reference:016x}", "serial", ts.as_secs_f64() * 1e3, 1.0);

    let schedules = [
        ("static", Schedule::Static),
        ("dynamic,1", Schedule::Dynamic(1)),
        ("dynamic,8", Schedule::Dynamic(8)),
        ("guided,1", Schedule::Guided(1)),
        ("runtime", Schedule::Runtime),
    ];
    // One hash per row, each written by the one thread its row is given to.
    let mut rows = vec![0u64; img.height];
    let mut wrong = Vec::new();
    for (name, schedule) in schedules {
        let (t, sum) = best_of_3(|| {
            rows.fill(0);
            team.parallel_for_mut(&mut rows, schedule, |y, hash| *hash = img.row_hash(y));
            Image::checksum(&rows)
        });
        let ok = sum == reference;
        println!(
            "{name:<14} {:>10.2} {:>8.2}x  {sum:016x}{}",
            t.as_secs_f64() * 1e3,
            ts.as_secs_f64() / t.as_secs_f64(),
            if ok { "" } else { "  WRONG" }
        );
        if !ok {
            wrong.push(name);
        }
    }
    println!("done in {:.2} s", t0.elapsed().as_secs_f64());
    if !wrong.is_empty() {
        eprintln!("mandelbrot: schedules {wrong:?} gave a checksum different from serial {reference:016x}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
