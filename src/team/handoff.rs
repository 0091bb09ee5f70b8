//! [`Handoff`]: a team-owned cell that carries one value from a writer to a
//! known number of readers across a barrier (`single` copyprivate, `reduce`).
//! Protocol and soundness argument: `README.md`, "Handing values over".

use crate::primitive::Mutex;
use std::any::Any;

/// What a [`Handoff`] holds: the construct's tag, how many reads are still to
/// come, and the value, boxed as `Option<T>` so the box outlives the value
/// and the next construct of the same type writes into it without allocating.
struct Entry {
    tag: u64,
    left: usize,
    value: Box<dyn Any + Send>,
}

/// One hand-over cell (see the module docs).
pub(crate) struct Handoff(Mutex<Option<Entry>>);

impl Handoff {
    /// An empty cell.
    pub(crate) fn new() -> Self {
        Handoff(Mutex::new(None))
    }

    /// Store `value` for `readers` reads under `tag`. Whatever the cell held
    /// is replaced: by the protocol (README) every read of it is over, or it
    /// belongs to a failed region whose readers will never come.
    pub(crate) fn put<T: Send + 'static>(&self, tag: u64, readers: usize, value: T) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = g.as_mut() {
            if let Some(slot) = e.value.downcast_mut::<Option<T>>() {
                // Same type as last time: reuse the box.
                let old = slot.replace(value);
                e.tag = tag;
                e.left = readers;
                drop(g);
                drop(old);
                return;
            }
        }
        let old = g.replace(Entry { tag, left: readers, value: Box::new(Some(value)) });
        drop(g);
        // A stale value of another type: its drop runs outside the lock.
        drop(old);
    }

    /// A clone of the value stored under `tag`; the last of the announced
    /// readers drops the value (keeping the box).
    ///
    /// # Panics
    /// If the cell holds no value of type `T` under `tag`: the threads of the
    /// region reached different constructs (`what` names ours).
    pub(crate) fn get<T: Clone + 'static>(&self, tag: u64, what: &str) -> T {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = match g.as_mut() {
            Some(e) if e.tag == tag && e.left > 0 => match e.value.downcast_mut::<Option<T>>() {
                Some(slot) => {
                    e.left -= 1;
                    if e.left == 0 {
                        slot.take()
                    } else {
                        slot.clone()
                    }
                }
                None => None,
            },
            _ => None,
        };
        drop(g);
        match found {
            Some(v) => v,
            None => divergent(what),
        }
    }

    /// Run `f` on the value stored under `tag` while holding the cell's lock
    /// and count one read (also when `f` panics); the value stays in place
    /// (a [`crate::Ctx::single_ref`] descriptor: its writer revokes it).
    ///
    /// # Panics
    /// As [`get`](Self::get).
    pub(crate) fn read_with<T: 'static, U>(&self, tag: u64, what: &str, f: impl FnOnce(&T) -> U) -> U {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(e) = g.as_mut().filter(|e| e.tag == tag && e.left > 0) else {
            drop(g);
            divergent(what)
        };
        e.left -= 1;
        let Some(Some(v)) = e.value.downcast_ref::<Option<T>>() else {
            drop(g);
            divergent(what)
        };
        // Still under the lock: the writer's `revoke` waits for us.
        f(v)
    }

    /// Whether every announced read of `tag` happened (or another
    /// construct's value replaced it).
    pub(crate) fn read_out(&self, tag: u64) -> bool {
        let g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        !matches!(g.as_ref(), Some(e) if e.tag == tag && e.left > 0)
    }

    /// Withdraw the value of `tag` (no read after this returns; a read in
    /// progress holds the lock, so this waits for it).
    pub(crate) fn revoke(&self, tag: u64) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = g.as_mut().filter(|e| e.tag == tag) {
            e.left = 0;
        }
    }
}

#[cold]
#[track_caller]
fn divergent(what: &str) -> ! {
    panic!(
        "phalanx: {what}: no value of this construct to hand over; \
         the threads of the region reached different constructs"
    )
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn last_reader_drops_and_box_is_reused() {
        let h = Handoff::new();
        let v = std::sync::Arc::new(5u32);
        h.put(1, 2, v.clone());
        let first = h.get::<std::sync::Arc<u32>>(1, "t");
        assert_eq!(*first, 5);
        assert_eq!(std::sync::Arc::strong_count(&v), 3, "one clone out, one stored");
        drop(first);
        let last = h.get::<std::sync::Arc<u32>>(1, "t");
        drop(last);
        assert_eq!(std::sync::Arc::strong_count(&v), 1, "the last reader took the stored value");
        h.put(2, 1, v.clone());
        assert_eq!(std::sync::Arc::strong_count(&v), 2);
        h.put(3, 1, 9u8);
        assert_eq!(std::sync::Arc::strong_count(&v), 1, "a stale value is dropped on overwrite");
        assert_eq!(h.get::<u8>(3, "t"), 9);
    }

    #[test]
    #[should_panic(expected = "different constructs")]
    fn wrong_tag_panics() {
        let h = Handoff::new();
        h.put(1, 1, 0u32);
        let _ = h.get::<u32>(2, "t");
    }

    #[test]
    #[should_panic(expected = "different constructs")]
    fn wrong_type_panics() {
        let h = Handoff::new();
        h.put(1, 1, 0u32);
        let _ = h.get::<u64>(1, "t");
    }

    #[test]
    #[should_panic(expected = "different constructs")]
    fn exhausted_panics() {
        let h = Handoff::new();
        h.put(1, 1, 0u32);
        let _ = h.get::<u32>(1, "t");
        let _ = h.get::<u32>(1, "t");
    }
}
