//! [`Lock`] (`omp_lock_t`, optionally holding data) and, in `nest_lock.rs`, [`NestLock`]
//! (`omp_nest_lock_t`), both on [`RawLock`]: one `WaitCell` word waited on
//! under a wait policy, plus the owner's thread token so that unlocking a
//! lock one does not hold is an [`UnlockError`], and re-locking a simple lock
//! one holds is a panic instead of a deadlock. Protocol: "Lock" in
//! `src/sync/README.md`.

use crate::primitive::{thread_token, AtomicU32, AtomicU64, Ordering};
use crate::wait::{Block, WaitCell, WaitPolicy, WaitStrategy};
use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

/// Lock word: free.
const UNLOCKED: u32 = 0;
/// Lock word: held.
const LOCKED: u32 = 1;

/// Owner word: nobody (thread tokens start at 1).
const NO_OWNER: u64 = 0;
/// Owner word, bit 0: held through a guard (`lock`), not through `set`.
const BY_GUARD: u64 = 1;

/// Owner word of thread `token`, acquired through a guard or not.
fn owner_word(token: u64, guard: bool) -> u64 {
    (token << 1) | if guard { BY_GUARD } else { 0 }
}

/// The lock itself: a word, its owner, a waiter count.
pub(crate) struct RawLock {
    /// | value | constant | meaning |
    /// |---|---|---|
    /// | 0 | [`UNLOCKED`] | free |
    /// | 1 | [`LOCKED`] | held |
    cell: WaitCell,
    /// `owner_word(token, by_guard)` of the holder, or [`NO_OWNER`]. Written
    /// only by the holder (after acquiring, before releasing); read by any
    /// thread to answer "do I hold it?", which only its own writes decide.
    owner: AtomicU64,
    /// Threads inside `acquire`'s wait, for the plan's party count.
    waiters: AtomicU32,
}

impl fmt::Debug for RawLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        f.debug_struct("RawLock").field("locked", &(self.cell.word().load(Ordering::Relaxed) == LOCKED)).finish()
    }
}

impl RawLock {
    pub(crate) fn new() -> Self {
        RawLock { cell: WaitCell::new(UNLOCKED), owner: AtomicU64::new(NO_OWNER), waiters: AtomicU32::new(0) }
    }

    /// The owner word now. Equal to `owner_word(me, _)` only if the calling
    /// thread holds the lock: it wrote that value itself, and it overwrites
    /// it with [`NO_OWNER`] before releasing, so it can never read its own
    /// stale token (read-read coherence after its own later write).
    fn owner(&self) -> u64 {
        // Relaxed: see above; no data is published through the owner word.
        self.owner.load(Ordering::Relaxed)
    }

    /// Whether the calling thread (`me`) holds the lock, through either path.
    pub(crate) fn held_by(&self, me: u64) -> bool {
        self.owner() >> 1 == me
    }

    /// Take the lock if it is free now.
    pub(crate) fn try_acquire(&self, me: u64, guard: bool) -> bool {
        // Acquire: pairs with `release`'s Release store; what the last
        // holder wrote under the lock is visible to us. Relaxed on failure:
        // nothing was acquired.
        let won = self.cell.word().compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok();
        if won {
            // Relaxed: read only as described on `owner`.
            self.owner.store(owner_word(me, guard), Ordering::Relaxed);
        }
        won
    }

    /// Take the lock, waiting under `strategy` while another thread holds it.
    pub(crate) fn acquire<W: WaitStrategy + ?Sized>(&self, me: u64, guard: bool, strategy: &W) {
        while !self.try_acquire(me, guard) {
            // Relaxed: only a hint for the plan. Parties: the waiters, this
            // one included, plus the holder.
            let parties = self.waiters.fetch_add(1, Ordering::Relaxed) as usize + 2;
            // The cell's loads are Acquire; the CAS above re-checks anyway.
            let r = self.cell.wait_until(strategy, parties, None, |w| w == UNLOCKED);
            // Relaxed: as the increment.
            self.waiters.fetch_sub(1, Ordering::Relaxed);
            debug_assert!(r.is_ok(), "no deadline, no timeout");
        }
    }

    /// Release a lock the caller holds, waking one waiter. `waker` must be
    /// a strategy that may block whenever any waiter's strategy may (the
    /// critical-section table, shared by teams with different policies,
    /// passes [`Block`]).
    pub(crate) fn release<W: WaitStrategy + ?Sized>(&self, waker: &W) {
        // Relaxed: ordered before the Release store below, which the next
        // holder's Acquire CAS reads; its own owner store comes after.
        self.owner.store(NO_OWNER, Ordering::Relaxed);
        // Release: publishes everything written under the lock to the next
        // holder (its Acquire CAS).
        self.cell.word().store(UNLOCKED, Ordering::Release);
        // One waiter suffices: a woken waiter that loses the CAS to a barging
        // thread waits again, and that thread's release wakes one in turn.
        self.cell.wake_one(waker);
    }

