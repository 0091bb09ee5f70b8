//! `DisjointSlice` and the `*_mut` loops: every element is handed out
//! exactly once under every schedule and team size, to the thread the
//! schedule names; the chunk and row forms cover the slice; misuse (two
//! constructs, mismatched schedules, a read during a write, re-entry)
//! panics instead of aliasing; a panic in the body frees the slice.

mod common;

use common::{quiet_boom_panics, schedules, watchdog, Rng};
use phalanx::{DisjointSlice, Gate, RegionError, Schedule, Team};
use std::panic::{self, AssertUnwindSafe};

/// Element `i`: (times written, thread that wrote it last).
type Cell = (u32, usize);

/// The thread `Static` / `StaticChunk` must give index `i` to.
fn static_owner(schedule: Schedule, len: usize, n: usize, i: usize) -> Option<usize> {
    match schedule {
        Schedule::Static | Schedule::Runtime | Schedule::Auto => {
            // Blocks of q, the first len % n threads one more.
            let (q, r) = (len / n, len % n);
            (0..n).find(|&t| {
                let lo = t * q + t.min(r);
                (lo..lo + q + usize::from(t < r)).contains(&i)
            })
        }
        Schedule::StaticChunk(k) => Some((i / k) % n),
        _ => None,
    }
}

fn check(cells: &[Cell], schedule: Schedule, n: usize, what: &str) {
    for (i, &(count, thread)) in cells.iter().enumerate() {
        assert_eq!(count, 1, "{what}: element {i} written {count} times");
        assert!(thread < n, "{what}: element {i} written by thread {thread}");
        if let Some(t) = static_owner(schedule, cells.len(), n, i) {
            assert_eq!(thread, t, "{what}: element {i} must go to thread {t}");
        }
    }
}

#[test]
fn each_element_once_to_the_scheduled_thread() {
    let _w = watchdog(120, "each_element_once_to_the_scheduled_thread");
    let mut rng = Rng::new(11);
    // Miri runs a slice of the table: it is slow, and aliasing is what it checks.
    let (max_n, lens) =
        if cfg!(miri) { (2, vec![0, 7]) } else { (4, vec![0, 1, 2, 7, 64, 1000 + rng.below(100) as usize]) };
    for n in 1..=max_n {
        let team = Team::builder().num_threads(n).build().expect("team");
        for &len in &lens {
            for schedule in schedules(&mut rng) {
                let what = format!("{n} threads, len {len}, {schedule}");
                let mut cells = vec![(0u32, usize::MAX); len];
                let s = DisjointSlice::new(&mut cells);
                team.parallel(|ctx| {
                    // Three constructs in a row on the same slice.
                    for _ in 0..3 {
                        ctx.for_each_mut(&s, schedule, |i, c: &mut Cell| {
                            assert!(i < len, "{what}: index {i}");
                            *c = (c.0 + 1, ctx.thread_num());
                        });
                    }
                });
                let cells = s.into_mut_slice();
                for c in cells.iter_mut() {
                    c.0 -= 2;
                }
                check(cells, schedule, n, &what);

                team.parallel_for_mut(cells, schedule, |i, c| *c = (c.0 + 1, i));
                assert!(
                    cells.iter().enumerate().all(|(i, c)| *c == (2, i)),
                    "{what}: parallel_for_mut writes each element once"
                );
                // The thread that ran each index, seen without a ctx.
                team.parallel_for_mut(cells, schedule, |_, c| *c = (0, phalanx::thread_num()));
                for c in cells.iter_mut() {
                    c.0 = 1;
                }
                check(cells, schedule, n, &format!("{what}, parallel_for_mut"));
            }
        }
    }
}

#[test]
fn chunks_and_rows_cover_the_slice_once() {
    let _w = watchdog(120, "chunks_and_rows_cover_the_slice_once");
    let mut rng = Rng::new(12);
    for n in 1..=3 {
        let team = Team::builder().num_threads(n).build().expect("team");
        for schedule in schedules(&mut rng) {
            let what = format!("{n} threads, {schedule}");
            let (rows, row_len) = (37, 5);
            let mut cells = vec![(0u32, usize::MAX); rows * row_len];
            let s = DisjointSlice::new(&mut cells);
            team.parallel(|ctx| {
                ctx.for_chunks_mut(&s, schedule, |first, chunk: &mut [Cell]| {
                    assert!(!chunk.is_empty(), "{what}: empty chunk at {first}");
                    if let Schedule::Dynamic(k) = schedule {
                        assert!(chunk.len() <= k, "{what}: chunk of {} > {k}", chunk.len());
                    }
                    for c in chunk {
                        *c = (c.0 + 1, ctx.thread_num());
                    }
                });
                ctx.for_rows_mut(&s, row_len, schedule, |i, row: &mut [Cell]| {
                    assert_eq!(row.len(), row_len, "{what}: row {i}");
                    for c in row {
                        // Row i's owner under the schedule, over rows.
                        *c = (c.0 + 1, i);
                    }
                });
            });
            let cells = s.into_mut_slice();
            for (k, c) in cells.iter().enumerate() {
                assert_eq!(*c, (2, k / row_len), "{what}: element {k} (chunk pass + row pass)");
            }
        }
    }
}

