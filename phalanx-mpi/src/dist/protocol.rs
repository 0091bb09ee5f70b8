//! The messages of the work-request loop (see `README.md` beside this file)
//! and their byte layout. Two tags keep the directions apart, so a rank
//! probing for one kind never receives the other.

use super::TaskId;
use crate::wire::{Wire, WireError};
use mpi::Tag;

/// Worker rank → rank 0: results, tasks handed back, and a request.
pub(crate) const TAG_REPORT: Tag = 0x0070_6801;
/// Rank 0 → worker rank: tasks, or the terminal Stop / Abort.
pub(crate) const TAG_REPLY: Tag = 0x0070_6802;

/// How one task ended.
#[derive(Debug)]
pub(crate) enum Outcome<R> {
    Ok(R),
    Panicked { thread: usize, message: String },
}

impl<R: Wire> Wire for Outcome<R> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Outcome::Ok(r) => {
                out.push(0);
                r.encode(out)
            }
            Outcome::Panicked { thread, message } => {
                out.push(1);
                thread.encode(out);
                message.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(Outcome::Ok(R::decode(input)?)),
            1 => Ok(Outcome::Panicked { thread: usize::decode(input)?, message: String::decode(input)? }),
            _ => Err(WireError { what: "Outcome tag" }),
        }
    }
}

/// What a report asks of rank 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    /// "Send me up to `want` tasks" (one outstanding per rank).
    Request,
    /// Results only; no reply expected.
    Flush,
    /// The rank's last message, after its terminal reply: nothing in flight.
    Bye,
}

/// A decoded report.
pub(crate) struct Report<T, R> {
    pub(crate) kind: ReportKind,
    pub(crate) threads: usize,
    pub(crate) want: usize,
    pub(crate) done: Vec<(TaskId, Outcome<R>)>,
    pub(crate) unrun: Vec<(TaskId, T)>,
}

pub(crate) fn encode_report<T: Wire, R: Wire>(
    out: &mut Vec<u8>,
    kind: ReportKind,
    threads: usize,
    want: usize,
    done: &Vec<(TaskId, Outcome<R>)>,
    unrun: &Vec<(TaskId, T)>,
) {
    out.clear();
    out.push(match kind {
        ReportKind::Request => 0,
        ReportKind::Flush => 1,
        ReportKind::Bye => 2,
    });
    threads.encode(out);
    want.encode(out);
    done.encode(out);
    unrun.encode(out);
}

pub(crate) fn decode_report<T: Wire, R: Wire>(mut input: &[u8]) -> Result<Report<T, R>, WireError> {
    let input = &mut input;
    let kind = match u8::decode(input)? {
        0 => ReportKind::Request,
        1 => ReportKind::Flush,
        2 => ReportKind::Bye,
        _ => return Err(WireError { what: "report kind" }),
    };
    Ok(Report {
        kind,
        threads: usize::decode(input)?,
        want: usize::decode(input)?,
        done: Vec::decode(input)?,
        unrun: Vec::decode(input)?,
    })
}

/// A decoded reply.
pub(crate) enum Reply<T> {
    /// Tasks to run (never empty).
    Tasks(Vec<(TaskId, T)>),
    /// No more tasks: the producer is done and everything came back.
    Stop,
    /// The run failed: run nothing more, hand back what is queued.
    Abort,
}

pub(crate) fn encode_tasks<T: Wire>(out: &mut Vec<u8>, tasks: &Vec<(TaskId, T)>) {
    out.clear();
    out.push(0);
    tasks.encode(out);
}

pub(crate) fn encode_terminal(out: &mut Vec<u8>, abort: bool) {
    out.clear();
    out.push(if abort { 2 } else { 1 });
}

pub(crate) fn decode_reply<T: Wire>(mut input: &[u8]) -> Result<Reply<T>, WireError> {
    let input = &mut input;
    match u8::decode(input)? {
        0 => Ok(Reply::Tasks(Vec::decode(input)?)),
        1 => Ok(Reply::Stop),
        2 => Ok(Reply::Abort),
        _ => Err(WireError { what: "reply kind" }),
    }
}
