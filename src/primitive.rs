//! The one place phalanx takes its atomics, locks and threads from.
//!
//! Under `--cfg loom` every item here is loom's model type, so the loom tests in
//! `tests/loom_*.rs` explore every interleaving of the real protocol code. Code
//! elsewhere in the crate imports from here, never from `std::sync` directly
//! (`.clippy.toml` lists the std atomics, `Mutex` and `Condvar` as
//! disallowed types; `src/lib.rs` turns that lint on for the library only).

#[cfg(not(loom))]
#[allow(unused_imports, dead_code)]
mod imp {
    pub(crate) use std::sync::atomic::{fence, Ordering};
    pub(crate) use std::sync::Arc;
    pub(crate) use std::thread;

    // Type aliases rather than `use` re-exports: clippy's `disallowed_types`
    // (configured in `.clippy.toml`) resolves a re-export to the std type and
    // would flag every use of the facade, but it does not look through an
    // alias. So the std types are named here, and only here.
    #[allow(clippy::disallowed_types)]
    pub(crate) type AtomicBool = std::sync::atomic::AtomicBool;
    #[allow(clippy::disallowed_types)]
    pub(crate) type AtomicU32 = std::sync::atomic::AtomicU32;
    #[allow(clippy::disallowed_types)]
    pub(crate) type AtomicU64 = std::sync::atomic::AtomicU64;
    #[allow(clippy::disallowed_types)]
    pub(crate) type AtomicUsize = std::sync::atomic::AtomicUsize;
    pub(crate) type AtomicPtr<T> = std::sync::atomic::AtomicPtr<T>;
    #[allow(clippy::disallowed_types)]
    pub(crate) type Condvar = std::sync::Condvar;
    #[allow(clippy::disallowed_types)]
    pub(crate) type Mutex<T> = std::sync::Mutex<T>;
    pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    /// A CPU pause hint (`PAUSE` on x86, `YIELD`/`ISB` on Arm).
    #[inline(always)]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    /// Give the rest of this time slice to another runnable thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// Sleep for `d` (the `SleepPoll` baseline only).
    #[inline]
    pub(crate) fn sleep(d: std::time::Duration) {
        std::thread::sleep(d);
    }

    std::thread_local! {
        static TOKEN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// A number naming the calling thread, unique in the process, never 0:
    /// what a lock stores as its owner.
    #[inline]
    pub(crate) fn thread_token() -> u64 {
        TOKEN.with(|t| {
            if t.get() == 0 {
                t.set(super::next_token());
            }
            t.get()
        })
    }
}

#[cfg(loom)]
#[allow(unused_imports)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread;

    /// Spin loops must yield to loom's scheduler, or the model never ends.
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }

    /// loom has no time: a sleep is a yield to the model scheduler.
    pub(crate) fn sleep(_d: std::time::Duration) {
        loom::thread::yield_now();
    }

    loom::thread_local! {
        static TOKEN: std::cell::Cell<u64> = std::cell::Cell::new(0);
    }

    /// As the std version, per loom thread (loom runs its threads on one OS
    /// thread, so a std thread-local would be shared by all of them).
    pub(crate) fn thread_token() -> u64 {
        TOKEN.with(|t| {
            if t.get() == 0 {
                t.set(super::next_token());
            }
            t.get()
        })
    }
}

/// The next thread token. Not a modelled atomic even under loom: tokens only
/// need to differ, and a loom atomic cannot live in a static.
fn next_token() -> u64 {
    #[allow(clippy::disallowed_types)]
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    // Relaxed: only uniqueness matters, which the RMW gives.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[allow(unused_imports)]
pub(crate) use imp::*;