#[test]
fn rows_record_the_scheduled_thread() {
    let _w = watchdog(60, "rows_record_the_scheduled_thread");
    let team = Team::builder().num_threads(3).build().expect("team");
    for schedule in [Schedule::Static, Schedule::StaticChunk(2)] {
        let (rows, row_len) = (20, 4);
        let mut owner = vec![usize::MAX; rows * row_len];
        let s = DisjointSlice::new(&mut owner);
        team.parallel(|ctx| ctx.for_rows_mut(&s, row_len, schedule, |_, row| row.fill(ctx.thread_num())));
        for (k, &t) in owner.iter().enumerate() {
            let want = static_owner(schedule, rows, 3, k / row_len).expect("static");
            assert_eq!(t, want, "{schedule}: row {} must go to thread {want}", k / row_len);
        }
    }
}

fn panic_message(r: Result<(), RegionError>) -> String {
    match r {
        Err(RegionError::Panicked { message, .. }) => message,
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn bad_row_len_names_the_setting() {
    let _w = watchdog(30, "bad_row_len_names_the_setting");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let mut v = vec![0u8; 10];
    let s = DisjointSlice::new(&mut v);
    for bad in [0, 3] {
        let msg = panic_message(team.try_parallel(|ctx| ctx.for_rows_mut(&s, bad, Schedule::Static, |_, _| {})));
        assert!(msg.contains(&format!("row_len = {bad}")) && msg.contains("10"), "{msg}");
    }
    let msg = panic_message(team.try_parallel(|ctx| ctx.for_each_mut(&s, Schedule::Dynamic(0), |_, _| {})));
    assert!(msg.contains("chunk = 0"), "{msg}");
}

/// Thread 0 holds the slice inside a loop (its body waits on a gate); thread
/// 1 enters the same construct with another schedule, then (as a separate
/// misuse) reads the slice: both are refused while thread 0 is inside, and
/// thread 0 still gets every element.
#[test]
fn mismatched_schedule_and_read_during_write_panic() {
    let _w = watchdog(30, "mismatched_schedule_and_read_during_write_panic");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let mut v = vec![0u32; 4];
    let s = DisjointSlice::new(&mut v);
    let inside = Gate::new();
    let refused = Gate::new();
    let messages = std::sync::Mutex::new(Vec::new());
    team.parallel(|ctx| {
        if ctx.thread_num() == 0 {
            ctx.for_each_mut_nowait(&s, Schedule::Static, |_, x| {
                inside.open();
                refused.wait();
                *x += 1;
            });
        } else {
            inside.wait();
            let quiet = |f: &dyn Fn()| panic::catch_unwind(AssertUnwindSafe(f)).expect_err("must be refused");
            let e1 = quiet(&|| ctx.for_each_mut_nowait(&s, Schedule::Dynamic(1), |_, x| *x += 100));
            let e2 = quiet(&|| {
                let _ = s.read(|v| v.len());
            });
            for e in [e1, e2] {
                messages.lock().unwrap().push(e.downcast_ref::<String>().cloned().unwrap_or_default());
            }
            refused.open();
        }
    });
    let m = messages.into_inner().unwrap();
    assert!(m[0].contains("already in use") && m[0].contains("dynamic,1"), "{}", m[0]);
    assert!(m[1].contains("DisjointSlice::read") && m[1].contains("writes"), "{}", m[1]);
    // Thread 0's static block is 0..2 with 2 threads; thread 1 wrote nothing.
    assert_eq!(s.into_mut_slice(), &[1, 1, 0, 0]);
}

#[test]
fn reentry_and_nested_regions_are_refused() {
    let _w = watchdog(30, "reentry_and_nested_regions_are_refused");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let mut v = vec![0u32; 8];
    let s = DisjointSlice::new(&mut v);
    // The body re-enters a loop on the same slice.
    let msg = panic_message(team.try_parallel(|ctx| {
        ctx.for_each_mut(&s, Schedule::Static, |_, _| ctx.for_each_mut_nowait(&s, Schedule::Static, |_, _| {}))
    }));
    assert!(msg.contains("already in use"), "{msg}");
    // A nested region (one thread) inside the body.
    let msg = panic_message(team.try_parallel(|ctx| {
        ctx.for_each_mut(&s, Schedule::Static, |_, _| {
            team.parallel(|inner| inner.for_each_mut(&s, Schedule::Static, |_, _| {}))
        })
    }));
    assert!(msg.contains("already in use"), "{msg}");
    // The failures released the slice: a clean loop works and sees every element.
    team.parallel(|ctx| ctx.for_each_mut(&s, Schedule::Dynamic(1), |_, x| *x += 1));
    assert_eq!(s.into_mut_slice(), &[1; 8]);
}

#[test]
fn panic_in_the_body_frees_the_slice_and_reads_see_the_writes() {
    let _w = watchdog(30, "panic_in_the_body_frees_the_slice_and_reads_see_the_writes");
    quiet_boom_panics();
    let team = Team::builder().num_threads(2).build().expect("team");
    let mut v = vec![0u64; 100];
    let s = DisjointSlice::new(&mut v);
    let r = team.try_parallel(|ctx| {
        ctx.for_each_mut(&s, Schedule::Dynamic(4), |i, _| {
            if i == 50 {
                panic!("boom at 50");
            }
        })
    });
    assert!(panic_message(r).contains("boom at 50"));
    let sums = std::sync::Mutex::new(Vec::new());
    team.parallel(|ctx| {
        ctx.for_each_mut(&s, Schedule::Guided(3), |i, x| *x = i as u64);
        // After the loop's barrier every thread reads every element.
        let sum = s.read(|v| v.iter().sum::<u64>());
        sums.lock().unwrap().push(sum);
    });
    assert_eq!(sums.into_inner().unwrap(), vec![4950, 4950]);
}
