//! The fault sites of `tests/faults.rs`: one table row per place a thread
//! can fail. Each row draws its own parameters from the trial's generator,
//! describes them (for the replay message), runs one region on the team and
//! says which error it expects. Adding a construct (tasks, master-worker) is
//! one function and one row in [`SITES`].

use crate::fault_kit::{Fault, Ledger, Outcome, SplitMix64, Tally};
use phalanx::tasks::{DepKey, Depend, Grain};
use phalanx::{Ctx, MasterWorkerError, RegionError, Schedule, TaskQueue, Team};
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What a site gets: the team, the trial's generator, and a note to write its
/// parameters into before it runs (printed if the trial hangs or fails).
pub struct Plan<'a> {
    pub team: &'a Team,
    pub rng: &'a mut SplitMix64,
    pub note: &'a Mutex<String>,
}

impl Plan<'_> {
    fn describe(&self, s: String) {
        *self.note.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }
}

/// The error a site expects from its region.
#[derive(Debug, PartialEq, Eq)]
pub enum Expect {
    /// `RegionError::Panicked` by this thread (`None`: the fault never fired,
    /// itself a failure).
    Panicked(Option<usize>),
    /// `RegionError::Diverged` with this thread as `left`, waiting at `line`
    /// of `sites.rs`.
    Diverged { left: usize, line: u32 },
}

/// What a site's region did.
pub struct Run {
    pub result: Result<(), RegionError>,
    pub expect: Expect,
    /// Exactly-once check of the items or iterations the site handed out.
    pub tally: Tally,
}

