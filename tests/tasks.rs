//! Explicit tasks: exactly-once execution, nesting, taskwait (direct
//! children only), taskgroup (all descendants), completion at barriers and at
//! the region end, borrowing, task_if, panics, every wait policy.

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::tasks::Grain;
use phalanx::{BarrierKind, Ctx, RegionError, Schedule, Team, WaitPolicy};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

fn team(n: usize, policy: WaitPolicy) -> Team {
    Team::builder().num_threads(n).wait_policy(policy).build().expect("team")
}

/// Watchdog limit: Miri runs these tests about 1000 times slower.
const LIMIT_S: u64 = if cfg!(miri) { 900 } else { 30 };

const POLICIES: [WaitPolicy; 6] = [
    WaitPolicy::Spin,
    WaitPolicy::SpinYield,
    WaitPolicy::Block,
    WaitPolicy::Hybrid { spin: Duration::from_micros(50) },
    WaitPolicy::Adaptive,
    WaitPolicy::SleepPoll { interval: Duration::from_micros(200) },
];

/// Every task of `n_tasks` runs exactly once; `all_create` spreads the
/// creation over every thread, else only the master creates.
fn exactly_once(t: &Team, n_tasks: usize, all_create: bool) {
    let hits: Vec<AtomicU8> = (0..n_tasks).map(|_| AtomicU8::new(0)).collect();
    t.parallel(|ctx| {
        let (me, n) = (ctx.thread_num(), ctx.num_threads());
        let mine: Box<dyn Iterator<Item = usize>> = if all_create {
            Box::new((me..n_tasks).step_by(n))
        } else if me == 0 {
            Box::new(0..n_tasks)
        } else {
            Box::new(std::iter::empty())
        };
        for i in mine {
            let hits = &hits;
            ctx.task(move |_| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    let bad: Vec<(usize, u8)> =
        hits.iter().map(|h| h.load(Ordering::Relaxed)).enumerate().filter(|&(_, h)| h != 1).take(5).collect();
    assert!(bad.is_empty(), "{} threads: tasks not run exactly once (index, runs): {bad:?}", t.num_threads());
}

#[test]
fn every_task_runs_exactly_once() {
    let _w = watchdog(LIMIT_S, "every_task_runs_exactly_once");
    let n_tasks = if cfg!(miri) { 200 } else { 100_000 };
    for n in [1, 2, 4, 8] {
        let t = team(n, WaitPolicy::default());
        exactly_once(&t, n_tasks, true);
        exactly_once(&t, n_tasks / 4, false);
    }
}

#[test]
fn every_wait_policy() {
    let _w = watchdog(LIMIT_S, "every_wait_policy");
    let (n_tasks, fib_n) = if cfg!(miri) { (20, 9) } else { (5_000, 15) };
    for policy in POLICIES {
        let t = team(2, policy);
        exactly_once(&t, n_tasks, false);
        assert_eq!(fib_tasks(&t, fib_n), fib(fib_n), "{policy}: fib with tasks");
        taskgroup_waits_for(&t);
    }
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// Recursive fib with a task per call above a cut-off; results travel
/// through heap slots the tasks own a reference to.
fn fib_tasks(t: &Team, n: u64) -> u64 {
    use std::sync::Arc;
    fn go(ctx: &Ctx<'_>, n: u64, out: Arc<AtomicU64>) {
        if n < 8 {
            out.store(fib(n), Ordering::Relaxed);
            return;
        }
        let (a, b) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (a2, b2) = (a.clone(), b.clone());
        ctx.task(move |ctx| go(ctx, n - 1, a2));
        ctx.task(move |ctx| go(ctx, n - 2, b2));
        ctx.taskwait();
        // Relaxed: taskwait orders the children's stores before us.
        out.store(a.load(Ordering::Relaxed) + b.load(Ordering::Relaxed), Ordering::Relaxed);
    }
    let out = Arc::new(AtomicU64::new(u64::MAX));
    t.parallel(|ctx| {
        if ctx.is_master() {
            go(ctx, n, out.clone());
        }
    });
    out.load(Ordering::Relaxed)
}

#[test]
fn nested_tasks_count_and_fib() {
    let _w = watchdog(LIMIT_S, "nested_tasks_count_and_fib");
    let (depth, fib_n) = if cfg!(miri) { (4, 9) } else { (10, 20) };
    for n in [1, 2, 4] {
        let t = team(n, WaitPolicy::default());
        // A binary tree of tasks of depth `depth`: 2^(depth+1) - 1 tasks.
        let count = AtomicUsize::new(0);
        fn tree<'a>(ctx: &Ctx<'a>, depth: u32, count: &'a AtomicUsize) {
            count.fetch_add(1, Ordering::Relaxed);
            if depth > 0 {
                ctx.task(move |ctx| tree(ctx, depth - 1, count));
                ctx.task(move |ctx| tree(ctx, depth - 1, count));
            }
        }
        t.parallel(|ctx| {
            ctx.single_nowait(|| ctx.task(|ctx| tree(ctx, depth, &count)));
        });
        assert_eq!(count.load(Ordering::Relaxed), (1 << (depth + 1)) - 1, "{n} threads: tree of tasks");
        assert_eq!(fib_tasks(&t, fib_n), fib(fib_n), "{n} threads: fib({fib_n}) with tasks");
    }
}

/// A task chain that re-queues itself until `gate` opens (or 5 s pass):
/// never blocks a thread, so any helper may run it without deadlock.
fn poll_chain<'a>(ctx: &Ctx<'a>, gate: &'a AtomicBool, done: &'a AtomicBool, gave_up: &'a AtomicBool, until: Instant) {
    // Acquire: pairs with the Release that opens the gate.
    if gate.load(Ordering::Acquire) {
        done.store(true, Ordering::Release);
    } else if Instant::now() > until {
        gave_up.store(true, Ordering::Release);
    } else {
        std::thread::yield_now();
        ctx.task(move |ctx| poll_chain(ctx, gate, done, gave_up, until));
    }
}

#[test]
fn taskwait_waits_only_for_direct_children() {
    let _w = watchdog(LIMIT_S, "taskwait_waits_only_for_direct_children");
    for n in [1, 2, 4] {
        let t = team(n, WaitPolicy::default());
        let (gate, done, gave_up) = (AtomicBool::new(false), AtomicBool::new(false), AtomicBool::new(false));
        let child_ran = AtomicBool::new(false);
        let checked = AtomicBool::new(false);
        t.parallel(|ctx| {
            if ctx.is_master() {
                let until = Instant::now() + Duration::from_secs(5);
                let (gate, done, gave_up, child_ran) = (&gate, &done, &gave_up, &child_ran);
                ctx.task(move |ctx| {
                    // The child: starts the grandchild chain, then completes.
                    ctx.task(move |ctx| poll_chain(ctx, gate, done, gave_up, until));
                    child_ran.store(true, Ordering::Relaxed);
                });
                ctx.taskwait();
                assert!(child_ran.load(Ordering::Relaxed), "{n} threads: taskwait returned before its child ran");
                assert!(!gave_up.load(Ordering::Acquire), "{n} threads: taskwait waited for a grandchild");
                assert!(!done.load(Ordering::Acquire), "grandchild finished with the gate closed");
                gate.store(true, Ordering::Release);
                checked.store(true, Ordering::Relaxed);
            }
        });
        assert!(checked.load(Ordering::Relaxed));
        assert!(done.load(Ordering::Acquire), "{n} threads: the grandchild chain ran to its end by the region end");
    }
}

fn taskgroup_waits_for(t: &Team) {
    let count = AtomicUsize::new(0);
    let seen = AtomicUsize::new(usize::MAX);
    t.parallel(|ctx| {
        if ctx.is_master() {
            let count = &count;
            ctx.taskgroup(|ctx| {
                for _ in 0..4 {
                    ctx.task(move |ctx| {
                        for _ in 0..4 {
                            ctx.task(move |_| {
                                // Grandchildren finish late.
                                std::thread::sleep(Duration::from_micros(300));
                                count.fetch_add(1, Ordering::Relaxed);
                            });
                        }
                    });
                }
            });
            seen.store(count.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    });
    assert_eq!(seen.load(Ordering::Relaxed), 16, "{}: taskgroup returned before its descendants", t.wait_policy());
}

#[test]
fn taskgroup_waits_for_all_descendants() {
    let _w = watchdog(LIMIT_S, "taskgroup_waits_for_all_descendants");
    for n in [1, 2, 4] {
        taskgroup_waits_for(&team(n, WaitPolicy::default()));
    }
}

#[test]
fn tasks_complete_before_any_thread_passes_a_barrier() {
    let _w = watchdog(LIMIT_S, "tasks_complete_before_any_thread_passes_a_barrier");
    for n in [2, 4] {
        let t = team(n, WaitPolicy::default());
        let count = AtomicUsize::new(0);
        let (rounds, per) = if cfg!(miri) { (3, 5) } else { (20, 50) };
        t.parallel(|ctx| {
            for r in 0..rounds {
                for _ in 0..per {
                    let count = &count;
                    ctx.task(move |_| {
                        std::hint::black_box((0..200).sum::<u64>());
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
                let want = (r + 1) * per * ctx.num_threads();
                match r % 3 {
                    0 => ctx.barrier(),
                    1 => ctx.for_each(0..ctx.num_threads(), Schedule::Dynamic(1), |_| {}),
                    _ => ctx.single(|| ()),
                }
                let got = count.load(Ordering::Relaxed);
                assert_eq!(got, want, "thread {} passed barrier {r} with tasks pending", ctx.thread_num());
                ctx.barrier();
            }
        });
    }
}

#[test]
fn tasks_borrow_region_data() {
    let _w = watchdog(LIMIT_S, "tasks_borrow_region_data");
    let input: Vec<u64> = (0..if cfg!(miri) { 400 } else { 10_000 }).collect();
    let out: Vec<AtomicU64> = (0..input.len()).map(|_| AtomicU64::new(0)).collect();
    let t = team(4, WaitPolicy::default());
    t.parallel(|ctx| {
        ctx.for_each(0..input.len() / 100, Schedule::Static, |c| {
            let (input, out) = (&input, &out);
            ctx.task(move |_| {
                for i in c * 100..(c + 1) * 100 {
                    out[i].store(input[i] * 3, Ordering::Relaxed);
                }
            });
        });
        // Tasks from the loop completed at its implicit barrier.
        assert!(out.iter().zip(&input).all(|(o, i)| o.load(Ordering::Relaxed) == i * 3));
    });
}

#[test]
fn task_if_false_runs_inline() {
    let _w = watchdog(LIMIT_S, "task_if_false_runs_inline");
    let t = team(2, WaitPolicy::default());
    let deferred = AtomicUsize::new(0);
    t.parallel(|ctx| {
        let me: ThreadId = std::thread::current().id();
        // task_if's closure has the bounds of a task ('a, Send): it reports
        // through a shared slot.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let s2 = slot.clone();
        ctx.task_if(false, move |ctx| {
            *s2.lock().unwrap() = Some((std::thread::current().id(), ctx.thread_num()));
        });
        let got = slot.lock().unwrap().take();
        assert_eq!(got, Some((me, ctx.thread_num())), "task_if(false) did not run inline");
        let deferred = &deferred;
        ctx.task_if(true, move |_| {
            deferred.fetch_add(1, Ordering::Relaxed);
        });
        ctx.barrier();
        assert_eq!(deferred.load(Ordering::Relaxed), ctx.num_threads());
    });
}

#[test]
fn panic_in_task_is_reported_with_its_thread() {
    let _w = watchdog(LIMIT_S, "panic_in_task_is_reported_with_its_thread");
    quiet_boom_panics();
    for n in [1, 2, 4] {
        let t = team(n, WaitPolicy::default());
        let (rounds, n_tasks) = if cfg!(miri) { (1, 20) } else { (5, 200) };
        for round in 0..rounds {
            let ran_on = AtomicUsize::new(usize::MAX);
            let others = AtomicUsize::new(0);
            let r = t.try_parallel(|ctx| {
                if ctx.is_master() {
                    for i in 0..n_tasks {
                        let (ran_on, others) = (&ran_on, &others);
                        ctx.task(move |ctx| {
                            if i == n_tasks / 2 {
                                ran_on.store(ctx.thread_num(), Ordering::Relaxed);
                                panic!("boom in task {i}");
                            }
                            others.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                }
            });
            match r {
                Err(RegionError::Panicked { thread, message, .. }) => {
                    assert_eq!(thread, ran_on.load(Ordering::Relaxed), "{n} threads, round {round}: wrong thread");
                    assert_eq!(message, format!("boom in task {}", n_tasks / 2));
                }
                other => panic!("{n} threads: expected the task's panic, got {other:?}"),
            }
            // Queued tasks are run, not dropped.
            assert_eq!(others.load(Ordering::Relaxed), n_tasks - 1, "{n} threads: tasks lost after a panic");
        }
        // The team is usable afterwards, tasks included.
        exactly_once(&t, if cfg!(miri) { 20 } else { 1000 }, true);
    }
}

#[test]
fn parallel_reraises_a_task_panic_and_barrier_in_task_is_refused() {
    let _w = watchdog(LIMIT_S, "parallel_reraises_a_task_panic_and_barrier_in_task_is_refused");
    quiet_boom_panics();
    let t = team(2, WaitPolicy::default());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        t.parallel(|ctx| {
            ctx.master(|| ctx.task(|_| panic!("boom re-raised")));
        })
    }));
    let payload = r.expect_err("parallel must re-raise");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom re-raised"));
    let r = t.try_parallel(|ctx| {
        ctx.master(|| ctx.task(|ctx| ctx.barrier()));
    });
    match r {
        Err(RegionError::Panicked { message, .. }) => {
            assert!(message.contains("inside a task"), "unexpected message: {message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    exactly_once(&t, 100, true);
}

fn fib_scoped(ctx: &Ctx<'_>, n: u64) -> u64 {
    if n < 10 {
        return fib(n);
    }
    let mut a = 0;
    let b = ctx.task_scope(|s| {
        s.spawn(|ctx| a = fib_scoped(ctx, n - 1));
        fib_scoped(ctx, n - 2)
    });
    a + b
}

#[test]
fn task_scope_borrows_locals() {
    let _w = watchdog(LIMIT_S, "task_scope_borrows_locals");
    let base = if cfg!(miri) { 10 } else { 15 };
    for n in [1, 2, 4] {
        let t = team(n, WaitPolicy::default());
        let out = AtomicU64::new(0);
        t.parallel(|ctx| {
            // Every thread runs its own tree; locals of this closure are
            // borrowed by the scope's tasks.
            let mut parts = [0u64; 4];
            ctx.task_scope(|s| {
                for (i, p) in parts.iter_mut().enumerate() {
                    s.spawn(move |ctx| *p = fib_scoped(ctx, base + i as u64));
                }
            });
            out.fetch_add(parts.iter().sum::<u64>(), Ordering::Relaxed);
        });
        let want: u64 = (base..base + 4).map(fib).sum::<u64>() * n as u64;
        assert_eq!(out.load(Ordering::Relaxed), want, "{n} threads: task_scope results");
    }
}

#[test]
fn many_short_regions_with_tasks() {
    // Workers leave each region while the master may already fork the next
    // one: no task may be lost, run twice or run in the wrong region.
    let _w = watchdog(LIMIT_S, "many_short_regions_with_tasks");
    // (Spin is covered by `every_wait_policy`; oversubscribed, it makes this slow.)
    for policy in [WaitPolicy::default(), WaitPolicy::Block] {
        let t = team(2, policy);
        let regions = if cfg!(miri) { 10 } else { 2000 };
        let count = AtomicUsize::new(0);
        for r in 0..regions {
            let in_region = AtomicUsize::new(0);
            t.parallel(|ctx| {
                if ctx.is_master() {
                    for _ in 0..(r % 5) {
                        let (count, in_region) = (&count, &in_region);
                        ctx.task(move |_| {
                            count.fetch_add(1, Ordering::Relaxed);
                            in_region.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                }
            });
            assert_eq!(in_region.load(Ordering::Relaxed), r % 5, "{policy}: region {r} lost or leaked tasks");
        }
        let want: usize = (0..regions).map(|r| r % 5).sum();
        assert_eq!(count.load(Ordering::Relaxed), want);
    }
}

#[test]
fn nested_region_inside_a_task_and_panic_in_taskgroup_body() {
    let _w = watchdog(LIMIT_S, "nested_region_inside_a_task_and_panic_in_taskgroup_body");
    quiet_boom_panics();
    let t = team(2, WaitPolicy::default());
    let inner = AtomicUsize::new(0);
    t.parallel(|ctx| {
        let (t, inner) = (&t, &inner);
        ctx.task(move |_| {
            // A nested region runs on this thread alone, with its own tasks.
            t.parallel(|c| {
                assert_eq!(c.num_threads(), 1);
                c.task(move |_| {
                    inner.fetch_add(1, Ordering::Relaxed);
                });
            });
        });
    });
    assert_eq!(inner.load(Ordering::Relaxed), 2);
    // The taskgroup waits for its tasks even when its body panics.
    let finished = AtomicUsize::new(0);
    let r = t.try_parallel(|ctx| {
        if ctx.is_master() {
            let finished = &finished;
            ctx.taskgroup(|ctx| {
                for _ in 0..10 {
                    ctx.task(move |_| {
                        std::thread::sleep(Duration::from_micros(200));
                        finished.fetch_add(1, Ordering::Relaxed);
                    });
                }
                panic!("boom in taskgroup body");
            });
        }
    });
    assert!(matches!(r, Err(RegionError::Panicked { thread: 0, .. })), "{r:?}");
    assert_eq!(finished.load(Ordering::Relaxed), 10);
}

/// `k` tasks that each wait (bounded) until all `k` are running at once, so
/// they can only finish if `k` different threads run them together. Returns
/// the threads that ran them, or an error if the rendezvous timed out.
fn rendezvous_tasks<'a>(ctx: &Ctx<'a>, k: usize, arrived: &'a AtomicUsize, ran_on: &'a [AtomicUsize]) {
    for slot in ran_on.iter().take(k) {
        ctx.task(move |ctx| {
            slot.store(ctx.thread_num(), Ordering::Relaxed);
            arrived.fetch_add(1, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_secs(if cfg!(miri) { 600 } else { 10 });
            while arrived.load(Ordering::SeqCst) < k && Instant::now() < until {
                std::thread::yield_now();
            }
        });
    }
}

/// Threads waiting at a barrier run the tasks created before it (OpenMP: a
/// barrier is a task scheduling point), also when they reached it before the
/// first task existed, under every policy: explicit barrier after `master`,
/// the implicit barrier of `single`, and the one of a worksharing loop.
#[test]
fn waiters_at_a_barrier_run_tasks() {
    let _w = watchdog(LIMIT_S * 4, "waiters_at_a_barrier_run_tasks");
    let sizes: &[usize] = if cfg!(miri) { &[2] } else { &[2, 4, 8] };
    let late = Duration::from_millis(if cfg!(miri) { 50 } else { 5 });
    // Under Miri (about 1000 times slower) one kind and two policies: the
    // protocol is the same for every kind, and Block and Spin are its two
    // wake-up paths (event word vs polling).
    let kinds: &[BarrierKind] = if cfg!(miri) {
        &[BarrierKind::Central]
    } else {
        &[BarrierKind::Central, BarrierKind::Tree, BarrierKind::Condvar]
    };
    let policies: &[WaitPolicy] = if cfg!(miri) { &[WaitPolicy::Block, WaitPolicy::Spin] } else { &POLICIES };
    for (kind, &policy) in kinds.iter().flat_map(|&k| policies.iter().map(move |p| (k, p))) {
        for &n in sizes {
            let t = Team::builder().num_threads(n).wait_policy(policy).barrier(kind).build().expect("team");
            for construct in ["master+barrier", "single", "for_each"] {
                let arrived = AtomicUsize::new(0);
                let ran_on: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(usize::MAX)).collect();
                t.parallel(|ctx| {
                    let create = || {
                        // Let the other threads reach the barrier first.
                        std::thread::sleep(late);
                        rendezvous_tasks(ctx, n, &arrived, &ran_on);
                    };
                    match construct {
                        "master+barrier" => {
                            ctx.master(create);
                            ctx.barrier();
                        }
                        "single" => ctx.single(create),
                        _ => ctx.for_each(0..1, Schedule::Static, |_| create()),
                    }
                    // The barrier completed only after every task did.
                    assert_eq!(arrived.load(Ordering::SeqCst), n, "{construct}: a task still outstanding");
                });
                let mut threads: Vec<usize> = ran_on.iter().map(|a| a.load(Ordering::Relaxed)).collect();
                threads.sort_unstable();
                assert_eq!(
                    threads,
                    (0..n).collect::<Vec<_>>(),
                    "{construct}, {n} threads, {policy:?}, {kind:?}: the {n} tasks did not run on {n} different threads \
                     (a waiter at the barrier did not pick up tasks)"
                );
            }
        }
    }
}

fn fib_spawn(ctx: &Ctx<'_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    // The line-by-line port of `x = task fib(n-1); y = task fib(n-2);
    // taskwait; return x + y`, with a cut-off through `spawn_if`.
    let x = ctx.spawn(move |ctx| fib_spawn(ctx, n - 1));
    let y = ctx.spawn_if(n > 4, move |ctx| fib_spawn(ctx, n - 2));
    x.join() + y.join()
}

/// Tasks that return values through handles: the fib tree with one task per
/// call gives the serial result on every team size and policy, and every
/// handle's task ran exactly once (the result would be off otherwise).
#[test]
fn spawn_and_join_return_values() {
    let _w = watchdog(LIMIT_S, "spawn_and_join_return_values");
    let n = if cfg!(miri) { 7 } else { 18 };
    let policies: &[WaitPolicy] = if cfg!(miri) { &[WaitPolicy::Block] } else { &POLICIES };
    for &policy in policies {
        for threads in [1, 2, 4] {
            let t = team(threads, policy);
            let got = AtomicU64::new(0);
            t.parallel(|ctx| {
                ctx.single(|| got.store(fib_spawn(ctx, n), Ordering::Relaxed));
            });
            assert_eq!(got.into_inner(), fib(n), "{threads} threads, {policy:?}");
        }
    }
}

/// `spawn_if(false, ..)` runs the closure at once on the calling thread and
/// its handle is finished before `join`; a handle of a deferred task is not
/// finished before the task ran.
#[test]
fn spawn_if_false_is_immediate() {
    let _w = watchdog(LIMIT_S, "spawn_if_false_is_immediate");
    let t = team(2, WaitPolicy::default());
    let gate = AtomicBool::new(false);
    t.parallel(|ctx| {
        ctx.master(|| {
            let me = ctx.thread_num();
            let h = ctx.spawn_if(false, |c| c.thread_num());
            assert!(h.is_finished());
            assert_eq!(h.join(), me);
            let gate = &gate;
            let h = ctx.spawn(move |_| {
                let until = Instant::now() + Duration::from_secs(20);
                while !gate.load(Ordering::Acquire) && Instant::now() < until {
                    std::thread::yield_now();
                }
                7
            });
            assert!(!h.is_finished(), "a deferred task cannot have finished before its gate opened");
            gate.store(true, Ordering::Release);
            assert_eq!(h.join(), 7);
        });
    });
}

/// Joining a task that panicked panics too; the region reports the task's
/// own panic (with its payload), and every other task still ran.
#[test]
fn join_of_a_panicked_task() {
    let _w = watchdog(LIMIT_S, "join_of_a_panicked_task");
    quiet_boom_panics();
    let t = team(2, WaitPolicy::default());
    let ran = AtomicUsize::new(0);
    let r = t.try_parallel(|ctx| {
        ctx.master(|| {
            let ok = ctx.spawn(|_| {
                ran.fetch_add(1, Ordering::Relaxed);
                1
            });
            let bad = ctx.spawn(|_| -> u32 { panic!("boom in a spawned task") });
            assert_eq!(ok.join(), 1);
            let _ = bad.join();
        });
    });
    match r {
        Err(RegionError::Panicked { payload, .. }) => {
            let payload = payload.into_inner();
            let msg = payload.downcast_ref::<&str>().copied().unwrap_or("");
            assert_eq!(msg, "boom in a spawned task", "the region reports the task's own panic");
        }
        other => panic!("expected the task's panic, got {other:?}"),
    }
    assert_eq!(ran.into_inner(), 1);
}

/// taskloop: every index exactly once under every grain, the call waits for
/// its pieces (and may borrow locals), pieces spread as tasks; `nogroup`
/// pieces are done by the barrier.
#[test]
fn taskloop_runs_each_index_once() {
    let _w = watchdog(LIMIT_S, "taskloop_runs_each_index_once");
    let len = if cfg!(miri) { 50 } else { 10_000 };
    for threads in [1, 2, 4] {
        let t = team(threads, WaitPolicy::default());
        for grain in
            [Grain::Auto, Grain::Size(1), Grain::Size(7), Grain::Size(len * 2), Grain::Tasks(3), Grain::Tasks(len * 3)]
        {
            let hits: Vec<AtomicU8> = (0..len).map(|_| AtomicU8::new(0)).collect();
            let late: Vec<AtomicU8> = (0..len).map(|_| AtomicU8::new(0)).collect();
            t.parallel(|ctx| {
                ctx.single(|| {
                    let local = AtomicUsize::new(0);
                    ctx.taskloop(0..len, grain, |i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                        local.fetch_add(1, Ordering::Relaxed);
                    });
                    // The grouped form returned only after every piece ran.
                    assert_eq!(local.into_inner(), len, "{grain:?}");
                    let late = &late;
                    ctx.taskloop_nogroup(0..len, grain, move |i| {
                        late[i].fetch_add(1, Ordering::Relaxed);
                    });
                });
                // single's implicit barrier: the nogroup pieces are done.
                assert!(late.iter().all(|h| h.load(Ordering::Relaxed) == 1), "{grain:?}: nogroup piece missing");
            });
            for (name, v) in [("taskloop", &hits), ("taskloop_nogroup", &late)] {
                let bad = v.iter().position(|h| h.load(Ordering::Relaxed) != 1);
                assert_eq!(bad, None, "{threads} threads, {grain:?}: {name} index not run exactly once");
            }
        }
    }
}

#[test]
fn taskloop_bad_grain_names_the_clause() {
    quiet_boom_panics();
    let t = team(2, WaitPolicy::default());
    for (grain, clause) in [(Grain::Size(0), "grainsize"), (Grain::Tasks(0), "num_tasks")] {
        let r = t.try_parallel(|ctx| ctx.master(|| ctx.taskloop(0..10, grain, |_| {})).unwrap_or(()));
        match r {
            Err(RegionError::Panicked { message, .. }) => {
                assert!(message.contains(clause) && message.contains('0'), "{message}")
            }
            other => panic!("expected a named error for {grain:?}, got {other:?}"),
        }
    }
}

/// `task_final(true, ..)` runs at once on the creating thread with every
/// task created inside it (transitively); `in_final` is true only inside.
#[test]
fn final_tasks_include_their_subtree() {
    let _w = watchdog(LIMIT_S, "final_tasks_include_their_subtree");
    let t = team(2, WaitPolicy::default());
    let count = AtomicUsize::new(0);
    t.parallel(|ctx| {
        ctx.master(|| {
            assert!(!ctx.in_final());
            let me = std::thread::current().id();
            let count = &count;
            ctx.task_final(true, move |ctx| {
                assert!(ctx.in_final());
                for _ in 0..10 {
                    ctx.task(move |ctx| {
                        assert!(ctx.in_final(), "a task inside a final task is final");
                        assert_eq!(std::thread::current().id(), me, "included tasks run on the creator");
                        ctx.task(move |_| {
                            count.fetch_add(1, Ordering::Relaxed);
                        });
                    });
                }
            });
            // All ran already: nothing was deferred.
            assert_eq!(count.load(Ordering::Relaxed), 10);
            assert!(!ctx.in_final());
            ctx.task_final(false, move |ctx| assert!(!ctx.in_final()));
            ctx.task_priority(5, move |_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        });
    });
    assert_eq!(count.into_inner(), 11);
}

/// `taskyield` runs a queued task when there is one and reports it.
#[test]
fn taskyield_runs_a_queued_task() {
    let _w = watchdog(LIMIT_S, "taskyield_runs_a_queued_task");
    let t = team(1, WaitPolicy::default());
    let ran = AtomicUsize::new(0);
    t.parallel(|ctx| {
        assert!(!ctx.taskyield(), "nothing queued");
        let ran = &ran;
        ctx.task(move |_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert!(ctx.taskyield(), "the queued task runs");
        assert_eq!(ran.load(Ordering::Relaxed), 1);
    });
}

/// With one thread the implicit barriers of `single` and `reduce` are still
/// task scheduling points: the tasks created before them are done after.
#[test]
fn one_thread_implicit_barriers_complete_tasks() {
    let _w = watchdog(LIMIT_S, "one_thread_implicit_barriers_complete_tasks");
    let t = team(1, WaitPolicy::default());
    let ran = AtomicUsize::new(0);
    t.parallel(|ctx| {
        let ran = &ran;
        ctx.task(move |_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        ctx.single(|| ());
        assert_eq!(ran.load(Ordering::Relaxed), 1, "single's barrier");
        ctx.task(move |_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        let s = ctx.reduce(0..10, Schedule::Static, 0, |a, i| a + i, |a, b| a + b);
        assert_eq!(s, 45);
        assert_eq!(ran.load(Ordering::Relaxed), 2, "reduce's barrier");
    });
}
