//! Rank 0: the producer's pushes, the pool, the ledger of tasks in flight,
//! and the answers to every rank's requests (its own team's included).

use super::local::{panic_message, Local};
use super::protocol::{self, Outcome, ReportKind, TAG_REPLY, TAG_REPORT};
use super::sends::Sends;
use super::{Backoff, DistConfig, DistError, DistFeeder, Done, IdleWait, Place, TaskFailure, TaskId};
use crate::cluster::Comm;
use crate::wire::Wire;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::traits::*;
use phalanx::sync::PushError;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Rank 0's view of one rank.
#[derive(Default)]
struct RankState {
    /// Team size (known for rank 0; for the others, from their first report).
    threads: Option<usize>,
    /// Tasks asked for by the outstanding request (0: none outstanding).
    want: usize,
    /// Tasks sent and not yet back (as a result or handed back).
    in_flight: usize,
    /// Stop or Abort was sent: nothing more goes to this rank.
    terminal: bool,
    /// Its last message arrived.
    bye: bool,
    ran: u64,
}

struct Root<'a, T, R, W> {
    comm: Comm<'a>,
    cfg: &'a DistConfig,
    local: &'a Local<T, R>,
    worker: &'a W,
    pool: VecDeque<(TaskId, T)>,
    next_id: TaskId,
    producer_done: bool,
    failed: bool,
    ranks: Vec<RankState>,
    /// The ledger: every task in flight, and the rank that holds it.
    holder: HashMap<TaskId, usize>,
    results: Vec<(TaskId, R)>,
    failures: Vec<TaskFailure>,
    producer_panic: Option<String>,
    internal: Vec<String>,
    unrun: Vec<(TaskId, T)>,
    sends: Sends,
    received: u64,
    buf: Vec<u8>,
    backoff: Backoff,
    /// Pushes since the last pump.
    unpumped: usize,
}

/// Most pushes between two pumps while the pool is deep.
const PUMP_EVERY_MAX: usize = 64;

