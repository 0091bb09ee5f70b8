//! Task dependences (`#pragma omp task depend(in: a) depend(out: b)`):
//! ordering among sibling tasks by the data they name. The protocol is
//! "Dependences" in `README.md` beside this file.

use super::pool::{Header, TaskPtr};
use crate::primitive::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::team::Ctx;
use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// What a dependence is keyed by: the address of a value (any borrowed
/// place, as OpenMP's list items), or an explicit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DepKey {
    /// The address of a place (`DepKey::of(&x)`).
    Addr(usize),
    /// An explicit key, never equal to an address key.
    Id(u64),
}

impl DepKey {
    /// The key of the place `r` points to. Two references to the same place
    /// give the same key; the value itself is never read.
    pub fn of<T: ?Sized>(r: &T) -> DepKey {
        DepKey::Addr((r as *const T).cast::<()>() as usize)
    }
}

/// One `depend` clause item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depend {
    /// `depend(in: key)`: after the last earlier sibling with `out`/`inout`
    /// on `key`; concurrent with other `in`s.
    In(DepKey),
    /// `depend(out: key)`: after every earlier sibling naming `key`.
    Out(DepKey),
    /// `depend(inout: key)`: as `Out`.
    InOut(DepKey),
    /// `depend(mutexinoutset: key)`: members of a set must not run at the
    /// same time; here they are ordered as `inout`, which OpenMP allows (a
    /// stronger order: creation order within the set).
    MutexInOutSet(DepKey),
}

impl Depend {
    fn key(self) -> DepKey {
        match self {
            Depend::In(k) | Depend::Out(k) | Depend::InOut(k) | Depend::MutexInOutSet(k) => k,
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Depend::In(_))
    }
}

/// A dependent task's place in the graph.
pub(crate) struct DepNode {
    /// Predecessors not yet complete, plus 1 while the creator registers
    /// the task. Whoever brings it to 0 queues the task.
    waiting: AtomicUsize,
    /// Some predecessor panicked or was skipped: the body must not run.
    poisoned: AtomicBool,
    state: Mutex<DepState>,
    /// The task, parked here until `waiting` reaches 0: written once by the
    /// creator before it drops its registration unit (Release), taken once
    /// by whoever drops `waiting` to 0 (Acquire) — see `release_one`.
    task: UnsafeCell<Option<TaskPtr>>,
}

// SAFETY: `task` is accessed by the creator before its Release decrement of
// `waiting` and by the one thread whose decrement reaches 0 (Acquire) after
// it, never concurrently; everything else is atomics or under the mutex.
unsafe impl Sync for DepNode {}

struct DepState {
    /// The body completed: later siblings need not wait for it.
    done: bool,
    /// ... by panicking or being skipped (its successors are poisoned).
    failed: bool,
    /// The first successor inline (a chain needs no allocation), then more.
    first: Option<Arc<DepNode>>,
    more: Vec<Arc<DepNode>>,
}

impl DepNode {
    fn new() -> Arc<DepNode> {
        Arc::new(DepNode {
            waiting: AtomicUsize::new(1),
            poisoned: AtomicBool::new(false),
            state: Mutex::new(DepState { done: false, failed: false, first: None, more: Vec::new() }),
            task: UnsafeCell::new(None),
        })
    }

    fn lock(&self) -> crate::primitive::MutexGuard<'_, DepState> {
        // Nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop one wait; if it was the last, the parked task is ready.
    fn release_one(&self) -> Option<TaskPtr> {
        // AcqRel: Release orders our work (the predecessor's body, or the
        // registration) before the queueing; Acquire, for whoever reaches 0,
        // sees every predecessor's.
        if self.waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: we dropped the last wait, so the creator's store is
            // visible (it came before its own, Release, decrement) and nobody
            // else takes it (see the `Sync` impl).
            Some(
                unsafe { &mut *self.task.get() }
                    .take()
                    .expect("a dependent task is parked before its last wait is dropped"),
            )
        } else {
            None
        }
    }

    /// Make `node` wait for this task unless it is done already (then poison
    /// `node` if this one failed).
    fn add_successor(&self, node: &Arc<DepNode>) {
        let mut st = self.lock();
        if !st.done {
            // Relaxed: under our lock; the creator's own release (AcqRel)
            // orders it before any decrement that could reach 0.
            node.waiting.fetch_add(1, Ordering::Relaxed);
            match st.first {
                None => st.first = Some(Arc::clone(node)),
                Some(_) => st.more.push(Arc::clone(node)),
            }
        } else if st.failed {
            // Relaxed: read by the body's wrapper after it was queued, which
            // the queueing (Release / Acquire on `waiting`) orders.
            node.poisoned.store(true, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for DepNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for debugging.
        f.debug_struct("DepNode").field("waiting", &self.waiting.load(Ordering::Relaxed)).finish()
    }
}

/// Per key: the last sibling that wrote it and the readers since.
#[derive(Default)]
struct KeyState {
    last_out: Option<Arc<DepNode>>,
    ins: Vec<Arc<DepNode>>,
}

/// A multiply-rotate hasher for `DepKey`s (an address or a number, chosen
/// by the program, not an adversary): SipHash's flooding resistance buys
/// nothing here and costs as much as the rest of a dependence lookup.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        // Fibonacci hashing of the running state mixed with `x`.
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The dependence map of one task's children (or a region body's), kept by
/// the thread running that task (`Ctx::deps`), dropped when its body ends.
#[derive(Default)]
pub(crate) struct DepMap {
    keys: HashMap<DepKey, KeyState, BuildHasherDefault<KeyHasher>>,
}

