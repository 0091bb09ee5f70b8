//! How a waiter blocks in the OS once its plan says so. One file per backend,
//! chosen at compile time (as `parking_lot_core::thread_parker` does):
//!
//! * `futex.rs` — Linux `FUTEX_WAIT_PRIVATE` / `FUTEX_WAKE_PRIVATE` on the
//!   primitive's own 32-bit word. Used on Linux outside loom.
//! * `condvar.rs` — a `Mutex` + `Condvar` pair per cell. Used elsewhere and
//!   under loom, which cannot see futexes.
//!
//! Both expose the same `Parker`: `park(word, expected, timeout)` returns when
//! the word may have changed, the timeout passed, or spuriously; `unpark_all`
//! wakes every parked waiter. The caller (`cell.rs`) owns the sleeper count that
//! makes skipping `unpark_all` safe.

#[cfg(all(target_os = "linux", not(loom)))]
#[path = "futex.rs"]
mod imp;

#[cfg(any(loom, not(target_os = "linux")))]
#[path = "condvar.rs"]
mod imp;

pub(crate) use imp::Parker;
