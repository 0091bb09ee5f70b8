//! Linux futex backend: the kernel checks the word and queues the waiter in
//! one atomic step, so a wake between our last check and the sleep is never
//! lost (the syscall then returns `EAGAIN` at once).

use crate::primitive::AtomicU32;
use std::time::Duration;

/// Stateless: the futex queue lives in the kernel, keyed by the word's address.
#[derive(Debug, Default)]
pub(crate) struct Parker;

impl Parker {
    pub(crate) fn new() -> Self {
        Parker
    }

    /// Sleep while `*word == expected`, for at most `timeout`.
    pub(crate) fn park(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live, 4-byte aligned `AtomicU32` borrowed for the
        // whole call, which is what FUTEX_WAIT reads; `ts_ptr` is null or points
        // to `ts`, alive until the call returns; the last two arguments are
        // ignored by FUTEX_WAIT. The result (0, EAGAIN, EINTR, ETIMEDOUT) needs
        // no handling: the caller re-checks the word and the deadline in a loop.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }

    /// Wake every thread parked on `word`.
    pub(crate) fn unpark_all(&self, word: &AtomicU32) {
        Self::wake(word, i32::MAX);
    }

    /// Wake one thread parked on `word`.
    pub(crate) fn unpark_one(&self, word: &AtomicU32) {
        Self::wake(word, 1);
    }

    fn wake(word: &AtomicU32, count: i32) {
        // SAFETY: `word` is a live `AtomicU32`; FUTEX_WAKE only uses its
        // address as a key and never dereferences it, so even a word freed by a
        // woken waiter would be harmless (parking_lot's linux.rs makes the same
        // argument). The other arguments are ignored by FUTEX_WAKE.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                count,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }
}