/// One row: a place where a thread fails.
pub struct Site {
    pub name: &'static str,
    /// Smallest team for which the fault means something.
    pub min_threads: usize,
    pub run: fn(&mut Plan<'_>) -> Run,
}

/// Every fault site.
pub const SITES: &[Site] = &[
    Site { name: "barrier", min_threads: 1, run: barrier_episode },
    Site { name: "for_each", min_threads: 1, run: loop_iteration },
    Site { name: "single", min_threads: 1, run: single_body },
    Site { name: "critical", min_threads: 1, run: critical_body },
    Site { name: "reduce-fold", min_threads: 1, run: reduce_fold },
    Site { name: "reduce-combine", min_threads: 2, run: reduce_combine },
    Site { name: "queue-consumer", min_threads: 1, run: queue_consumer },
    Site { name: "queue-producer", min_threads: 1, run: queue_producer },
    Site { name: "task-body", min_threads: 1, run: task_body },
    Site { name: "task-depend", min_threads: 1, run: task_depend },
    Site { name: "taskloop-chunk", min_threads: 1, run: taskloop_chunk },
    Site { name: "task-in-barrier-wait", min_threads: 2, run: task_in_barrier_wait },
    Site { name: "master-worker", min_threads: 1, run: master_worker },
    Site { name: "diverge-barrier", min_threads: 2, run: diverge_barrier },
    Site { name: "diverge-for_each", min_threads: 2, run: diverge_loop },
    Site { name: "ordered-body", min_threads: 1, run: ordered_body },
    Site { name: "cancelled-loop", min_threads: 1, run: cancelled_loop },
];

/// Any schedule, chunk 1..=8.
fn schedule(rng: &mut SplitMix64) -> Schedule {
    let c = rng.range(1, 8);
    *rng.pick(&[
        Schedule::Static,
        Schedule::StaticChunk(c),
        Schedule::Dynamic(c),
        Schedule::Guided(c),
        Schedule::Runtime,
        Schedule::Auto,
    ])
}

/// How long the failing thread dawdles first: not at all (its peers find
/// the barrier broken when they arrive), or a little (they are already
/// waiting, maybe parked, and must be woken).
fn dawdle(mode: usize) {
    match mode {
        0 => {}
        1 => (0..3).for_each(|_| std::thread::yield_now()),
        _ => std::thread::sleep(Duration::from_micros(200)),
    }
}

/// Iterations run more than once (a loop has no "lost": a failed loop stops).
fn duplicates(hits: &[AtomicU8]) -> Tally {
    // Relaxed: read after the region joined.
    let duplicated = hits.iter().filter(|h| h.load(Ordering::Relaxed) > 1).count();
    Tally { offered: hits.len(), duplicated, ..Tally::default() }
}

fn counters(n: usize) -> Vec<AtomicU8> {
    (0..n).map(|_| AtomicU8::new(0)).collect()
}

/// Thread `t` panics just before its `k`-th of `e` barriers.
fn barrier_episode(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (e, t, mode) = (p.rng.range(1, 4), p.rng.index(n), p.rng.index(3));
    let k = p.rng.index(e);
    p.describe(format!("episodes={e} culprit={t} at_episode={k} dawdle={mode}"));
    let fault = Fault::default();
    let result = p.team.try_parallel(|ctx| {
        for ep in 0..e {
            if ctx.thread_num() == t && ep == k {
                dawdle(mode);
                fault.fire(t, "barrier");
            }
            ctx.barrier();
        }
    });
    Run { result, expect: Expect::Panicked(Some(t)), tally: Tally::default() }
}

/// Whoever runs iteration `f` of a loop panics; `for_each`, or
/// `for_each_nowait` plus a barrier.
fn loop_iteration(p: &mut Plan<'_>) -> Run {
    let (s, len, nowait) = (schedule(p.rng), p.rng.range(1, 200), p.rng.one_in(2));
    let f = p.rng.index(len);
    p.describe(format!("schedule={s} len={len} fault_iteration={f} nowait={nowait}"));
    let (fault, hits) = (Fault::default(), counters(len));
    let result = p.team.try_parallel(|ctx| {
        let body = |i: usize| {
            // Relaxed: a per-iteration counter, read after the join.
            hits[i].fetch_add(1, Ordering::Relaxed);
            if i == f {
                fault.fire(ctx.thread_num(), "for_each iteration");
            }
        };
        if nowait {
            ctx.for_each_nowait(0..len, s, body);
            ctx.barrier();
        } else {
            ctx.for_each(0..len, s, body);
        }
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: duplicates(&hits) }
}

/// Whoever runs iteration `f` of an ordered loop panics inside its ordered
/// part (or, half the time, in the unordered part before it); threads
/// waiting for later turns must be released. The ordered parts that ran
/// must have run in order.
fn ordered_body(p: &mut Plan<'_>) -> Run {
    let (s, len, inside) = (schedule(p.rng), p.rng.range(1, 100), p.rng.one_in(2));
    let f = p.rng.index(len);
    p.describe(format!("schedule={s} len={len} fault_iteration={f} inside_ordered={inside}"));
    let (fault, hits) = (Fault::default(), counters(len));
    let next = AtomicUsize::new(0);
    let result = p.team.try_parallel(|ctx| {
        ctx.for_each_ordered(0..len, s, |i, ord| {
            // Relaxed: a per-iteration counter, read after the join.
            hits[i].fetch_add(1, Ordering::Relaxed);
            if i == f && !inside {
                fault.fire(ctx.thread_num(), "ordered loop, before the ordered part");
            }
            ord.ordered(|| {
                // Relaxed: the turn word orders the ordered parts.
                assert_eq!(next.swap(i + 1, Ordering::Relaxed), i, "ordered part out of order");
                if i == f {
                    fault.fire(ctx.thread_num(), "ordered body");
                }
            });
        })
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: duplicates(&hits) }
}

/// A loop cancelled at iteration `c` (`cancel_for`, on a twin of the trial's
/// team with cancellation enabled), and a panic: by the cancelling thread
/// right after the request, or by thread `t` after the loop's barrier. The
/// panic must win over the cancellation (the region fails, naming it), no
/// iteration may run twice, and threads must not hang on the cancelled loop.
fn cancelled_loop(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (s, len, after) = (schedule(p.rng), p.rng.range(1, 300), p.rng.one_in(2));
    let (c, t) = (p.rng.index(len), p.rng.index(n));
    p.describe(format!(
        "schedule={s} len={len} cancel_iteration={c} panic_after_loop_by={}",
        after.then_some(t).map_or("-".into(), |t| t.to_string())
    ));
    let team = Team::builder()
        .num_threads(n)
        .wait_policy(p.team.wait_policy())
        .barrier(p.team.barrier_kind())
        .cancellation(true)
        .build()
        .expect("the cancellable twin team");
    let (fault, hits) = (Fault::default(), counters(len));
    let result = team.try_parallel(|ctx| {
        ctx.for_each(0..len, s, |i| {
            // Relaxed: a per-iteration counter, read after the join.
            hits[i].fetch_add(1, Ordering::Relaxed);
            if i == c {
                assert!(ctx.cancel_for(), "cancellation is enabled on this team");
                if !after {
                    fault.fire(ctx.thread_num(), "cancelled loop, after cancel_for");
                }
            }
        });
        if after && ctx.thread_num() == t {
            fault.fire(t, "after a cancelled loop");
        }
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: duplicates(&hits) }
}

/// The thread that runs the `s`-th of `m` `single` bodies panics; the others
/// must receive the values of the earlier ones.
fn single_body(p: &mut Plan<'_>) -> Run {
    let m = p.rng.range(1, 3);
    let s = p.rng.index(m);
    p.describe(format!("singles={m} fault_single={s}"));
    let fault = Fault::default();
    let result = p.team.try_parallel(|ctx| {
        for j in 0..m {
            let v = ctx.single(|| {
                if j == s {
                    fault.fire(ctx.thread_num(), "single body");
                }
                j * 10 + 1
            });
            assert_eq!(v, j * 10 + 1, "single handed out a wrong value");
        }
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: Tally::default() }
}

/// Thread `t` panics inside `critical`; the lock must not stay held.
fn critical_body(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (t, mode) = (p.rng.index(n), p.rng.index(3));
    p.describe(format!("culprit={t} dawdle={mode}"));
    let fault = Fault::default();
    let inside = AtomicUsize::new(0);
    let result = p.team.try_parallel(|ctx| {
        ctx.critical(|| {
            // Relaxed: the critical lock orders these; checks mutual exclusion.
            assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two threads inside critical");
            if ctx.thread_num() == t {
                dawdle(mode);
                inside.fetch_sub(1, Ordering::Relaxed);
                fault.fire(t, "critical body");
            }
            // Relaxed: as above.
            inside.fetch_sub(1, Ordering::Relaxed);
        });
        ctx.barrier();
    });
    Run { result, expect: Expect::Panicked(Some(t)), tally: Tally::default() }
}

/// Whoever folds index `f` panics.
fn reduce_fold(p: &mut Plan<'_>) -> Run {
    let (s, len) = (schedule(p.rng), p.rng.range(1, 200));
    let f = p.rng.index(len);
    p.describe(format!("schedule={s} len={len} fault_index={f}"));
    let (fault, hits) = (Fault::default(), counters(len));
    let result = p.team.try_parallel(|ctx| {
        let fold = |a: u64, i: usize| {
            // Relaxed: a per-index counter, read after the join.
            hits[i].fetch_add(1, Ordering::Relaxed);
            if i == f {
                fault.fire(ctx.thread_num(), "reduce fold");
            }
            a + i as u64
        };
        let _ = ctx.reduce(0..len, s, 0u64, fold, |a, b| a + b);
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: duplicates(&hits) }
}

/// The `k`-th combine call (thread 0 combines, `n - 1` calls) panics.
fn reduce_combine(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (s, k) = (schedule(p.rng), p.rng.index(n - 1));
    p.describe(format!("schedule={s} fault_combine={k}"));
    let (fault, calls) = (Fault::default(), AtomicUsize::new(0));
    let result = p.team.try_parallel(|ctx| {
        let combine = |a: u64, b: u64| {
            // Relaxed: only thread 0 combines.
            if calls.fetch_add(1, Ordering::Relaxed) == k {
                fault.fire(ctx.thread_num(), "reduce combine");
            }
            a + b
        };
        let _ = ctx.reduce(0..64, s, 0u64, |a, i| a + i as u64, combine);
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: Tally::default() }
}

/// The shape of a queue site: thread 0 pushes ids `0..m` (panicking before
/// push `stop` if given), closes the queue even when unwinding, and every
/// thread pops and runs items; the consumer of item `bad` panics in its
/// handler. Leftovers are drained after the region.
fn queue_region(
    p: &mut Plan<'_>,
    m: usize,
    stop: Option<usize>,
    bad: Option<usize>,
) -> (Result<(), RegionError>, Fault, Tally) {
    let queue: TaskQueue<usize> = TaskQueue::with_policy(p.team.wait_policy());
    let (ledger, fault, pushed) = (Ledger::new(m), Fault::default(), AtomicUsize::new(0));
    let result = p.team.try_parallel(|ctx| {
        if ctx.is_master() {
            // Close on every exit, unwinding included: a producer that dies
            // without closing strands its consumers in `pop` (not a barrier
            // the team can break). `master_worker` must do the same.
            struct CloseOnDrop<'q>(&'q TaskQueue<usize>);
            impl Drop for CloseOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.close();
                }
            }
            let _close = CloseOnDrop(&queue);
            for id in 0..m {
                if Some(id) == stop {
                    fault.fire(0, "queue producer");
                }
                match queue.push(id) {
                    // Relaxed: read after the join.
                    Ok(()) => pushed.fetch_add(1, Ordering::Relaxed),
                    Err(e) => panic!("push of {} refused on an open queue", e.into_inner()),
                };
            }
        }
        while let Some(id) = queue.pop() {
            let held = ledger.hold(id);
            if Some(id) == bad {
                fault.fire(ctx.thread_num(), "queue task");
            }
            held.ran();
        }
    });
    while let Some(id) = queue.try_pop().item() {
        ledger.record(id, Outcome::Remained);
    }
    if let Err(e) = queue.push(m) {
        assert_eq!(e.into_inner(), m, "push after close must hand the item back");
    } else {
        panic!("push accepted after close");
    }
    // Relaxed: the region joined.
    (result, fault, ledger.tally(pushed.load(Ordering::Relaxed)))
}

/// The consumer of item `bad` of `m` panics.
fn queue_consumer(p: &mut Plan<'_>) -> Run {
    let m = p.rng.range(1, 100);
    let bad = p.rng.index(m);
    p.describe(format!("items={m} fault_item={bad}"));
    let (result, fault, tally) = queue_region(p, m, None, Some(bad));
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally }
}

/// The producer (thread 0) panics before pushing item `stop` of `m`.
fn queue_producer(p: &mut Plan<'_>) -> Run {
    let m = p.rng.range(1, 100);
    let stop = p.rng.index(m);
    p.describe(format!("items={m} producer_stops_at={stop}"));
    let (result, fault, tally) = queue_region(p, m, Some(stop), None);
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally }
}

/// Thread `c` creates `k` tasks, from its region body or from inside one
/// task, and the task `bad` panics. The region must fail naming the thread
/// that ran it (`Fault::fire` records it), and every other task must run
/// exactly once: queued tasks are run, not dropped. After creating, `c`
/// reaches the region's end, a `taskwait` or a barrier.
fn task_body(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (c, k, nested, end) = (p.rng.index(n), p.rng.range(1, 16), p.rng.one_in(3), p.rng.index(3));
    let bad = p.rng.index(k);
    let end_name = ["region-end", "taskwait", "barrier"][end];
    p.describe(format!("creator={c} tasks={k} fault_task={bad} nested={nested} end={end_name}"));
    let (ledger, fault) = (Ledger::new(k), Fault::default());
    let (ledger_ref, fault_ref) = (&ledger, &fault);
    let result = p.team.try_parallel(|ctx| {
        if ctx.thread_num() == c {
            if nested {
                ctx.task(move |ctx| spawn_tasks(ctx, k, bad, ledger_ref, fault_ref));
            } else {
                spawn_tasks(ctx, k, bad, ledger_ref, fault_ref);
            }
        }
        match end {
            0 => {}
            1 => ctx.taskwait(),
            _ => ctx.barrier(),
        }
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: ledger.tally(k) }
}

/// Thread `c` creates `k` tasks with random dependences (up to three of
/// four keys, `in` or `inout`), and task `bad` panics. Its dependents,
/// transitively (the later tasks it conflicts with, and theirs), must not
/// run: they are recorded here as `Remained` (a skipped task that ran shows
/// up as duplicated) and must match the team's skipped count; every other
/// task runs exactly once.
fn task_depend(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (c, k) = (p.rng.index(n), p.rng.range(1, 16));
    let bad = p.rng.index(k);
    let spec: Vec<Vec<(u64, bool)>> =
        (0..k).map(|_| (0..p.rng.index(4)).map(|_| (p.rng.below(4), p.rng.one_in(2))).collect()).collect();
    p.describe(format!("creator={c} tasks={k} fault_task={bad} deps={spec:?}"));
    // The tasks that depend on `bad`, transitively.
    let conflict =
        |i: usize, j: usize| spec[i].iter().any(|&(a, wi)| spec[j].iter().any(|&(b, wj)| a == b && (wi || wj)));
    let mut skipped = vec![false; k];
    for j in bad + 1..k {
        skipped[j] = conflict(bad, j) || (bad + 1..j).any(|i| skipped[i] && conflict(i, j));
    }
    let before = p.team.skipped_tasks();
    let (ledger, fault) = (Ledger::new(k), Fault::default());
    let (ledger_ref, fault_ref, spec_ref) = (&ledger, &fault, &spec);
    let result = p.team.try_parallel(|ctx| {
        if ctx.thread_num() == c {
            for (id, items) in spec_ref.iter().enumerate() {
                let deps: Vec<Depend> = items
                    .iter()
                    .map(|&(key, w)| if w { Depend::InOut(DepKey::Id(key)) } else { Depend::In(DepKey::Id(key)) })
                    .collect();
                ctx.task_depend(&deps, move |ctx| {
                    let held = ledger_ref.hold(id);
                    if id == bad {
                        fault_ref.fire(ctx.thread_num(), "task with dependents");
                    }
                    held.ran();
                });
            }
        }
    });
    let expected_skips = skipped.iter().filter(|&&s| s).count();
    for (id, _) in skipped.iter().enumerate().filter(|(_, &s)| s) {
        ledger.record(id, Outcome::Remained);
    }
    let mut tally = ledger.tally(k);
    // A skip the team did not count (or counted twice) is an item unaccounted for.
    tally.lost += (p.team.skipped_tasks() - before).abs_diff(expected_skips);
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally }
}

/// Whoever runs iteration `f` of a taskloop (grouped or `nogroup`, any
/// grain) panics; no iteration runs twice (the failed piece stops).
fn taskloop_chunk(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (c, len, nogroup) = (p.rng.index(n), p.rng.range(1, 200), p.rng.one_in(2));
    let g = p.rng.range(1, 20);
    let grain = *p.rng.pick(&[Grain::Auto, Grain::Size(g), Grain::Tasks(g)]);
    let f = p.rng.index(len);
    p.describe(format!("creator={c} len={len} grain={grain:?} nogroup={nogroup} fault_iteration={f}"));
    let hits = counters(len);
    let fault = Fault::default();
    let (hits_ref, fault_ref) = (&hits, &fault);
    let result = p.team.try_parallel(|ctx| {
        if ctx.thread_num() == c {
            let body = move |i: usize| {
                // Relaxed: read after the region joined.
                hits_ref[i].fetch_add(1, Ordering::Relaxed);
                if i == f {
                    fault_ref.fire(phalanx::thread_num(), "taskloop piece");
                }
            };
            if nogroup {
                ctx.taskloop_nogroup(0..len, grain, body);
            } else {
                ctx.taskloop(0..len, grain, body);
            }
        }
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: duplicates(&hits) }
}

/// The master creates `k` tasks after the others reached a barrier, so they
/// run them from inside their barrier wait; task `bad` panics there. The
/// barrier must release everyone, the region fail naming the thread that
/// ran it, and every other task run exactly once.
fn task_in_barrier_wait(p: &mut Plan<'_>) -> Run {
    let (k, mode) = (p.rng.range(1, 16), p.rng.index(3));
    let bad = p.rng.index(k);
    p.describe(format!("tasks={k} fault_task={bad} dawdle={mode}"));
    let (ledger, fault) = (Ledger::new(k), Fault::default());
    let (ledger_ref, fault_ref) = (&ledger, &fault);
    let result = p.team.try_parallel(|ctx| {
        ctx.master(|| {
            dawdle(mode);
            spawn_tasks(ctx, k, bad, ledger_ref, fault_ref);
        });
        ctx.barrier();
    });
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: ledger.tally(k) }
}

/// Tasks `0..k` on the ledger; task `bad` panics as the thread running it.
fn spawn_tasks<'a>(ctx: &Ctx<'a>, k: usize, bad: usize, ledger: &'a Ledger, fault: &'a Fault) {
    for id in 0..k {
        ctx.task(move |ctx| {
            let held = ledger.hold(id);
            if id == bad {
                fault.fire(ctx.thread_num(), "task body");
            }
            held.ran();
        });
    }
}

/// `team.try_master_worker` over ids `0..m`: the producer panics before
/// pushing `stop`, or the worker that runs `bad` panics. Every id pushed
/// must run exactly once, come back in `MasterWorkerError::unrun`, or be
/// the one the panicking worker held; a push refused after the failure
/// hands its id back to the producer, which stops.
fn master_worker(p: &mut Plan<'_>) -> Run {
    let m = p.rng.range(1, 64);
    let (producer_fails, at) = (p.rng.one_in(2), p.rng.index(m));
    let who = if producer_fails { "producer_stops_at" } else { "fault_item" };
    p.describe(format!("items={m} {who}={at}"));
    let (ledger, fault, offered) = (Ledger::new(m), Fault::default(), AtomicUsize::new(0));
    let result = p.team.try_master_worker(
        |feed| {
            for id in 0..m {
                if producer_fails && id == at {
                    fault.fire(0, "master-worker producer");
                }
                // Relaxed: only the producer writes it; read after the run.
                offered.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = feed.push(id) {
                    ledger.record(e.into_inner(), Outcome::Returned);
                    return;
                }
            }
        },
        |ctx, id| {
            let held = ledger.hold(id);
            if !producer_fails && id == at {
                fault.fire(ctx.thread_num(), "master-worker task");
            }
            held.ran();
        },
    );
    let result = result.map_err(|e: MasterWorkerError<usize>| {
        let (region, unrun) = e.into_parts();
        for id in unrun {
            ledger.record(id, Outcome::Remained);
        }
        region
    });
    // Relaxed: the run is over.
    Run { result, expect: Expect::Panicked(fault.fired_by()), tally: ledger.tally(offered.load(Ordering::Relaxed)) }
}

/// `ctx.barrier()`, recording the line of the call (the line the
/// divergence error must name).
#[track_caller]
fn barrier_noting(ctx: &Ctx<'_>, at: &AtomicU32, line: u32) {
    // Relaxed: read after the join.
    at.store(line, Ordering::Relaxed);
    ctx.barrier();
}

/// `ctx.for_each(..)`, recording the line of the call.
#[track_caller]
fn for_each_noting(ctx: &Ctx<'_>, at: &AtomicU32, line: u32, r: Range<usize>, s: Schedule, f: impl FnMut(usize)) {
    // Relaxed: read after the join.
    at.store(line, Ordering::Relaxed);
    ctx.for_each(r, s, f);
}

/// Thread `t` returns before its `k`-th of `e` barriers.
fn diverge_barrier(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (e, t, mode) = (p.rng.range(1, 4), p.rng.index(n), p.rng.index(3));
    let k = p.rng.index(e);
    p.describe(format!("episodes={e} leaver={t} leaves_before={k} dawdle={mode}"));
    let at = AtomicU32::new(0);
    let result = p.team.try_parallel(|ctx| {
        for ep in 0..e {
            if ctx.thread_num() == t && ep == k {
                dawdle(mode);
                return;
            }
            barrier_noting(ctx, &at, line!());
        }
    });
    // Relaxed: the region joined.
    Run { result, expect: Expect::Diverged { left: t, line: at.load(Ordering::Relaxed) }, tally: Tally::default() }
}

/// Thread `t` returns instead of joining a `for_each`.
fn diverge_loop(p: &mut Plan<'_>) -> Run {
    let n = p.team.num_threads();
    let (s, len, t) = (schedule(p.rng), p.rng.range(0, 200), p.rng.index(n));
    p.describe(format!("schedule={s} len={len} leaver={t}"));
    let (at, hits) = (AtomicU32::new(0), counters(len));
    let result = p.team.try_parallel(|ctx| {
        if ctx.thread_num() == t {
            return;
        }
        for_each_noting(ctx, &at, line!(), 0..len, s, |i| {
            // Relaxed: read after the join.
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
    });
    // Relaxed: the region joined.
    let expect = Expect::Diverged { left: t, line: at.load(Ordering::Relaxed) };
    Run { result, expect, tally: duplicates(&hits) }
}
