//! The channel competitors of the master-worker bench: persistent std
//! [`Helpers`] threads consuming from a `std::sync::mpsc` channel behind a
//! mutex ([`MpscChannel`]) or from a crossbeam `Injector` ([`InjectorQueue`]).
//! The timing thread is the producer and consumer 0.

use super::{task, Dispatcher, Tally};
use crossbeam_deque::{Injector, Steal};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// A batch's work for one consumer, given its thread index.
type Job = Arc<dyn Fn(usize) + Send + Sync>;

/// Persistent helper threads `1..threads` for the channel competitors; the
/// timing thread is consumer 0. Each blocks on its command channel between
/// batches.
struct Helpers {
    commands: Vec<mpsc::Sender<Job>>,
    /// One message per finished job: `false` if it panicked.
    done: mpsc::Receiver<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Helpers {
    fn spawn(threads: usize) -> Self {
        let (done_tx, done) = mpsc::channel();
        let mut commands = Vec::new();
        let mut handles = Vec::new();
        for me in 1..threads {
            let (tx, rx) = mpsc::channel::<Job>();
            let done_tx = done_tx.clone();
            let handle = thread::Builder::new()
                .name(format!("bench-helper-{me}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        let ok = panic::catch_unwind(AssertUnwindSafe(|| job(me))).is_ok();
                        if done_tx.send(ok).is_err() || !ok {
                            return;
                        }
                    }
                })
                .expect("spawning a bench helper thread");
            commands.push(tx);
            handles.push(handle);
        }
        Helpers { commands, done, handles }
    }

    /// Hand `job` to every helper.
    fn start(&self, job: &Job) {
        for tx in &self.commands {
            tx.send(Arc::clone(job)).expect("a bench helper thread is gone");
        }
    }

    /// Wait until every helper finished its job.
    fn finish(&self, name: &str) {
        for _ in &self.commands {
            match self.done.recv() {
                Ok(true) => {}
                Ok(false) => panic!("{name}: a helper panicked"),
                Err(_) => panic!("{name}: a helper thread is gone"),
            }
        }
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        self.commands.clear(); // the helpers' `recv` fails: they return
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Benchmark id of [`MpscChannel`].
const MPSC: &str = "std-mpsc/mutex-receiver";
/// Benchmark id of [`InjectorQueue`].
const INJECTOR: &str = "crossbeam/injector";

/// `std::sync::mpsc`, one channel per batch, the receiver behind a mutex.
pub struct MpscChannel {
    helpers: Helpers,
    tally: Arc<Tally>,
}

impl MpscChannel {
    pub fn new(threads: usize) -> Self {
        MpscChannel { helpers: Helpers::spawn(threads), tally: Arc::new(Tally::new(threads)) }
    }
}

impl Dispatcher for MpscChannel {
    fn name(&self) -> String {
        MPSC.into()
    }
    fn batch(&self, tasks: usize) {
        let (tx, rx) = mpsc::channel::<usize>();
        let rx = Mutex::new(rx);
        let tally = Arc::clone(&self.tally);
        let job: Job = Arc::new(move |me| loop {
            let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
            match next {
                Ok(i) => tally.record(me, task(i)),
                Err(_) => return, // sender dropped and channel drained
            }
        });
        self.helpers.start(&job);
        for i in 0..tasks {
            tx.send(i).expect("the consumers hold the receiver");
        }
        drop(tx);
        job(0);
        self.helpers.finish(MPSC);
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

/// A crossbeam `Injector` and a "no more tasks" flag, consumers yield-poll.
pub struct InjectorQueue {
    helpers: Helpers,
    tally: Arc<Tally>,
    queue: Arc<Injector<usize>>,
    closed: Arc<AtomicBool>,
    job: Job,
}

impl InjectorQueue {
    pub fn new(threads: usize) -> Self {
        let tally = Arc::new(Tally::new(threads));
        let queue = Arc::new(Injector::new());
        let closed = Arc::new(AtomicBool::new(false));
        let (t, q, c) = (Arc::clone(&tally), Arc::clone(&queue), Arc::clone(&closed));
        let job: Job = Arc::new(move |me| loop {
            // Acquire: pairs with the Release store after the last push; when
            // it reads true every push is visible to the steal below, so
            // `Empty` then means drained.
            let closed = c.load(Ordering::Acquire);
            match q.steal() {
                Steal::Success(i) => t.record(me, task(i)),
                Steal::Empty if closed => return,
                Steal::Empty => thread::yield_now(),
                Steal::Retry => std::hint::spin_loop(),
            }
        });
        InjectorQueue { helpers: Helpers::spawn(threads), tally, queue, closed, job }
    }
}

impl Dispatcher for InjectorQueue {
    fn name(&self) -> String {
        INJECTOR.into()
    }
    fn batch(&self, tasks: usize) {
        assert!(self.queue.is_empty(), "the last batch left tasks behind");
        // Relaxed: the helpers are idle; sending them the job publishes it.
        self.closed.store(false, Ordering::Relaxed);
        self.helpers.start(&self.job);
        for i in 0..tasks {
            self.queue.push(i);
        }
        // Release: see the Acquire load in the job.
        self.closed.store(true, Ordering::Release);
        (self.job)(0);
        self.helpers.finish(INJECTOR);
    }
    fn tally(&self) -> &Tally {
        &self.tally
    }
}