    /// Whether any thread holds the lock now (a snapshot).
    pub(crate) fn is_locked(&self) -> bool {
        // Relaxed: a snapshot; no data is read on its strength.
        self.cell.word().load(Ordering::Relaxed) == LOCKED
    }
}

/// `Lock::unset` / `NestLock::unset` refused: the calling thread does not
/// hold the lock (in OpenMP this is undefined behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnlockError {
    /// Nobody holds the lock.
    NotLocked,
    /// Another thread holds it.
    NotOwner,
    /// This thread holds it through a guard ([`Lock::lock`]); drop the guard
    /// instead.
    HeldByGuard,
}

impl fmt::Display for UnlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnlockError::NotLocked => "unset of a lock that is not locked",
            UnlockError::NotOwner => "unset of a lock held by another thread",
            UnlockError::HeldByGuard => "unset of a lock this thread holds through a LockGuard: drop the guard instead",
        })
    }
}

impl std::error::Error for UnlockError {}

/// A mutual-exclusion lock whose waiters wait under a [`WaitPolicy`]
/// (`omp_lock_t`), optionally holding the data it protects (`Lock<T>`, like
/// `std::sync::Mutex<T>`; `Lock<()>` when it protects nothing).
///
/// Two ways to use it:
///
/// * the guard: [`lock`](Self::lock) / [`try_lock`](Self::try_lock) return a
///   [`LockGuard`] that derefs to the data and unlocks when dropped;
/// * OpenMP's calls: [`set`](Self::set) (`omp_set_lock`),
///   [`unset`](Self::unset) (`omp_unset_lock`, an `Err` if this thread does
///   not hold it), [`test`](Self::test) (`omp_test_lock`). They reach no
///   data: use them when the lock guards something else.
///
/// Not reentrant: a thread that locks a lock it already holds panics (naming
/// the call) instead of deadlocking; [`NestLock`](super::NestLock) is the reentrant one. A
/// panic while a guard lives unlocks the lock (no poisoning).
///
/// ```
/// use phalanx::sync::Lock;
/// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
/// let hist = Lock::new(vec![0u32; 4]);
/// team.parallel_for(0..100, phalanx::Schedule::Dynamic(7), |i| hist.lock()[i % 4] += 1);
/// assert_eq!(hist.into_inner(), vec![25; 4]);
///
/// let l = Lock::new(());
/// l.set();                                   // omp_set_lock
/// assert!(!l.test(), "held");
/// l.unset().unwrap();                        // omp_unset_lock
/// assert_eq!(l.unset(), Err(phalanx::sync::UnlockError::NotLocked));
/// ```
pub struct Lock<T: ?Sized = (), W: WaitStrategy = WaitPolicy> {
    raw: CachePadded<RawLock>,
    strategy: W,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a `LockGuard`, and a guard exists
// only while its thread holds `raw` (acquired with Acquire, released with
// Release), so at most one thread touches the data at a time and each sees
// the previous holder's writes: the `std::sync::Mutex` argument, which needs
// `T: Send` (the data moves between threads), not `T: Sync`. `W: Sync`
// because every thread calls the strategy.
unsafe impl<T: ?Sized + Send, W: WaitStrategy + Sync> Sync for Lock<T, W> {}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T: ?Sized, W: WaitStrategy> fmt::Debug for Lock<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("locked", &self.raw.is_locked()).finish_non_exhaustive()
    }
}

impl<T> Lock<T> {
    /// An unlocked lock holding `value`, waiting under the default policy.
    pub fn new(value: T) -> Self {
        Self::with_strategy(value, WaitPolicy::default())
    }

    /// An unlocked lock holding `value`, waiting under `policy`.
    pub fn with_policy(value: T, policy: WaitPolicy) -> Self {
        Self::with_strategy(value, policy)
    }
}

impl<T, W: WaitStrategy> Lock<T, W> {
    /// An unlocked lock holding `value`, waiting through `strategy`.
    pub fn with_strategy(value: T, strategy: W) -> Self {
        Lock { raw: CachePadded::new(RawLock::new()), strategy, data: UnsafeCell::new(value) }
    }

    /// The data, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized, W: WaitStrategy> Lock<T, W> {
    #[track_caller]
    fn not_held(&self, me: u64, what: &str) {
        if self.raw.held_by(me) {
            panic!(
                "phalanx: Lock::{what} at {} by the thread that already holds the lock: it would deadlock \
                 (a Lock is not reentrant; use NestLock)",
                Location::caller()
            );
        }
    }

