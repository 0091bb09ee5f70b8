//! phalanx: OpenMP-style parallel regions, barriers and master-worker queues,
//! with an explicit wait policy behind every wait.
//!
//! A [`Team`] is a persistent set of threads. [`Team::parallel`] runs a
//! closure on every thread (the caller is thread 0) and returns when all are
//! done; inside, the closure gets a [`Ctx`] with the OpenMP constructs:
//! barriers, `master`, `single`, `critical`, worksharing loops with
//! schedules, reductions and sections. Every wait (idle workers, barriers,
//! the join) follows the team's [`WaitPolicy`]: spin, yield, block on a
//! futex, hybrid, or the predictive default. A panic in any thread releases the others
//! and is re-raised on the caller; a thread that leaves while others wait at
//! a barrier is reported ([`RegionError::Diverged`]) instead of hanging.
//!
//! ```
//! use phalanx::{Schedule, Team};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! let team = Team::builder().num_threads(2).build()?;
//! let data: Vec<u64> = (0..1000).collect();
//! let total = AtomicU64::new(0);
//! team.parallel(|ctx| {
//!     let scale = ctx.single(|| 2u64);                  // one thread computes, all get it
//!     let part = ctx.reduce(0..data.len(), Schedule::Dynamic(64), 0u64,
//!                           |acc, i| acc + data[i] * scale, |a, b| a + b);
//!     ctx.master(|| total.store(part, Ordering::Relaxed));
//! });
//! assert_eq!(total.into_inner(), 999_000);
//! # Ok::<(), phalanx::BuildError>(())
//! ```
//!
//! # OpenMP → phalanx
//!
//! | OpenMP (C / Fortran) | phalanx |
//! |---|---|
//! | `#pragma omp parallel` / `!$OMP PARALLEL` | `team.parallel(\|ctx\| { ... })`, or `phalanx::parallel(\|ctx\| ...)` on the global team |
//! | `num_threads(4)` | `Team::builder().num_threads(4).build()?` |
//! | `omp_get_thread_num()` | `ctx.thread_num()`, or [`thread_num()`] in helper code with no `ctx` |
//! | `omp_get_num_threads()` | `ctx.num_threads()` / [`num_threads()`] (outside a region: `team.num_threads()`) |
//! | `omp_in_parallel()`, `omp_get_level()`, `omp_get_active_level()` | [`in_parallel()`], [`level()`], [`active_level()`] |
//! | `omp_get_max_threads()`, `omp_get_num_procs()` | [`max_threads()`], [`num_procs()`] |
//! | `#pragma omp barrier` / `!$OMP BARRIER` | `ctx.barrier()` |
//! | `#pragma omp master` | `ctx.master(\|\| ...)` (no barrier; returns `Some` on thread 0) |
//! | `#pragma omp single` | `ctx.single(\|\| ...)` (ends with a barrier) |
//! | `single copyprivate(x)` | `let x = ctx.single(\|\| compute());` — every thread gets a clone |
//! | `single copyprivate(p)` where `p` points into shared data | `let p = ctx.single_ref(\|\| &rows[k]);` (for values that borrow, not `'static`; every thread gets a clone) |
//! | `#pragma omp single nowait` | `ctx.single_nowait(\|\| ...)` → `Option<R>` |
//! | `#pragma omp critical` | `ctx.critical(\|\| ...)` (one program-wide lock, as in OpenMP) |
//! | `#pragma omp critical(name)` | `ctx.critical_named("name", \|\| ...)` (no global lock per call) |
//! | `omp_lock_t` + `omp_init_lock` | `let l = sync::Lock::new(());` (or `Lock::new(data)` to hold what it guards; `Lock::with_policy`) |
//! | `omp_set_lock` / `omp_unset_lock` / `omp_test_lock` | `l.set()` / `l.unset()?` / `l.test()`; or `let g = l.lock();` (a guard, unlocks on drop) |
//! | `omp_nest_lock_t`, `omp_init_nest_lock`, `omp_set_nest_lock`, `omp_unset_nest_lock`, `omp_test_nest_lock` | `sync::NestLock`: `set()` → depth, `unset()?` → depth left, `test()` → `Option<depth>` |
//! | `#pragma omp sections` / `section` | `ctx.sections(&[&\|\| a(), &\|\| b()])` |
//! | `#pragma omp for schedule(static)` | `ctx.for_each(0..n, Schedule::Static, \|i\| ...)` |
//! | `schedule(static, 4)` | `Schedule::StaticChunk(4)` |
//! | `schedule(dynamic, 4)` | `Schedule::Dynamic(4)` |
//! | `schedule(guided, 4)` | `Schedule::Guided(4)` |
//! | `schedule(runtime)` | `Schedule::Runtime` (from `OMP_SCHEDULE` or `TeamBuilder::schedule`) |
//! | `schedule(auto)` | `Schedule::Auto` (= `Static`) |
//! | `#pragma omp for ordered` + `#pragma omp ordered` | `ctx.for_each_ordered(0..n, schedule, \|i, ord\| { work(i); ord.ordered(\|\| emit(i)) })` (any schedule; ends with a barrier; see the example below the table) |
//! | `#pragma omp for collapse(2)` / `collapse(3)` | `ctx.for_each_2d((0..n, 0..m), schedule, \|i, j\| ...)` / `ctx.for_each_3d((a, b, c), schedule, \|i, j, k\| ...)` (row-major numbering split by the schedule) |
//! | `for (i = hi; i >= lo; i -= s)`, `i <= hi`, signed indices | `ctx.for_each_in(Strided::inclusive(hi, lo, -s)?, schedule, \|i\| ...)` ([`worksharing::Strided`]: `new` excludes the end), `ctx.for_each_in(-5i64..=5, ...)`; any [`worksharing::LoopSpace`], `_nowait` forms too |
//! | `#pragma omp for nowait` | `ctx.for_each_nowait(0..n, schedule, \|i\| ...)` |
//! | `omp for` writing `y[i] = f(x, i)` | `let out = DisjointSlice::new(&mut y);` outside, then `ctx.for_each_mut(&out, schedule, \|i, yi\| *yi = f(&x, i))` (each element to one thread, no `unsafe`) |
//! | the same, a chunk or a row at a time | `ctx.for_chunks_mut(&out, schedule, \|first, chunk\| ...)`, `ctx.for_rows_mut(&out, row_len, schedule, \|i, row\| ...)` |
//! | `#pragma omp parallel for` writing `y[i]` | `team.parallel_for_mut(&mut y, schedule, \|i, yi\| ...)` |
//! | `for reduction(+:sum)` | `let sum = ctx.reduce(0..n, schedule, 0.0, \|acc, i\| acc + f(i), \|a, b\| a + b);` |
//! | `reduction(+:a,b) reduction(max:c)` (`min`, `*` too) | `let (a, b, c) = ctx.reduce_by(0..n, schedule, (Sum, Sum, Max), \|(a, b, c), i\| ...);` (identities from [`worksharing::Reducer`]; `team.parallel_reduce_by`) |
//! | `declare reduction(op : T : ...)` | `impl Reducer<T> for MyOp` ([`worksharing::Reducer`]), then `reduce_by` |
//! | `reduction(+:a[0:n])` (array sections) | `let a = ctx.reduce_elementwise(0..m, schedule, n, Sum, \|a: &mut [f64], i\| a[k(i)] += x(i));` (`team.parallel_reduce_elementwise`) |
//! | a region whose threads produce values | `let v: Vec<R> = team.parallel_collect(\|ctx\| ...);` (thread order) |
//! | `critical` around every use of one variable | `let x = Critical::new(v);` … `x.with(\|v\| ...)` ([`Critical`] = `sync::Lock<T>`) |
//! | `for lastprivate(x)` | `let x = ctx.for_each_lastprivate(0..n, schedule, \|i\| value_of(i));` (`Some` of the last iteration's value, on every thread) |
//! | `#pragma omp threadprivate(x)` | `let x = ThreadPrivate::new(team.num_threads(), \|t\| init(t));` … `x.with(ctx, \|v\| ...)` ([`team::ThreadPrivate`]; keeps values across regions) |
//! | `parallel copyin(x)` | `x.copyin(ctx);` first thing in the region (ends with a barrier) |
//! | per-thread start-up code (`omp_set_affinity`-style setup, logging names) | `Team::builder().on_thread_start(\|tid\| ...)` (once per team thread, on it, before `build` returns) |
//! | `#pragma omp parallel for` | `team.parallel_for(0..n, schedule, \|i\| ...)` |
//! | `parallel for reduction(...)` | `team.parallel_reduce(0..n, schedule, identity, fold, combine)` |
//! | `omp_get_wtime()`, `omp_get_wtick()` | `phalanx::wtime()`, [`wtick()`] |
//! | `#pragma omp atomic` on a `double` (`x += v`) | `let x = AtomicF64::new(0.0);` … `x.fetch_add(v, Ordering::Relaxed)` ([`AtomicF64`]; integers: `std::sync::atomic`) |
//! | `OMP_NUM_THREADS=4` | read by `Team::from_env()` / `Team::builder()` and the global team |
//! | `OMP_SCHEDULE="dynamic,4"` | what `Schedule::Runtime` means |
//! | `OMP_WAIT_POLICY=active\|passive` | `WaitPolicy::Spin` (`SpinYield` when oversubscribed) / `WaitPolicy::Block` |
//! | `OMP_PROC_BIND=close\|spread\|master\|true`, `OMP_PLACES=cores` / `{0,1},{2,3}` / `{0:4}` | read by the builder, or `TeamBuilder::proc_bind(ProcBind::Spread)`, `.places(Places::Cores(None))`, `.pin_threads(true)`; always inside the process's affinity mask (`taskset`, cpusets), thread 0 bound too |
//! | `OMP_STACKSIZE=4M` | `TeamBuilder::stack_size(4 << 20)` (workers' stacks) |
//! | `OMP_THREAD_LIMIT`, `omp_get_thread_limit()` | caps every team's size; the value: `Config::from_env()?.thread_limit` |
//! | `OMP_DYNAMIC`, `omp_set_dynamic()`, `omp_get_dynamic()` | accepted (`Config::dynamic`); teams always get the threads asked for, as with `false` |
//! | `OMP_DISPLAY_ENV=true\|verbose` | printed to stderr when a team is built, in libgomp's format |
//! | `omp_get_proc_bind()`, `omp_get_num_places()`, `omp_get_place_num()`, `omp_get_place_num_procs()`, `omp_get_place_proc_ids()`, `omp_get_partition_num_places()`, `omp_get_partition_place_nums()` | not provided: the binding is fixed when the team is built (`Config::proc_bind`, `Config::places`); read a thread's CPUs with `sched_getaffinity` |
//! | `KMP_BLOCKTIME`-like spin budget | `WaitPolicy::Hybrid { spin }`, `PHALANX_SPIN_US` |
//! | `#pragma omp cancel parallel` | `ctx.cancel_parallel()` (leaves the region; others leave at barriers, chunk claims, `ctx.cancellation_point()`); `team.parallel_outcome(f)` → `Ok(RegionOutcome::Cancelled { by, skipped_iterations })` ([`team::RegionOutcome`]) |
//! | `#pragma omp cancel for` / `cancellation point for` | `if ctx.cancel_for() { return }` in the body / `if ctx.loop_cancelled() { return }`; chunks not started are skipped and counted |
//! | `#pragma omp cancel taskgroup` / `cancellation point taskgroup` | `ctx.cancel_taskgroup()` / `ctx.taskgroup_cancelled()` (queued tasks of the innermost taskgroup are dropped unrun and counted) |
//! | `OMP_CANCELLATION=true`, `omp_get_cancellation()` | `Team::builder().cancellation(true)` (default from `OMP_CANCELLATION`, else off: requests are ignored), `team.cancellation()` |
//! | `#pragma omp task` | `ctx.task(\|ctx\| ...)` (may borrow what the region borrows) |
//! | `#pragma omp task if(cond)` | `ctx.task_if(cond, \|ctx\| ...)` (runs inline when `cond` is false) |
//! | `#pragma omp taskwait` | `ctx.taskwait()` (direct children) |
//! | `#pragma omp taskgroup` | `ctx.taskgroup(\|ctx\| ...)` (all descendants) |
//! | `task` + `taskwait` on locals (divide and conquer) | `ctx.task_scope(\|s\| { s.spawn(\|ctx\| a = f(ctx)); g(ctx) })` |
//! | `x = task f(..); y = task g(..); taskwait; x + y` (a value back) | `let x = ctx.spawn(move \|ctx\| f(ctx)); let y = ctx.spawn(...); x.join() + y.join()` ([`tasks::TaskHandle`]; `join` is the `taskwait`) |
//! | `task if(n > cutoff)` returning a value | `ctx.spawn_if(n > cutoff, \|ctx\| ...)`; in a scope `s.spawn_if(cond, ...)` |
//! | `#pragma omp task depend(in: a) depend(out: b)` | `ctx.task_depend(&[Depend::In(DepKey::of(&a)), Depend::Out(DepKey::of(&b))], \|ctx\| ...)` (`InOut`, `MutexInOutSet`, `DepKey::Id(n)`; among siblings; dependents of a panicked task are skipped, [`Team::skipped_tasks`]) |
//! | `#pragma omp taskloop grainsize(g)` / `num_tasks(k)` | `ctx.taskloop(0..n, Grain::Size(g), \|i\| ...)` / `Grain::Tasks(k)` (waits, like the implicit taskgroup; may borrow locals) |
//! | `taskloop nogroup` | `ctx.taskloop_nogroup(0..n, grain, \|i\| ...)` |
//! | `task final(cond)`, `omp_in_final()` | `ctx.task_final(cond, \|ctx\| ...)` (the whole subtree runs at once), `ctx.in_final()` |
//! | `task mergeable` | accepted by meaning: an included task (`task_if(false, ..)`, inside `task_final`) is always merged |
//! | `task priority(p)` | `ctx.task_priority(p, \|ctx\| ...)` (a hint; this scheduler ignores it, as OpenMP allows) |
//! | `#pragma omp taskyield` | `ctx.taskyield()` (runs one queued task if any) |
//! | tasks piling up faster than the team runs them | `Team::builder().max_queued_tasks(k)` (default 64 per thread, as libgomp: a deeper queue runs new tasks undeferred) |
//! | threads waiting at `barrier` / `single` / `for` end run queued tasks | automatic: every barrier is a task scheduling point |
//! | nested `parallel` | runs on the calling thread with a one-thread `Ctx` (OpenMP's default, `max-active-levels` 1) |
//! | nested `parallel` with `OMP_MAX_ACTIVE_LEVELS=2` / `omp_set_max_active_levels(2)` | `Team::builder().max_active_levels(2)` on the outer team (or the variable); each outer thread calls `parallel` on an inner `Team` of its own (a busy team runs the call on a temporary team of its size) |
//! | `omp_get_max_active_levels()`, `omp_set_nested()`, `omp_get_nested()`, `OMP_NESTED` | `Config::from_env()?.max_active_levels`, fixed per team when built; `omp_set_nested(1)` is `max_active_levels(usize::MAX)`; the deprecated `OMP_NESTED` is not read (use `OMP_MAX_ACTIVE_LEVELS`) |
//! | `omp_get_ancestor_thread_num(l)`, `omp_get_team_size(l)` | [`ancestor_thread_num`]`(l)`, [`team_size`]`(l)` (`None` where OpenMP returns -1) |
//! | a `std::thread` started inside a region that calls `parallel` on the same team | runs on a temporary team of the same size (never waits for the busy team, so it cannot deadlock) |
//! | a `!$OMP BARRIER` replaced by a flag and `sleep(1)` | `ctx.barrier()`, [`Barrier`], [`sync::Gate`] |
//!
//! Ordered output from a parallel loop (`ordered`):
//!
//! ```
//! use phalanx::{Schedule, Team};
//! use std::sync::Mutex;
//! let team = Team::builder().num_threads(2).build()?;
//! let out = Mutex::new(String::new());
//! team.parallel(|ctx| {
//!     ctx.for_each_ordered(0..5, Schedule::StaticChunk(1), |i, ord| {
//!         let s = format!("{i} ");                       // in parallel
//!         ord.ordered(|| out.lock().unwrap().push_str(&s)); // in order
//!     })
//! });
//! assert_eq!(out.into_inner().unwrap(), "0 1 2 3 4 ");
//! # Ok::<(), phalanx::BuildError>(())
//! ```
//!
//! ## The rest of OpenMP 5.2
//!
//! Every other directive, clause, runtime routine and environment variable,
//! with what to use instead where phalanx has no direct form. (Ordered,
//! cancellation, `threadprivate`/`copyin` and `collapse` have their own rows.)
//!
//! | OpenMP | phalanx |
//! |---|---|
//! | `private(x)`, `firstprivate(x)`, `shared(x)`, `default(none)` | Rust scoping: a `let` inside the closure is private; a captured variable is shared (`&`, so `Sync` is checked); `let x = x.clone();` inside is `firstprivate`; the borrow checker is `default(none)` |
//! | `lastprivate(x)` | return it: `ctx.single_nowait` after the loop, or compute the last index's value; `parallel_collect` for per-thread values |
//! | `linear(i:s)` | `lo + i * s` in the body (loops take `0..count`) |
//! | `parallel if(cond)` | `if cond { team.parallel(f) } else { f-on-one-thread }`; a one-thread `Team` runs it inline |
//! | `proc_bind(close)` clause | fixed per team: `TeamBuilder::proc_bind` |
//! | `masked` / `masked filter(t)` (5.1) | `ctx.master(..)` / `if ctx.thread_num() == t { .. }` |
//! | `scope` (5.1) | a block in the closure, then `ctx.barrier()`; a reduction in it: `ctx.reduce` |
//! | `workshare` (Fortran) | not supported (array syntax has no Rust counterpart): write the loop with `ctx.for_each_mut` |
//! | `loop` (5.0), `order(concurrent)` | `ctx.for_each` (any schedule; iterations must not depend on each other either way) |
//! | `for schedule(monotonic:/nonmonotonic: ...)` | accepted in `OMP_SCHEDULE`; every schedule here is monotonic per thread |
//! | `reduction(inscan, +:x)` + `scan` | not supported (needs a two-pass loop): two `for_each_mut` passes around a per-thread prefix from `parallel_collect` |
//! | `task_reduction`, `in_reduction` | `ctx.task_scope` with a `sync::Lock<T>`/atomic accumulator, or `spawn` + `join` returning partial values |
//! | `taskwait depend(...)`, `taskwait nowait` | `ctx.taskwait()` (all children) or `TaskHandle::join` on the one needed |
//! | `task detach(ev)`, `omp_fulfill_event` | not supported (tasks complete when their closure returns): hand the completion to a `sync::Latch` the consumer waits on |
//! | `task untied` | accepted by meaning: tasks never migrate mid-run here, which untied permits |
//! | `task affinity(...)` | not supported (a hint OpenMP lets runtimes ignore) |
//! | `depobj`, `depend(depobj: ..)` | not supported: keep the `Depend` list in a variable and reuse it |
//! | `omp_get_max_task_priority()`, `OMP_MAX_TASK_PRIORITY` | priorities are accepted and ignored (`task_priority`): 0 |
//! | `flush` | not needed: barriers, locks, `single` and the region end order memory; between them use `std::sync::atomic` with an `Ordering` (or `std::sync::atomic::fence`) |
//! | `atomic read/write/update/capture/compare` | `std::sync::atomic` (`load`/`store`/`fetch_*`/`swap`/`compare_exchange`); `f64`: [`AtomicF64`] |
//! | `atomic seq_cst/acq_rel/relaxed` | the `Ordering` argument |
//! | `critical hint(..)`, `omp_init_lock_with_hint`, `omp_init_nest_lock_with_hint` | `sync::Lock::with_policy` (the wait policy is the hint) |
//! | `omp_destroy_lock`, `omp_destroy_nest_lock` | drop the lock |
//! | `simd`, `declare simd`, `for simd`, `taskloop simd` | not supported (a compiler feature, not a runtime one): write the loop body over slices/chunks (`for_chunks_mut`) so LLVM vectorizes it, or use `std::simd` / `core::arch` |
//! | `tile`, `unroll` (5.1) | not supported (compiler transformations): `for_rows_mut` / `for_chunks_mut` for blocking; unroll by hand |
//! | `target`, `target data`, `target enter/exit data`, `target update`, `declare target`, `declare mapper`, `map(..)` | not supported: phalanx runs on the host's cores only; offload with a GPU crate (CUDA/wgpu/OpenCL bindings) |
//! | `teams`, `distribute`, `num_teams`, `thread_limit` clause | not supported (a league of teams is for devices): on the host, one team per NUMA node built with `places`, each running its share |
//! | `omp_get_num_devices`, `omp_get_device_num`, `omp_set_default_device`, `omp_get_default_device`, `omp_is_initial_device`, `omp_get_initial_device`, `omp_target_alloc`/`_free`/`_is_present`/`_is_accessible`/`_memcpy*`/`_associate_ptr`/`_disassociate_ptr`, `omp_get_mapped_ptr`, `OMP_DEFAULT_DEVICE`, `OMP_TARGET_OFFLOAD` | not supported (no devices): the host is the only device |
//! | `omp_get_num_teams`, `omp_get_team_num`, `omp_set_num_teams`, `omp_get_max_teams`, `omp_set_teams_thread_limit`, `omp_get_teams_thread_limit`, `OMP_NUM_TEAMS`, `OMP_TEAMS_THREAD_LIMIT` | not supported (no `teams`): one league of one team, so 1 and 0 |
//! | `omp_set_num_threads(n)` | `Team::builder().num_threads(n)` (a team's size is fixed; build another team for another size) |
//! | `omp_set_schedule`, `omp_get_schedule` | `TeamBuilder::schedule`, `team.runtime_schedule()` |
//! | `omp_get_supported_active_levels()` | unbounded (`usize::MAX`): `max_active_levels` takes any value |
//! | `omp_pause_resource`, `omp_pause_resource_all` | drop the `Team` (its threads stop and are joined); the global team lives for the process |
//! | `omp_display_env()` | `OMP_DISPLAY_ENV=true` (printed when a team is built) |
//! | `omp_display_affinity`, `omp_capture_affinity`, `omp_set_affinity_format`, `omp_get_affinity_format`, `OMP_DISPLAY_AFFINITY`, `OMP_AFFINITY_FORMAT` | not supported: read a thread's CPUs with `sched_getaffinity` inside the region |
//! | `omp_alloc`, `omp_aligned_alloc`, `omp_calloc`, `omp_aligned_calloc`, `omp_realloc`, `omp_free`, `omp_init_allocator`, `omp_destroy_allocator`, `omp_set_default_allocator`, `omp_get_default_allocator`, `allocate` directive/clause, `allocators` (5.2), `OMP_ALLOCATOR` | not supported: Rust's global allocator (or a custom `#[global_allocator]`); per-thread buffers live in the closure |
//! | `requires`, `metadirective`, `declare variant`, `dispatch`, `interop` (and `omp_get_num_interop_properties`, `omp_get_interop_*`), `assume(s)`, `nothing`, `error` directive | not supported (compile-time directives): `cfg`/`cfg_if!` for variants, `compile_error!` for `error`, `debug_assert!` for `assume` |
//! | `OMP_TOOL`, `OMP_TOOL_LIBRARIES`, `OMP_TOOL_VERBOSE_INIT`, OMPT, OMPD, `omp_control_tool`, `OMP_DEBUG` | not supported: `team.wait_stats()` and `ctx.wait_stats()` count every wait; use `perf`/`tracing` for the rest |
//! | `_OPENMP` macro | `cfg!` on a cargo feature of your own, if a crate must build without phalanx |//!
//! Errors ([`RegionError`], [`MasterWorkerError`], [`BuildError`]) are
//! `Send + Sync + 'static`, so `?` turns them into a
//! `Box<dyn Error + Send + Sync>` or an `anyhow::Error`; the panic payload
//! stays reachable ([`RegionError::into_payload`]). Every `*_timeout` takes
//! any `Duration`: one too large for an `Instant` (`Duration::MAX`) means no
//! deadline.
//!
//! `for_each` and friends take `Range<usize>`; `for_each_in` takes any
//! [`worksharing::LoopSpace`]: signed and inclusive ranges, strided loops
//! ([`worksharing::Strided`]) and tuples of them (collapsed loops). Environment
//! variables and their errors: [`config`]. Protocols: `src/team/README.md`,
//! `src/barrier/README.md`, `src/wait/README.md`, `src/tasks/README.md`.
#![warn(missing_docs)]
// A small, deliberate public surface (STYLE.md 19); library only, so tests,
// examples and benches keep their plain `pub` helpers.
#![warn(unreachable_pub, missing_debug_implementations)]
// Only std/loom facade types inside the library (see .clippy.toml).
#![cfg_attr(not(test), warn(clippy::disallowed_types))]

mod primitive;
pub mod wait;

pub use wait::{WaitPolicy, WaitStrategy};
pub mod barrier;

pub use barrier::{Barrier, BarrierKind};
pub mod sync;

pub use sync::{AtomicF64, Critical, Gate};
pub use sync::{Latch, TaskQueue};

#[cfg(doctest)]
mod compile_fail;
pub mod config;
mod places;
pub mod tasks;
pub mod team;
pub mod worksharing;

pub use config::ConfigError;
pub use team::{
    active_level, ancestor_thread_num, global_team, in_parallel, level, max_threads, num_procs, num_threads, parallel,
    team_size, thread_num, wtick, wtime, BuildError, Ctx, Feeder, MasterWorkerError, PanicPayload, RegionError, Team,
    TeamBuilder,
};
pub use worksharing::{DisjointSlice, Ordered, Schedule};
