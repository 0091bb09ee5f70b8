//! NPB IS (integer sort), ported to phalanx from the NAS Parallel Benchmarks
//! specification (NAS report 99-011; the OpenMP reference code's structure:
//! bucket counts per thread, a scatter into buckets, then a ranking pass per
//! bucket under a dynamic schedule).
//!
//! `cargo run --release --example npb_is [-- --class S|W|A --threads N]`
//!
//! What it does, per the benchmark: make `TOTAL_KEYS` keys, each
//! `floor(MAX_KEY / 4 * (r1 + r2 + r3 + r4))` of four consecutive numbers of
//! NPB's generator (`x <- a x mod 2^46`, seed 314159265, a = 5^13); then
//! rank them 10 times (one untimed warm-up first), each iteration changing
//! two keys; check the ranks of five test keys against the published values
//! after every iteration (partial verification) and the fully sorted keys
//! once at the end (full verification). Verified = 5 x 10 + 1 checks passed.
//! Prints the time and Mop/s (keys ranked per µs) for the phalanx team and
//! for one thread, and exits non-zero if either fails verification.
//!
//! The generator here computes `a x mod 2^46` in exact integer arithmetic
//! (the reference code splits doubles into 23-bit halves to get the same
//! exact result), and each thread jumps to its part of the sequence with
//! `a^k mod 2^46` by squaring, so the keys do not depend on the team size.

// Shared arrays whose parts each thread writes: atomics with Relaxed
// accesses (plain moves on x86), published by the region's barriers.
#![allow(clippy::disallowed_types)]

use phalanx::{Schedule, Team};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const MAX_ITERATIONS: i32 = 10;
const TEST_ARRAY_SIZE: usize = 5;
const SEED: u64 = 314_159_265;
/// 5^13, the benchmark's multiplier.
const MULT: u64 = 1_220_703_125;
const MOD_MASK: u64 = (1 << 46) - 1;

/// One problem class: sizes and the published partial-verification values.
#[derive(Clone, Copy)]
struct Class {
    name: char,
    total_keys_log2: u32,
    max_key_log2: u32,
    buckets_log2: u32,
    test_index: [usize; TEST_ARRAY_SIZE],
    test_rank: [i32; TEST_ARRAY_SIZE],
}

const CLASSES: [Class; 3] = [
    Class {
        name: 'S',
        total_keys_log2: 16,
        max_key_log2: 11,
        buckets_log2: 9,
        test_index: [48427, 17148, 23627, 62548, 4431],
        test_rank: [0, 18, 346, 64917, 65463],
    },
    Class {
        name: 'W',
        total_keys_log2: 20,
        max_key_log2: 16,
        buckets_log2: 10,
        test_index: [357773, 934767, 875723, 898999, 404505],
        test_rank: [1249, 11698, 1039987, 1043896, 1048018],
    },
    Class {
        name: 'A',
        total_keys_log2: 23,
        max_key_log2: 19,
        buckets_log2: 10,
        test_index: [2112377, 662041, 5336171, 3642833, 4250760],
        test_rank: [104, 17523, 123928, 8288932, 8388264],
    },
];

impl Class {
    fn keys(&self) -> usize {
        1 << self.total_keys_log2
    }
    fn max_key(&self) -> i32 {
        1 << self.max_key_log2
    }
    fn buckets(&self) -> usize {
        1 << self.buckets_log2
    }

    /// The rank test key `i` must have after `iteration`: the published
    /// value, shifted by the iteration as the benchmark defines per class.
    fn expected_rank(&self, i: usize, iteration: i32) -> i32 {
        let r = self.test_rank[i];
        match self.name {
            'S' => {
                if i <= 2 {
                    r + iteration
                } else {
                    r - iteration
                }
            }
            'W' => {
                if i < 2 {
                    r + iteration - 2
                } else {
                    r - iteration
                }
            }
            _ => {
                if i <= 2 {
                    r + iteration - 1
                } else {
                    r - (iteration - 1)
                }
            }
        }
    }
}

/// `a * x mod 2^46`, exactly.
fn mul_mod(a: u64, x: u64) -> u64 {
    ((u128::from(a) * u128::from(x)) as u64) & MOD_MASK
}

/// `a^k mod 2^46`.
fn pow_mod(mut a: u64, mut k: u64) -> u64 {
    let mut r = 1;
    while k > 0 {
        if k & 1 == 1 {
            r = mul_mod(r, a);
        }
        a = mul_mod(a, a);
        k >>= 1;
    }
    r
}