    /// Lock, waiting under the lock's policy, and return the guard.
    ///
    /// # Panics
    /// If the calling thread already holds the lock.
    #[track_caller]
    pub fn lock(&self) -> LockGuard<'_, T, W> {
        let me = thread_token();
        self.not_held(me, "lock");
        self.raw.acquire(me, true, &self.strategy);
        LockGuard { lock: self, _not_send: PhantomData }
    }

    /// Run `f` on the data while holding the lock: a `critical` section that
    /// names what it protects.
    ///
    /// ```
    /// let hits = phalanx::Critical::new(Vec::new());
    /// let team = phalanx::Team::builder().num_threads(2).build().unwrap();
    /// team.parallel(|ctx| hits.with(|h| h.push(ctx.thread_num())));
    /// assert_eq!(hits.into_inner().len(), 2);
    /// ```
    ///
    /// # Panics
    /// If the calling thread already holds the lock.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }

    /// Lock if free now (`omp_test_lock` with a guard); `None` if held, also
    /// by this thread.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T, W>> {
        // `then`, not `then_some`: a guard made and dropped on failure would
        // release another thread's lock.
        self.raw.try_acquire(thread_token(), true).then(|| LockGuard { lock: self, _not_send: PhantomData })
    }

    /// `omp_set_lock`: lock, waiting under the lock's policy, without a
    /// guard; [`unset`](Self::unset) unlocks.
    ///
    /// # Panics
    /// If the calling thread already holds the lock.
    #[track_caller]
    pub fn set(&self) {
        let me = thread_token();
        self.not_held(me, "set");
        self.raw.acquire(me, false, &self.strategy);
    }

    /// `omp_test_lock`: lock without a guard if free now; `true` if locked.
    pub fn test(&self) -> bool {
        self.raw.try_acquire(thread_token(), false)
    }

    /// `omp_unset_lock`: unlock a lock this thread took with
    /// [`set`](Self::set) or [`test`](Self::test). Anything else is an
    /// [`UnlockError`] and leaves the lock as it is.
    pub fn unset(&self) -> Result<(), UnlockError> {
        let me = thread_token();
        let owner = self.raw.owner();
        if owner == owner_word(me, false) {
            self.raw.release(&self.strategy);
            Ok(())
        } else if owner == owner_word(me, true) {
            Err(UnlockError::HeldByGuard)
        } else if owner == NO_OWNER && !self.raw.is_locked() {
            Err(UnlockError::NotLocked)
        } else {
            Err(UnlockError::NotOwner)
        }
    }

    /// Whether some thread holds the lock now (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// The data, with exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

/// Holds a [`Lock`] locked; derefs to its data; unlocks when dropped. Not
/// `Send`: the thread that locked unlocks.
///
/// ```compile_fail
/// let lock = phalanx::sync::Lock::new(0);
/// let guard = lock.lock();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: `*const ()` cannot be sent between threads
/// });
/// ```
pub struct LockGuard<'a, T: ?Sized, W: WaitStrategy = WaitPolicy> {
    lock: &'a Lock<T, W>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: `&LockGuard` only gives `&T` (Deref), so sharing the guard between
// threads is sharing `&T`, sound when `T: Sync` (as for `MutexGuard`).
unsafe impl<T: ?Sized + Sync, W: WaitStrategy + Sync> Sync for LockGuard<'_, T, W> {}

impl<T: ?Sized, W: WaitStrategy> Deref for LockGuard<'_, T, W> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard's thread holds the lock (see `Lock`'s `Sync`
        // impl), so no other thread has any reference to the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized, W: WaitStrategy> DerefMut for LockGuard<'_, T, W> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // reference through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized, W: WaitStrategy> Drop for LockGuard<'_, T, W> {
    fn drop(&mut self) {
        // The guard's existence proves the lock is held through it: `unset`
        // refuses (HeldByGuard) to release it under the guard's feet.
        self.lock.raw.release(&self.lock.strategy);
    }
}

impl<T: ?Sized + fmt::Debug, W: WaitStrategy> fmt::Debug for LockGuard<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Data that only one thread at a time touches: `#pragma omp critical`
/// around every use of a variable, with the variable inside the lock.
/// The same type as [`Lock<T>`] (its [`with`](Lock::with) is the critical
/// section); unlike `ctx.critical`, each `Critical` is its own lock, not a
/// program-wide one.
pub type Critical<T> = Lock<T>;

/// The wake strategy of locks whose waiters may use different policies.
pub(crate) const ANY_WAITER: Block = Block;
