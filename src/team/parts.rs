//! [`Part`]: one write-once slot per team thread, owned by the thread that
//! calls a region, for the combined constructs that hand each thread's result
//! back after the join (`Team::parallel_reduce`, `Team::parallel_collect`).
//!
//! Protocol: inside the region, thread `t` writes part `t`, at most once; the
//! caller reads the parts only after `parallel` returned. The join orders
//! every member's write before that read: a member writes before its join
//! increment (a SeqCst RMW, after its closure), and the caller's join wait
//! loads the count with Acquire (`region.rs`). Nothing else touches a part,
//! so it needs no lock: the previous `Mutex` per part and the `Vec` holding
//! them cost a 2-thread `parallel_reduce` 0.11 µs of its 0.42 µs (malloc,
//! free and two lock RMWs per part, measured on the reference VM).

use crossbeam_utils::CachePadded;
use std::cell::UnsafeCell;

/// One thread's slot (see the module docs).
pub(crate) struct Part<T>(UnsafeCell<Option<T>>);

// SAFETY: a part is written by one thread (its owner, inside the region) and
// read by another (the caller, after the join, which orders the write before
// the read: module docs); never both at once. Moving the `T` between threads
// needs `T: Send`.
unsafe impl<T: Send> Sync for Part<T> {}

impl<T> Part<T> {
    fn new() -> Self {
        Part(UnsafeCell::new(None))
    }

    /// Store this thread's value.
    ///
    /// # Safety
    /// Only thread `t` of the region may write part `t`, at most once, and
    /// nobody may read it before the region has joined.
    pub(crate) unsafe fn put(&self, value: T) {
        // SAFETY: the caller guarantees that we are the only writer and that
        // no read happens before the join.
        unsafe { *self.0.get() = Some(value) }
    }

    /// The stored value, if the thread stored one.
    pub(crate) fn take(&mut self) -> Option<T> {
        self.0.get_mut().take()
    }
}

/// Teams up to this size keep their parts on the caller's stack.
const INLINE: usize = 8;
/// ... when a value is at most this large (the parts are cache-line padded:
/// eight take 1 KiB of stack at this size).
const INLINE_BYTES: usize = 64;

/// Run `f` with `n` empty parts: on the stack for small teams and values,
/// else in a `Vec`.
pub(crate) fn with_parts<T, R>(n: usize, f: impl FnOnce(&mut [CachePadded<Part<T>>]) -> R) -> R {
    if n <= INLINE && std::mem::size_of::<T>() <= INLINE_BYTES {
        on_stack(n, f)
    } else {
        let mut parts: Vec<CachePadded<Part<T>>> = (0..n).map(|_| CachePadded::new(Part::new())).collect();
        f(&mut parts)
    }
}

/// The stack case of `with_parts`, in its own frame so that the array is
/// reserved only when it is used (never for large `T`).
#[inline(never)]
fn on_stack<T, R>(n: usize, f: impl FnOnce(&mut [CachePadded<Part<T>>]) -> R) -> R {
    let mut parts: [CachePadded<Part<T>>; INLINE] = std::array::from_fn(|_| CachePadded::new(Part::new()));
    f(&mut parts[..n])
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn small_and_large_values_round_trip() {
        for n in [1, 3, INLINE, INLINE + 1] {
            let got = with_parts::<u32, _>(n, |parts| {
                for (i, p) in parts.iter().enumerate() {
                    // SAFETY: one thread, one write per part, read below.
                    unsafe { p.put(i as u32) };
                }
                parts.iter_mut().filter_map(|p| p.take()).collect::<Vec<_>>()
            });
            assert_eq!(got, (0..n as u32).collect::<Vec<_>>());
            let big = with_parts::<[u64; 32], _>(n, |parts| {
                // SAFETY: as above.
                unsafe { parts[n - 1].put([7; 32]) };
                parts.iter_mut().map(|p| p.take().map(|a| a[0])).collect::<Vec<_>>()
            });
            assert_eq!(big.len(), n);
            assert_eq!(big[n - 1], Some(7));
            assert!(big[..n - 1].iter().all(Option::is_none));
        }
    }
}
