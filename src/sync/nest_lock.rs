//! [`NestLock`] (`omp_nest_lock_t`): a [`RawLock`] its owner may take again,
//! with a depth. Protocol: "Lock" in `src/sync/README.md`.

use super::lock::{RawLock, UnlockError};
use crate::primitive::{thread_token, AtomicU32, Ordering};
use crate::wait::{WaitPolicy, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::marker::PhantomData;

/// A lock its owner thread may lock again (`omp_nest_lock_t`): each
/// [`set`](Self::set) by the owner adds a level, each
/// [`unset`](Self::unset) removes one, and other threads wait (under the
/// lock's [`WaitPolicy`]) until the level is back to 0. It protects no data
/// (a reentrant lock can only hand out `&T`; use a `Lock<T>` or atomics).
///
/// ```
/// use phalanx::sync::NestLock;
/// let l = NestLock::new();
/// l.set();
/// assert_eq!(l.test(), Some(2));            // omp_test_nest_lock: the new depth
/// {
///     let _g = l.lock();                    // a third level, dropped at the brace
/// }
/// l.unset().unwrap();
/// l.unset().unwrap();
/// assert_eq!(l.unset(), Err(phalanx::sync::UnlockError::NotLocked));
/// ```
pub struct NestLock<W: WaitStrategy = WaitPolicy> {
    raw: CachePadded<RawLock>,
    /// Levels held by the owner; touched only by the owner thread.
    depth: AtomicU32,
    strategy: W,
}

impl<W: WaitStrategy> fmt::Debug for NestLock<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NestLock").field("locked", &self.raw.is_locked()).finish_non_exhaustive()
    }
}

impl Default for NestLock {
    fn default() -> Self {
        Self::new()
    }
}

impl NestLock {
    /// An unlocked nest lock waiting under the default policy.
    pub fn new() -> Self {
        Self::with_strategy(WaitPolicy::default())
    }

    /// An unlocked nest lock waiting under `policy`.
    pub fn with_policy(policy: WaitPolicy) -> Self {
        Self::with_strategy(policy)
    }
}

impl<W: WaitStrategy> NestLock<W> {
    /// An unlocked nest lock waiting through `strategy`.
    pub fn with_strategy(strategy: W) -> Self {
        NestLock { raw: CachePadded::new(RawLock::new()), depth: AtomicU32::new(0), strategy }
    }

    /// Add a level as the owner; `None` if another thread owns it.
    fn relock(&self, me: u64) -> Option<u32> {
        if !self.raw.held_by(me) {
            return None;
        }
        // Relaxed: only the owner thread reads or writes the depth.
        let d = self.depth.load(Ordering::Relaxed) + 1;
        // Relaxed: as above.
        self.depth.store(d, Ordering::Relaxed);
        Some(d)
    }

    /// `omp_set_nest_lock`: lock, or add a level if this thread owns it.
    /// Returns the new depth.
    pub fn set(&self) -> u32 {
        let me = thread_token();
        if let Some(d) = self.relock(me) {
            return d;
        }
        self.raw.acquire(me, false, &self.strategy);
        // Relaxed: the owner's own counter (Acquire CAS in `acquire` already
        // ordered us after the last owner's final store of 0).
        self.depth.store(1, Ordering::Relaxed);
        1
    }

    /// `omp_test_nest_lock`: lock or add a level if that needs no waiting;
    /// the new depth, or `None` if another thread owns it.
    pub fn test(&self) -> Option<u32> {
        let me = thread_token();
        if let Some(d) = self.relock(me) {
            return Some(d);
        }
        if !self.raw.try_acquire(me, false) {
            return None;
        }
        // Relaxed: as in `set`.
        self.depth.store(1, Ordering::Relaxed);
        Some(1)
    }

    /// `omp_unset_nest_lock`: remove a level; the lock is free once the
    /// depth is 0. Returns the depth left. An [`UnlockError`] if this thread
    /// does not own the lock (the lock is left as it is).
    pub fn unset(&self) -> Result<u32, UnlockError> {
        let me = thread_token();
        if !self.raw.held_by(me) {
            return Err(if self.raw.is_locked() { UnlockError::NotOwner } else { UnlockError::NotLocked });
        }
        // Relaxed: the owner's own counter.
        let d = self.depth.load(Ordering::Relaxed) - 1;
        // Relaxed: as above; a later owner first stores 1 after its Acquire.
        self.depth.store(d, Ordering::Relaxed);
        if d == 0 {
            self.raw.release(&self.strategy);
        }
        Ok(d)
    }

    /// A level held until the guard drops.
    pub fn lock(&self) -> NestLockGuard<'_, W> {
        self.set();
        NestLockGuard { lock: self, _not_send: PhantomData }
    }

    /// Whether some thread holds the lock now (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }
}

/// One level of a [`NestLock`], removed when dropped. Not `Send`.
#[derive(Debug)]
pub struct NestLockGuard<'a, W: WaitStrategy = WaitPolicy> {
    lock: &'a NestLock<W>,
    _not_send: PhantomData<*const ()>,
}

impl<W: WaitStrategy> Drop for NestLockGuard<'_, W> {
    fn drop(&mut self) {
        // If the owner already unset every level by hand, this is an
        // `UnlockError` and touches nothing: never another thread's lock.
        let _ = self.lock.unset();
    }
}