pub(super) fn run<T, R, P, W>(
    comm: Comm<'_>,
    cfg: &DistConfig,
    local: &Local<T, R>,
    worker: &W,
    threads: usize,
    producer: P,
) -> Result<Done<R>, DistError<T, R>>
where
    T: Wire + Send,
    R: Wire + Send,
    P: FnOnce(&DistFeeder<'_, T>),
    W: Fn(Place, T) -> R,
{
    let mut ranks: Vec<RankState> = (0..comm.size()).map(|_| RankState::default()).collect();
    ranks[0].threads = Some(threads);
    let root = RefCell::new(Root {
        comm,
        cfg,
        local,
        worker,
        pool: VecDeque::new(),
        next_id: 0,
        producer_done: false,
        failed: false,
        ranks,
        holder: HashMap::new(),
        results: Vec::new(),
        failures: Vec::new(),
        producer_panic: None,
        internal: Vec::new(),
        unrun: Vec::new(),
        sends: Sends::default(),
        received: 0,
        buf: Vec::new(),
        backoff: Backoff::new(cfg),
        unpumped: 0,
    });
    let push = |task: T| root.borrow_mut().push(task);
    let feeder = DistFeeder { push: &push };
    let produced = catch_unwind(AssertUnwindSafe(|| producer(&feeder)));
    let mut root = root.into_inner();
    if let Err(payload) = produced {
        root.producer_panic = Some(panic_message(payload.as_ref()));
        root.fail();
    }
    root.producer_done = true;
    root.drain();
    root.finish()
}

impl<T: Wire, R: Wire, W: Fn(Place, T) -> R> Root<'_, T, R, W> {
    fn push(&mut self, task: T) -> Result<TaskId, PushError<T>> {
        if self.failed {
            return Err(PushError(task));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.pool.push_back((id, task));
        // Pump after every push while the pool is shallow (the ranks are
        // keeping up and may be waiting for this very task); once it is deep,
        // every rank already holds its bound's worth, so pump every
        // pool/8 pushes (at most PUMP_EVERY_MAX): a 1 µs-task producer
        // otherwise spends most of its time probing MPI.
        self.unpumped += 1;
        if self.unpumped >= (self.pool.len() / 8).clamp(1, PUMP_EVERY_MAX) {
            self.unpumped = 0;
            self.pump();
        }
        Ok(id)
    }

    /// Everything that needs no waiting: local outcomes, arrived reports,
    /// answers to requests, the local refill, finished sends.
    fn pump(&mut self) -> bool {
        let mut busy = self.absorb_local();
        busy |= self.poll_mpi();
        busy |= self.serve();
        self.sends.progress();
        busy
    }

    /// After the producer: pump, run tasks on this thread, wait.
    fn drain(&mut self) {
        loop {
            if self.pump() {
                self.backoff.reset();
            }
            if self.all_back() {
                return;
            }
            let place = Place { rank: 0, thread: 0 };
            if self.local.run_one(place, self.worker) {
                self.backoff.reset();
                continue;
            }
            self.wait();
        }
    }

    fn wait(&mut self) {
        if self.ranks[0].in_flight == 0 && self.cfg.idle == IdleWait::Probe {
            // Nothing local can happen: block in MPI for the next report.
            let _ = self.comm.world().any_process().probe_with_tag(TAG_REPORT);
            return;
        }
        match self.backoff.next() {
            None => std::hint::spin_loop(),
            Some(d) => self.local.wait(d),
        }
    }

    /// Every rank said goodbye and rank 0's own team holds nothing.
    fn all_back(&self) -> bool {
        self.producer_done
            && self.pool.is_empty()
            && self.ranks[0].in_flight == 0
            && self.ranks.iter().skip(1).all(|r| r.bye)
    }

    fn absorb_local(&mut self) -> bool {
        let (done, returned) = self.local.take();
        let busy = !done.is_empty() || !returned.is_empty();
        for (id, outcome) in done {
            self.settle(0, id, outcome);
        }
        for (id, t) in returned {
            self.hand_back(0, id, t);
        }
        busy
    }

    fn poll_mpi(&mut self) -> bool {
        let mut busy = false;
        while let Some(probed) = self.comm.world().any_process().immediate_matched_probe_with_tag(TAG_REPORT) {
            let (bytes, status) = probed.matched_receive_vec::<u8>();
            let from = usize::try_from(status.source_rank()).expect("a rank");
            self.received += 1;
            busy = true;
            let report =
                protocol::decode_report::<T, R>(&bytes).unwrap_or_else(|e| panic!("report from rank {from}: {e}"));
            let state = &mut self.ranks[from];
            state.threads = Some(report.threads);
            for (id, outcome) in report.done {
                self.settle(from, id, outcome);
            }
            for (id, t) in report.unrun {
                self.hand_back(from, id, t);
            }
            let state = &mut self.ranks[from];
            match report.kind {
                ReportKind::Request if !state.terminal => state.want = report.want,
                ReportKind::Request | ReportKind::Flush => {}
                ReportKind::Bye => {
                    state.bye = true;
                    if state.in_flight != 0 {
                        self.internal.push(format!("rank {from} left with {} task(s) in flight", state.in_flight));
                    }
                }
            }
        }
        busy
    }

    /// Take `id` off the ledger of rank `from`; false (and an internal
    /// error) if it was not in flight there.
    fn unledger(&mut self, from: usize, id: TaskId) -> bool {
        match self.holder.remove(&id) {
            Some(r) if r == from => {
                self.ranks[from].in_flight -= 1;
                true
            }
            Some(r) => {
                self.holder.insert(id, r);
                self.internal.push(format!("rank {from} reported task {id}, which rank {r} holds"));
                false
            }
            None => {
                self.internal.push(format!("rank {from} reported task {id}, which is not in flight (duplicate?)"));
                false
            }
        }
    }

    fn settle(&mut self, from: usize, id: TaskId, outcome: Outcome<R>) {
        if !self.unledger(from, id) {
            return;
        }
        self.ranks[from].ran += 1;
        match outcome {
            Outcome::Ok(r) => self.results.push((id, r)),
            Outcome::Panicked { thread, message } => {
                self.failures.push(TaskFailure { rank: from, thread, id, message });
                self.fail();
            }
        }
    }

    fn hand_back(&mut self, from: usize, id: TaskId, t: T) {
        if self.unledger(from, id) {
            self.unrun.push((id, t));
        }
    }

    fn fail(&mut self) {
        if !self.failed {
            self.failed = true;
            self.local.fail();
            self.unrun.extend(self.pool.drain(..));
        }
    }

    /// How many tasks to send a rank with `threads` threads that wants
    /// `want` and holds `in_flight`; 0 means "not now".
    ///
    /// * While the producer runs, the pool is a stream with no known end:
    ///   a rank gets what is there, up to what it asked for. A rank that
    ///   still holds tasks waits until half of its request is there, else
    ///   every push would go out as its own one-task message.
    /// * Once the producer is done the remaining work is known: guided
    ///   chunks, the rank's share (by threads) of half the pool, at least
    ///   `min_chunk`, so the last tasks spread over every rank.
    fn chunk(&self, threads: usize, want: usize, in_flight: usize) -> usize {
        let pool = self.pool.len();
        if pool == 0 || want == 0 {
            return 0;
        }
        if !self.producer_done {
            let floor = if in_flight == 0 { 1 } else { self.cfg.min_chunk.max(want / 2) };
            return if pool < floor { 0 } else { want.min(pool) };
        }
        let known = |r: &RankState| r.threads.unwrap_or(threads);
        let total: usize = self.ranks.iter().map(known).sum::<usize>().max(1);
        let share = (pool * threads).div_ceil(2 * total);
        share.max(self.cfg.min_chunk).min(want).min(pool)
    }

    fn take_chunk(&mut self, rank: usize, n: usize) -> Vec<(TaskId, T)> {
        let chunk: Vec<(TaskId, T)> = self.pool.drain(..n).collect();
        for (id, _) in &chunk {
            self.holder.insert(*id, rank);
        }
        self.ranks[rank].in_flight += n;
        chunk
    }

    /// Answer what can be answered; refill rank 0's own queue.
    fn serve(&mut self) -> bool {
        let mut busy = false;
        for r in 1..self.ranks.len() {
            let state = &self.ranks[r];
            if state.terminal {
                continue;
            }
            if self.failed || (self.producer_done && self.pool.is_empty() && state.in_flight == 0 && state.want > 0) {
                // Abort goes out unasked, so a rank stops within one task.
                protocol::encode_terminal(&mut self.buf, self.failed);
                self.sends.send(&self.comm, r, TAG_REPLY, &self.buf);
                let state = &mut self.ranks[r];
                state.terminal = true;
                state.want = 0;
                busy = true;
                continue;
            }
            let n = self.chunk(state.threads.unwrap_or(1), state.want, state.in_flight);
            if n > 0 {
                let chunk = self.take_chunk(r, n);
                protocol::encode_tasks(&mut self.buf, &chunk);
                self.sends.send(&self.comm, r, TAG_REPLY, &self.buf);
                self.ranks[r].want = 0;
                busy = true;
            }
        }
        let threads = self.ranks[0].threads.unwrap_or(1);
        let held = self.ranks[0].in_flight;
        if !self.failed && held <= self.cfg.low_water(threads) {
            let n = self.chunk(threads, self.cfg.bound(threads) - held, held);
            if n > 0 {
                for task in self.take_chunk(0, n) {
                    if let Err(PushError((id, t))) = self.local.queue.push(task) {
                        // Closed by a failure in between: hand it back.
                        self.hand_back(0, id, t);
                    }
                }
                busy = true;
            }
        }
        busy
    }

    fn finish(mut self) -> Result<Done<R>, DistError<T, R>> {
        self.sends.finish();
        for (id, r) in self.holder.drain() {
            self.internal.push(format!("task {id} was sent to rank {r} and never came back"));
        }
        self.results.sort_unstable_by_key(|&(id, _)| id);
        let messages = self.sends.count + self.received;
        if self.failed || !self.internal.is_empty() {
            self.unrun.sort_unstable_by_key(|&(id, _)| id);
            self.failures.sort_unstable_by_key(|f| f.id);
            return Err(DistError {
                failures: self.failures,
                producer_panic: self.producer_panic,
                internal: self.internal,
                unrun: self.unrun,
                done: self.results,
            });
        }
        Ok(Done { results: self.results, tasks_per_rank: self.ranks.iter().map(|r| r.ran).collect(), messages })
    }
}