impl DepMap {
    /// Register `node` with `deps`: make it wait for its predecessors. A
    /// predecessor met twice (through two keys) gets two edges, which count
    /// and release alike; no predecessor is `node` itself (it enters the
    /// map only after every key was looked at).
    fn register(&mut self, node: &Arc<DepNode>, deps: &[Depend]) {
        let add = |p: &Arc<DepNode>| p.add_successor(node);
        // A key named both as `in` and as a writer counts as a writer.
        for d in deps {
            let writes = d.writes() || deps.iter().any(|e| e.key() == d.key() && e.writes());
            let k = self.keys.entry(d.key()).or_default();
            if let Some(w) = &k.last_out {
                add(w);
            }
            if writes {
                k.ins.iter().for_each(add);
            }
        }
        for d in deps {
            let writes = deps.iter().any(|e| e.key() == d.key() && e.writes());
            let k = self.keys.get_mut(&d.key()).expect("entered above");
            if writes {
                if !k.last_out.as_ref().is_some_and(|w| Arc::ptr_eq(w, node)) {
                    k.last_out = Some(Arc::clone(node));
                    k.ins.clear();
                }
            } else if !k.ins.iter().any(|r| Arc::ptr_eq(r, node)) {
                k.ins.push(Arc::clone(node));
            }
        }
    }
}

impl<'a> Ctx<'a> {
    /// `#pragma omp task depend(...)`: a task ordered after the earlier
    /// sibling tasks (children of the same task, or of the region body on
    /// this thread) whose dependences conflict with `deps`: an `In` waits for
    /// the last earlier writer of its key, a writer (`Out`, `InOut`,
    /// `MutexInOutSet`) for the last writer and every reader since. Tasks
    /// without `depend` are not ordered by it. A key named as both `In` and a
    /// writer in one task counts as a writer; naming a key twice is harmless.
    ///
    /// If a task panics, the tasks that depend on it (transitively) do not
    /// run: their inputs are not valid. They still complete (nothing waits
    /// for them forever), and [`Team::skipped_tasks`](crate::Team::skipped_tasks)
    /// counts them; the region reports the panic.
    ///
    /// ```
    /// use phalanx::tasks::{DepKey, Depend};
    /// use std::sync::Mutex;
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// let (a, b) = (Mutex::new(0), Mutex::new(0));
    /// team.parallel(|ctx| {
    ///     ctx.single(|| {
    ///         let (a, b) = (&a, &b);
    ///         ctx.task_depend(&[Depend::Out(DepKey::of(a))], move |_| *a.lock().unwrap() = 1);
    ///         ctx.task_depend(&[Depend::In(DepKey::of(a)), Depend::Out(DepKey::of(b))], move |_| {
    ///             *b.lock().unwrap() = *a.lock().unwrap() + 1; // runs after the first
    ///         });
    ///     });
    /// });
    /// assert_eq!(*b.lock().unwrap(), 2);
    /// ```
    pub fn task_depend<F: FnOnce(&Ctx<'a>) + Send + 'a>(&self, deps: &[Depend], f: F) {
        if self.final_depth.get() > 0 {
            // Included tasks run in creation order: every dependence holds.
            return f(self);
        }
        let node = DepNode::new();
        {
            let cur = self.current.get();
            let mut maps = self.deps.borrow_mut();
            let map = match maps.iter().position(|(t, _)| *t == cur) {
                Some(i) => &mut maps[i].1,
                None => {
                    maps.push((cur, DepMap::default()));
                    &mut maps.last_mut().expect("just pushed").1
                }
            };
            map.register(&node, deps);
        }
        let mine = Arc::clone(&node);
        let wrapper = move |ctx: &Ctx<'a>| {
            // Relaxed: set before the last `release_one`, which happened
            // before this task was queued (and so before it runs).
            let skip = mine.poisoned.load(Ordering::Relaxed);
            let done = Done { node: mine, ctx, failed: skip };
            if skip {
                // Relaxed: a count read after the region.
                ctx.shared().skipped.fetch_add(1, Ordering::Relaxed);
                drop(f);
            } else {
                f(ctx);
            }
            drop(done);
        };
        // Create and count it now (so barriers and `taskwait` wait for it),
        // but park it in its node until its predecessors completed.
        // SAFETY: `wrapper` is `'a` (it holds `f: 'a` and an `Arc`), and the
        // region waits for every counted task.
        let t = unsafe { self.new_counted_task(wrapper) };
        // SAFETY: our registration unit is still held, so nobody takes the
        // slot before our decrement below publishes it (the `Sync` impl).
        unsafe { *node.task.get() = Some(t) };
        if let Some(t) = node.release_one() {
            self.queue_task(t);
        }
    }
}

/// Runs when a dependent task's body ends (returns, unwinds, or is
/// skipped): marks it done and releases its successors, poisoning them if
/// it failed.
struct Done<'c, 'a> {
    node: Arc<DepNode>,
    ctx: &'c Ctx<'a>,
    failed: bool,
}

impl Drop for Done<'_, '_> {
    fn drop(&mut self) {
        let failed = self.failed || std::thread::panicking();
        let (first, more) = {
            let mut st = self.node.lock();
            st.done = true;
            st.failed = failed;
            (st.first.take(), std::mem::take(&mut st.more))
        };
        for s in first.into_iter().chain(more) {
            if failed {
                // Relaxed: ordered before the successor runs by `release_one`.
                s.poisoned.store(true, Ordering::Relaxed);
            }
            if let Some(t) = s.release_one() {
                self.ctx.queue_task(t);
            }
        }
    }
}

/// `Ctx::deps`: the dependence maps of the tasks running on this thread,
/// by task (null: the region body).
pub(crate) type DepMaps = Vec<(*const Header, DepMap)>;
