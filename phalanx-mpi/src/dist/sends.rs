//! Nonblocking sends. Both sides of the work-request loop may send at the
//! same moment (rank 0 its tasks, a worker its results); with blocking
//! `MPI_Send` two messages over the eager limit would each wait for the
//! other's receive and deadlock. So every message goes out with
//! `MPI_Isend` from a buffer this type owns until MPI reports it sent.

use crate::cluster::Comm;
use mpi::request::{Request, StaticScope};
use mpi::traits::*;
use mpi::Tag;

struct InFlight {
    request: Request<'static, [u8], StaticScope>,
    /// The buffer `request` reads; freed once the request completed.
    buf: *mut [u8],
}

/// Messages handed to MPI and not yet known to be sent.
#[derive(Default)]
pub(crate) struct Sends {
    pending: Vec<InFlight>,
    /// Messages sent so far (for the run's statistics).
    pub(crate) count: u64,
}

impl Sends {
    /// Start sending `bytes` to rank `to`; the buffer is kept until sent.
    pub(crate) fn send(&mut self, comm: &Comm<'_>, to: usize, tag: Tag, bytes: &[u8]) {
        let buf: *mut [u8] = Box::into_raw(bytes.to_vec().into_boxed_slice());
        // SAFETY: `buf` comes from `Box::into_raw` and is freed only in
        // `complete`, after MPI reported the send finished; nothing writes
        // it meanwhile. So the `'static` borrow MPI holds stays valid.
        let data: &'static [u8] = unsafe { &*buf };
        let to = i32::try_from(to).expect("rank fits an MPI rank");
        let request = comm.world().process_at_rank(to).immediate_send_with_tag(StaticScope, data, tag);
        self.pending.push(InFlight { request, buf });
        self.count += 1;
    }

    /// Free the buffers of the sends that completed (`MPI_Test` each).
    pub(crate) fn progress(&mut self) {
        for InFlight { request, buf } in std::mem::take(&mut self.pending) {
            match request.test() {
                Ok(_) => complete(buf),
                Err(request) => self.pending.push(InFlight { request, buf }),
            }
        }
    }

    /// Wait until every message is sent (each receiver receives all its
    /// messages before it leaves the loop, so this returns).
    pub(crate) fn finish(&mut self) {
        for InFlight { request, buf } in self.pending.drain(..) {
            request.wait();
            complete(buf);
        }
    }
}

fn complete(buf: *mut [u8]) {
    // SAFETY: `buf` came from `Box::into_raw` in `send`, its request has
    // completed (MPI no longer reads it), and it is freed exactly once:
    // its `InFlight` entry was removed.
    drop(unsafe { Box::from_raw(buf) });
}

impl Drop for Sends {
    fn drop(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if std::thread::panicking() {
            // Unwinding (a bug or an MPI error on this thread): waiting could
            // hang and dropping a live request panics, so leak them with
            // their buffers; the process is about to report the panic.
            for f in self.pending.drain(..) {
                std::mem::forget(f.request);
            }
        } else {
            self.finish();
        }
    }
}
