//! Portable backend (and the one loom models): a mutex + condvar per cell.
//! The waiter checks the word under the lock; the waker takes the same lock
//! before notifying, so a wake cannot slip between the check and the sleep.

use crate::primitive::{AtomicU32, Condvar, Mutex, Ordering};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Parker {
    lock: Mutex<()>,
    cond: Condvar,
}

impl Default for Parker {
    fn default() -> Self {
        Self::new()
    }
}

impl Parker {
    pub(crate) fn new() -> Self {
        Parker { lock: Mutex::new(()), cond: Condvar::new() }
    }

    /// Sleep while `*word == expected`, for at most `timeout`.
    pub(crate) fn park(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Relaxed: the lock orders this load after any change whose waker has
        // already taken and released the lock; a change whose waker has not yet
        // taken it will notify us after we sleep.
        if word.load(Ordering::Relaxed) != expected {
            return;
        }
        match timeout {
            None => drop(self.cond.wait(guard).unwrap_or_else(|e| e.into_inner())),
            Some(d) => drop(self.cond.wait_timeout(guard, d).unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// Wake every thread parked on this cell.
    pub(crate) fn unpark_all(&self, _word: &AtomicU32) {
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cond.notify_all();
    }

    /// Wake one thread parked on this cell.
    pub(crate) fn unpark_one(&self, _word: &AtomicU32) {
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cond.notify_one();
    }
}
