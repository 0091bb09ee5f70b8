//! Values handed between threads by `single` (copyprivate) and `reduce`:
//! back-to-back constructs that reuse the hand-over cells, non-`Copy` values,
//! and values left behind by a failed region (src/team/README.md, "Handing
//! values over").

mod common;

use common::{quiet_boom_panics, watchdog};
use phalanx::{Schedule, Team};
use std::sync::Arc;

fn team(n: usize) -> Team {
    Team::builder().num_threads(n).build().expect("team")
}

/// `reduce` right after `reduce`, with and without `nowait` constructs and
/// `single`s between: every thread gets every total, with a non-`Copy` `T`
/// whose combine order shows (a `Vec` of thread parts, concatenated).
#[test]
fn back_to_back_reduces_and_singles_keep_their_values() {
    let _w = watchdog(60, "back_to_back_reduces_and_singles_keep_their_values");
    let rounds = if cfg!(miri) { 3 } else { 300 };
    for n in [2, 3, 4] {
        let t = team(n);
        t.parallel(|ctx| {
            for r in 0..rounds {
                let len = 8 + r % 13;
                // Static: thread order of the parts is index order.
                let all = ctx.reduce(
                    0..len,
                    Schedule::Static,
                    Vec::new(),
                    |mut v, i| {
                        v.push(i + r);
                        v
                    },
                    |mut a, b| {
                        a.extend(b);
                        a
                    },
                );
                assert_eq!(all, (r..r + len).collect::<Vec<_>>(), "n {n} round {r}");
                let sum = ctx.reduce(
                    0..len,
                    Schedule::Dynamic(1),
                    String::new(),
                    |s, i| s + &format!("{},", i * r),
                    |a, b| a + &b,
                );
                let mut got: Vec<usize> =
                    sum.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
                got.sort_unstable();
                assert_eq!(got, (0..len).map(|i| i * r).collect::<Vec<_>>(), "n {n} round {r}");
                if r % 3 == 0 {
                    ctx.for_each_nowait(0..len, Schedule::Dynamic(2), |_| {});
                }
                let s = ctx.single(|| format!("single {r}"));
                assert_eq!(s, format!("single {r}"));
                let v = ctx.single(|| vec![r; 3]);
                assert_eq!(v, vec![r; 3]);
                if r % 5 == 0 {
                    ctx.barrier();
                }
            }
        });
    }
}

/// Every clone a `single` makes is dropped by the end of the region: the last
/// reader frees the stored value.
#[test]
fn single_frees_the_handed_value() {
    let _w = watchdog(30, "single_frees_the_handed_value");
    let value = Arc::new(7u32);
    for n in [2, 3, 5] {
        let t = team(n);
        t.parallel(|ctx| {
            for _ in 0..10 {
                let v = ctx.single(|| Arc::clone(&value));
                assert_eq!(*v, 7);
            }
        });
        assert_eq!(Arc::strong_count(&value), 1, "n {n}: a clone outlived the region");
    }
}

/// A value stored by a `single` whose barrier broke (another thread
/// panicked) is never read, is freed by the team's drop at the latest, and
/// does not stop the next region from handing a value of another type over
/// through the same cell.
#[test]
fn value_left_by_a_failed_region_is_freed_and_replaced() {
    let _w = watchdog(30, "value_left_by_a_failed_region_is_freed_and_replaced");
    quiet_boom_panics();
    let value = Arc::new(1u8);
    let t = team(2);
    let r = t.try_parallel(|ctx| {
        if ctx.thread_num() == 1 {
            panic!("boom before single");
        }
        // Thread 0 wins, stores a clone for thread 1, then is released.
        let _ = ctx.single(|| Arc::clone(&value));
    });
    assert!(r.is_err(), "the panic is reported");
    // Same barrier number, so the same cell: a value of another type.
    t.parallel(|ctx| {
        let s = ctx.single(|| String::from("next"));
        assert_eq!(s, "next");
        let total = ctx.reduce(0..10, Schedule::Static, 0u64, |a, i| a + i as u64, |a, b| a + b);
        assert_eq!(total, 45);
    });
    assert_eq!(Arc::strong_count(&value), 1, "the next put on the cell freed the stale clone");
    drop(t);
}

/// `parallel_reduce` combines in thread order without a barrier, and nested
/// inside a region runs on one thread.
#[test]
fn parallel_reduce_thread_order_and_nested() {
    let _w = watchdog(30, "parallel_reduce_thread_order_and_nested");
    let t = team(3);
    for len in [0, 1, 2, 7, 100] {
        let v = t.parallel_reduce(
            0..len,
            Schedule::Static,
            Vec::new(),
            |mut v, i| {
                v.push(i);
                v
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        );
        assert_eq!(v, (0..len).collect::<Vec<_>>());
    }
    let inner = team(2);
    t.parallel(|_| {
        let s = inner.parallel_reduce(0..10, Schedule::Dynamic(3), 0u64, |a, i| a + i as u64, |a, b| a + b);
        assert_eq!(s, 45);
    });
}