/// The keys, generated in parallel: thread `t` starts its part at the
/// generator state `SEED * MULT^(4 * first key)`.
fn create_keys(team: &Team, c: &Class) -> Vec<i32> {
    let n = c.keys();
    let keys: Vec<AtomicI32> = (0..n).map(|_| AtomicI32::new(0)).collect();
    let quarter = f64::from(c.max_key() / 4);
    let r46 = 0.5f64.powi(46);
    team.parallel(|ctx| {
        let per = n.div_ceil(ctx.num_threads());
        let first = (per * ctx.thread_num()).min(n);
        let last = (first + per).min(n);
        let mut x = mul_mod(SEED, pow_mod(MULT, 4 * first as u64));
        let mut next = || {
            x = mul_mod(MULT, x);
            x as f64 * r46
        };
        for k in &keys[first..last] {
            let sum = next() + next() + next() + next();
            // Relaxed: each key is written by one thread; the region's join publishes it.
            k.store((quarter * sum) as i32, Ordering::Relaxed);
        }
    });
    keys.into_iter().map(AtomicI32::into_inner).collect()
}

/// Work arrays of one run.
struct Buffers {
    /// Keys scattered into buckets.
    by_bucket: Vec<AtomicI32>,
    /// Per key value: how many keys are <= it (the ranks).
    ranks: Vec<AtomicI32>,
    /// End of each bucket in `by_bucket`, after the last rank pass.
    bucket_end: Vec<usize>,
}

/// One IS iteration: rank every key. Returns how many of the five test keys
/// had their expected rank.
fn rank(team: &Team, c: &Class, keys: &mut [i32], buf: &mut Buffers, iteration: i32) -> u32 {
    keys[iteration as usize] = iteration;
    keys[(iteration + MAX_ITERATIONS) as usize] = c.max_key() - iteration;
    let probes: Vec<i32> = c.test_index.iter().map(|&i| keys[i]).collect();
    let shift = c.max_key_log2 - c.buckets_log2;
    let keys_per_bucket = 1usize << shift;
    let nb = c.buckets();
    let threads = team.num_threads();
    // Each thread's bucket counts, published for the others after a barrier.
    let counts: Vec<Mutex<Vec<usize>>> = (0..threads).map(|_| Mutex::new(vec![0; nb])).collect();
    let bucket_end = Mutex::new(Vec::new());
    let keys: &[i32] = keys;
    let buf_ref = &*buf;
    team.parallel(|ctx| {
        let me = ctx.thread_num();
        let mut mine = vec![0usize; nb];
        ctx.for_each_nowait(0..keys.len(), Schedule::Static, |i| mine[(keys[i] >> shift) as usize] += 1);
        *counts[me].lock().expect("not poisoned") = mine;
        ctx.barrier();
        let all: Vec<Vec<usize>> = counts.iter().map(|m| m.lock().expect("not poisoned").clone()).collect();
        // Where this thread writes into each bucket: after every key of the
        // lower buckets and after the lower threads' keys of this bucket.
        let mut next = vec![0usize; nb];
        let mut before = 0;
        for (b, slot) in next.iter_mut().enumerate() {
            *slot = before + all[..me].iter().map(|t| t[b]).sum::<usize>();
            before += all.iter().map(|t| t[b]).sum::<usize>();
        }
        // The same static schedule gives this thread the same keys as above.
        ctx.for_each(0..keys.len(), Schedule::Static, |i| {
            let k = keys[i];
            let b = (k >> shift) as usize;
            // Relaxed: distinct slots per thread; the loop's barrier publishes them.
            buf_ref.by_bucket[next[b]].store(k, Ordering::Relaxed);
            next[b] += 1;
        });
        let ends: Vec<usize> = (0..nb)
            .scan(0, |acc, b| {
                *acc += all.iter().map(|t| t[b]).sum::<usize>();
                Some(*acc)
            })
            .collect();
        ctx.for_each(0..nb, Schedule::Dynamic(1), |b| {
            let (lo, hi) = (b * keys_per_bucket, (b + 1) * keys_per_bucket);
            let section = &buf_ref.ranks[lo..hi];
            // Relaxed throughout: this bucket's key range of `ranks` is
            // touched by this thread only in this loop; the barrier at its end
            // publishes it.
            for r in section {
                r.store(0, Ordering::Relaxed);
            }
            let start = if b > 0 { ends[b - 1] } else { 0 };
            for slot in &buf_ref.by_bucket[start..ends[b]] {
                let k = slot.load(Ordering::Relaxed) as usize;
                section[k - lo].fetch_add(1, Ordering::Relaxed);
            }
            let mut acc = start as i32;
            for r in section {
                acc += r.load(Ordering::Relaxed);
                r.store(acc, Ordering::Relaxed);
            }
        });
        ctx.master(|| *bucket_end.lock().expect("not poisoned") = ends);
    });
    buf.bucket_end = bucket_end.into_inner().expect("not poisoned");
    let mut passed = 0;
    for (i, &k) in probes.iter().enumerate() {
        if 0 < k && (k as usize) < c.keys() {
            // Relaxed: after the region's join.
            let got = buf.ranks[k as usize - 1].load(Ordering::Relaxed);
            if got == c.expected_rank(i, iteration) {
                passed += 1;
            } else {
                eprintln!("npb_is: partial verification failed: iteration {iteration}, test key {i}: rank {got}");
            }
        }
    }
    passed
}

