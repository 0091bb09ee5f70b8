//! The program-wide locks of `critical` and `critical(name)`: one lock for
//! the unnamed sections and a fixed table of [`SLOTS`] named ones, found by
//! hashing the name and probing. A lookup takes no lock: each slot's name is
//! set once (`OnceLock`) and compared; only a program with more than
//! [`SLOTS`] distinct names reaches the overflow map, which has a mutex.
//! Equal names always share a lock, different names never do (so nesting
//! sections of different names cannot deadlock through a collision).

use super::lock::{RawLock, ANY_WAITER};
use crate::primitive::{thread_token, Mutex};
use crate::wait::WaitPolicy;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::OnceLock;

/// Named locks held in the lock-free table: more distinct names than this
/// in one program go to the overflow map.
pub(crate) const SLOTS: usize = 64;

struct Slot {
    name: OnceLock<Box<str>>,
    lock: RawLock,
}

/// The lock of every unnamed `critical`.
pub(crate) fn unnamed() -> &'static RawLock {
    static UNNAMED: OnceLock<RawLock> = OnceLock::new();
    UNNAMED.get_or_init(RawLock::new)
}

/// The lock of `critical(name)`.
pub(crate) fn named(name: &str) -> &'static RawLock {
    static TABLE: OnceLock<Box<[Slot]>> = OnceLock::new();
    let table =
        TABLE.get_or_init(|| (0..SLOTS).map(|_| Slot { name: OnceLock::new(), lock: RawLock::new() }).collect());
    let start = fnv1a(name) as usize % SLOTS;
    for k in 0..SLOTS {
        let slot = &table[(start + k) % SLOTS];
        // The first name to claim a free slot keeps it for the program's
        // life; a thread that lost the race sees the winner's name here.
        if **slot.name.get_or_init(|| name.into()) == *name {
            return &slot.lock;
        }
    }
    overflow(name)
}

#[cold]
fn overflow(name: &str) -> &'static RawLock {
    type Map = Mutex<HashMap<Box<str>, &'static RawLock>>;
    static MORE: OnceLock<Map> = OnceLock::new();
    let mut map = MORE.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = map.get(name) {
        return l;
    }
    // Leaked on purpose: a critical name's lock lives as long as the program.
    let l: &'static RawLock = Box::leak(Box::new(RawLock::new()));
    map.insert(name.into(), l);
    l
}

/// Releases a critical lock on drop, also when the section panics.
struct Held(&'static RawLock);

impl Drop for Held {
    fn drop(&mut self) {
        // Waiters come from any team, with any policy: wake as if one blocks.
        self.0.release(&ANY_WAITER);
    }
}

/// Run `f` holding the lock of `critical(name)` (`None`: unnamed), waiting
/// under `policy`.
///
/// # Panics
/// If this thread already holds that lock (a section nested in one of the
/// same name: a deadlock in OpenMP), naming the section and `at`.
#[track_caller]
pub(crate) fn run<R>(
    name: Option<&str>,
    policy: &WaitPolicy,
    at: &'static Location<'static>,
    f: impl FnOnce() -> R,
) -> R {
    let lock = match name {
        None => unnamed(),
        Some(n) => named(n),
    };
    let me = thread_token();
    if lock.held_by(me) {
        let what = name.map_or_else(|| "critical".to_owned(), |n| format!("critical(\"{n}\")"));
        panic!("phalanx: {what} at {at} entered by the thread that is already inside it: it would deadlock");
    }
    lock.acquire(me, true, policy);
    let _held = Held(lock);
    f()
}

/// FNV-1a: a name's home slot.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn equal_names_share_a_lock_and_different_names_never_do() {
        let names: Vec<String> = (0..SLOTS * 2).map(|i| format!("critical-test-{i}")).collect();
        let locks: Vec<*const RawLock> = names.iter().map(|n| named(n) as *const _).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(named(n) as *const _, locks[i], "{n}: same name, same lock");
            for j in 0..i {
                assert_ne!(locks[j], locks[i], "{} and {n} share a lock", names[j]);
            }
        }
        assert!(!locks.contains(&(unnamed() as *const _)));
    }
}
