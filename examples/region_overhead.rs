//! Median cost of an empty parallel region and an empty static `for_each`
//! at 2 threads, per wait policy, next to rayon's `ThreadPool::broadcast`.
//!
//! `cargo run --release --example region_overhead`. Not a benchmark suite
//! (see `benches/`); a quick look, printed as medians of batches.

use phalanx::{Schedule, Team, WaitPolicy};
use std::time::Instant;

const BATCH: u32 = 1000;
const BATCHES: usize = 201;

/// Median over `BATCHES` batches of `BATCH` calls of `f`, in µs per call.
fn median_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..BATCH {
        f(); // warm up
    }
    let mut v: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH)
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// The floor on this machine: one spinning helper thread, a fork counter and
/// a join counter, nothing else (no closure, no panics, no divergence checks).
fn bare_spin_fork_join() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    #[repr(align(128))]
    struct Line(AtomicU64);
    let fork = Line(AtomicU64::new(0));
    let join = Line(AtomicU64::new(0));
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut seen = 0;
            loop {
                // Acquire: pairs with the Release store of the fork counter.
                let f = fork.0.load(Ordering::Acquire);
                if f == u64::MAX {
                    return;
                }
                if f != seen {
                    seen = f;
                    // Release: pairs with the Acquire load in the join wait.
                    join.0.store(f, Ordering::Release);
                }
                std::hint::spin_loop();
            }
        });
        let mut k = 0;
        let r = median_us(|| {
            k += 1;
            // Release: nothing to publish here but keeps the shape of a fork.
            fork.0.store(k, Ordering::Release);
            // Acquire: pairs with the helper's Release store.
            while join.0.load(Ordering::Acquire) != k {
                std::hint::spin_loop();
            }
        });
        // Release: as above.
        fork.0.store(u64::MAX, Ordering::Release);
        r
    })
}

fn main() {
    let threads = 2;
    println!("bare spin fork/join    floor        {:6.3} us", bare_spin_fork_join());
    for policy in [WaitPolicy::Spin, WaitPolicy::default()] {
        let team = Team::builder().num_threads(threads).wait_policy(policy).build().expect("team");
        let region = median_us(|| team.parallel(|_| {}));
        let for_each = median_us(|| team.parallel(|ctx| ctx.for_each(0..0, Schedule::Static, |_| {})));
        let for_inside = {
            let out = std::sync::Mutex::new(0.0);
            team.parallel(|ctx| {
                // Every thread runs the same number of loops, so they pair up.
                let r = median_us(|| ctx.for_each(0..threads, Schedule::Static, |_| {}));
                if ctx.is_master() {
                    *out.lock().expect("not poisoned") = r;
                }
            });
            out.into_inner().expect("not poisoned")
        };
        let raw_barrier = {
            let b = phalanx::Barrier::builder(threads).wait_policy(policy).build().expect("barrier");
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..(BATCHES as u32 + 1) * BATCH {
                        b.wait().expect("not broken");
                    }
                });
                median_us(|| {
                    b.wait().expect("not broken");
                })
            })
        };
        println!(
            "phalanx {:<14} empty region {region:6.3} us | region + empty for_each(Static) {for_each:6.3} us | \
             for_each(Static) inside one region {for_inside:6.3} us | plain Barrier::wait {raw_barrier:6.3} us",
            policy.to_string()
        );
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");
    let b = median_us(|| {
        pool.broadcast(|_| {});
    });
    println!("rayon broadcast       empty         {b:6.3} us");
}
