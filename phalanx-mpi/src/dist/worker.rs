//! A worker rank (rank ≥ 1): ask rank 0 for tasks while holding at most
//! half the in-flight bound, run them on the local team, send the results
//! back with the next request, leave after the terminal reply.

use super::local::Local;
use super::protocol::{self, Outcome, Reply, ReportKind, TAG_REPLY, TAG_REPORT};
use super::sends::Sends;
use super::{Backoff, DistConfig, IdleWait, Place, TaskId};
use crate::cluster::Comm;
use crate::wire::Wire;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::traits::*;
use phalanx::sync::PushError;

pub(super) fn run<T, R, W>(comm: Comm<'_>, cfg: &DistConfig, local: &Local<T, R>, worker: &W, threads: usize)
where
    T: Wire,
    R: Wire,
    W: Fn(Place, T) -> R,
{
    let place = Place { rank: comm.rank(), thread: 0 };
    let bound = cfg.bound(threads);
    let root = comm.world().process_at_rank(0);
    let mut sends = Sends::default();
    let mut backoff = Backoff::new(cfg);
    let mut buf = Vec::new();
    // Tasks received and not yet taken back from the local team.
    let mut held = 0usize;
    // Outcomes and handed-back tasks taken from the team, not yet sent.
    let mut done: Vec<(TaskId, Outcome<R>)> = Vec::new();
    let mut unrun: Vec<(TaskId, T)> = Vec::new();
    let mut outstanding = false;
    let mut terminal = false;
    loop {
        let mut busy = false;
        while let Some(probed) = root.immediate_matched_probe_with_tag(TAG_REPLY) {
            let (bytes, _) = probed.matched_receive_vec::<u8>();
            busy = true;
            match protocol::decode_reply::<T>(&bytes).unwrap_or_else(|e| panic!("reply from rank 0: {e}")) {
                Reply::Tasks(tasks) => {
                    outstanding = false;
                    for task in tasks {
                        match local.queue.push(task) {
                            Ok(()) => held += 1,
                            // This rank failed and closed its queue meanwhile.
                            Err(PushError(t)) => unrun.push(t),
                        }
                    }
                }
                Reply::Stop => {
                    outstanding = false;
                    terminal = true;
                }
                Reply::Abort => {
                    outstanding = false;
                    terminal = true;
                    local.fail();
                }
            }
        }
        let (d, u) = local.take();
        if !d.is_empty() || !u.is_empty() {
            busy = true;
            held -= d.len() + u.len();
            done.extend(d);
            unrun.extend(u);
        }
        let failed = local.has_failed();
        if terminal {
            if held == 0 {
                local.queue.close();
                protocol::encode_report(&mut buf, ReportKind::Bye, threads, 0, &done, &unrun);
                sends.send(&comm, 0, TAG_REPORT, &buf);
                sends.finish();
                return;
            }
        } else if !outstanding && !failed && held <= cfg.low_water(threads) {
            protocol::encode_report(&mut buf, ReportKind::Request, threads, bound - held, &done, &unrun);
            sends.send(&comm, 0, TAG_REPORT, &buf);
            done.clear();
            unrun.clear();
            outstanding = true;
            busy = true;
        } else if (!done.is_empty() || !unrun.is_empty()) && (held == 0 || failed) {
            // Rank 0 cannot finish (or learn of a failure) before it has
            // these; a request may be outstanding, so send them on their own.
            protocol::encode_report(&mut buf, ReportKind::Flush, threads, 0, &done, &unrun);
            sends.send(&comm, 0, TAG_REPORT, &buf);
            done.clear();
            unrun.clear();
            busy = true;
        }
        sends.progress();
        if local.run_one(place, worker) {
            busy = true;
        }
        if busy {
            backoff.reset();
            continue;
        }
        if held == 0 && cfg.idle == IdleWait::Probe {
            // Nothing local can happen: block in MPI for rank 0's reply.
            let _ = root.probe_with_tag(TAG_REPLY);
            continue;
        }
        match backoff.next() {
            None => std::hint::spin_loop(),
            Some(d) => local.wait(d),
        }
    }
}