/// Sorts the keys with the last ranks and counts keys out of order.
fn full_verify(team: &Team, c: &Class, buf: &Buffers) -> usize {
    let sorted: Vec<AtomicI32> = (0..c.keys()).map(|_| AtomicI32::new(0)).collect();
    team.parallel(|ctx| {
        ctx.for_each(0..c.buckets(), Schedule::Dynamic(1), |b| {
            let start = if b > 0 { buf.bucket_end[b - 1] } else { 0 };
            for slot in &buf.by_bucket[start..buf.bucket_end[b]] {
                // Relaxed: keys of one bucket have ranks in one bucket's
                // range, which only this thread touches in this loop; each
                // decrement gives a distinct position.
                let k = slot.load(Ordering::Relaxed);
                let pos = buf.ranks[k as usize].fetch_sub(1, Ordering::Relaxed) - 1;
                sorted[pos as usize].store(k, Ordering::Relaxed);
            }
        });
    });
    team.parallel_reduce(
        1..c.keys(),
        Schedule::Static,
        0usize,
        // Relaxed: after the previous region's join.
        |acc, i| acc + usize::from(sorted[i - 1].load(Ordering::Relaxed) > sorted[i].load(Ordering::Relaxed)),
        |a, b| a + b,
    )
}

/// Runs the benchmark on `team`: (seconds for the 10 timed iterations, verified).
fn run(team: &Team, c: &Class) -> (f64, bool) {
    let mut keys = create_keys(team, c);
    let mut buf = Buffers {
        by_bucket: (0..c.keys()).map(|_| AtomicI32::new(0)).collect(),
        ranks: (0..c.max_key()).map(|_| AtomicI32::new(0)).collect(),
        bucket_end: Vec::new(),
    };
    rank(team, c, &mut keys, &mut buf, 1); // untimed warm-up, as the benchmark does
    let start = Instant::now();
    let mut passed = 0;
    for iteration in 1..=MAX_ITERATIONS {
        passed += rank(team, c, &mut keys, &mut buf, iteration);
    }
    let secs = start.elapsed().as_secs_f64();
    let out_of_order = full_verify(team, c, &buf);
    if out_of_order == 0 {
        passed += 1;
    } else {
        eprintln!("npb_is: full verification failed: {out_of_order} keys out of order");
    }
    (secs, passed == TEST_ARRAY_SIZE as u32 * MAX_ITERATIONS as u32 + 1)
}

fn main() -> ExitCode {
    let mut class = CLASSES[0];
    let mut threads = 2;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--class" => match CLASSES.iter().find(|c| value.eq_ignore_ascii_case(&c.name.to_string())) {
                Some(c) => class = *c,
                None => {
                    eprintln!("npb_is: invalid --class = {value:?}: expected S, W or A");
                    return ExitCode::from(2);
                }
            },
            "--threads" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => threads = n,
                _ => {
                    eprintln!("npb_is: invalid --threads = {value:?}: expected a positive number");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("npb_is: unknown flag {flag:?} (usage: npb_is [--class S|W|A] [--threads N])");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "NPB IS class {}: {} keys, max key {}, {} buckets",
        class.name,
        class.keys(),
        class.max_key(),
        class.buckets()
    );
    let mut ok = true;
    for n in [1, threads] {
        let team = Team::builder().num_threads(n).build().expect("team");
        let (secs, verified) = run(&team, &class);
        let mops = class.keys() as f64 * f64::from(MAX_ITERATIONS) / secs / 1e6;
        println!(
            "phalanx {n} thread(s), {}: {:.4} s, {mops:.1} Mop/s (keys ranked), verification {}",
            team.wait_policy(),
            secs,
            if verified { "SUCCESSFUL" } else { "FAILED" }
        );
        ok &= verified;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
