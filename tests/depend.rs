//! Task dependences: random sibling DAGs keep every conflicting pair in
//! creation order (the earlier ends before the later starts) and run every
//! task exactly once; a panicking task's dependents are skipped, counted,
//! and nothing hangs.

mod common;

use common::{quiet_boom_panics, watchdog, Rng};
use phalanx::tasks::{DepKey, Depend};
use phalanx::{RegionError, Team, WaitPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};

const LIMIT_S: u64 = if cfg!(miri) { 900 } else { 60 };

#[test]
fn random_dags_keep_every_edge() {
    let _w = watchdog(LIMIT_S, "random_dags_keep_every_edge");
    let (dags, tasks, keys) = if cfg!(miri) { (4, 8, 3) } else { (1500, 24, 5) };
    let mut rng = Rng::new(0xDE9E_11D5);
    let key_slots: Vec<u8> = vec![0; keys];
    for (policy, threads) in
        [(WaitPolicy::default(), 2), (WaitPolicy::default(), 4), (WaitPolicy::Block, 3), (WaitPolicy::Spin, 2)]
    {
        let team = Team::builder().num_threads(threads).wait_policy(policy).build().unwrap();
        for dag in 0..dags / 4 {
            // Each task: up to three (key, writes) items.
            let spec: Vec<Vec<(usize, bool)>> = (0..tasks)
                .map(|_| (0..rng.below(4)).map(|_| (rng.below(keys as u64) as usize, rng.below(2) == 0)).collect())
                .collect();
            let clock = AtomicUsize::new(0);
            let start: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(usize::MAX)).collect();
            let end: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(usize::MAX)).collect();
            let runs: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            team.parallel(|ctx| {
                ctx.single(|| {
                    for (i, items) in spec.iter().enumerate() {
                        let deps: Vec<Depend> = items
                            .iter()
                            .map(|&(k, w)| {
                                let key = DepKey::of(&key_slots[k]);
                                if w {
                                    Depend::InOut(key)
                                } else {
                                    Depend::In(key)
                                }
                            })
                            .collect();
                        let (clock, start, end, runs) = (&clock, &start, &end, &runs);
                        ctx.task_depend(&deps, move |_| {
                            start[i].store(clock.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
                            runs[i].fetch_add(1, Ordering::SeqCst);
                            std::hint::spin_loop();
                            end[i].store(clock.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
                        });
                    }
                });
            });
            for i in 0..tasks {
                assert_eq!(runs[i].load(Ordering::SeqCst), 1, "dag {dag}: task {i} ran {:?} times", runs[i]);
                for j in i + 1..tasks {
                    let conflict = spec[i].iter().any(|&(k, wi)| spec[j].iter().any(|&(l, wj)| k == l && (wi || wj)));
                    if conflict {
                        let (ei, sj) = (end[i].load(Ordering::SeqCst), start[j].load(Ordering::SeqCst));
                        assert!(ei < sj, "{threads} threads, {policy}, dag {dag}: task {j} {:?} started (t={sj}) before task {i} {:?} ended (t={ei})", spec[j], spec[i]);
                    }
                }
            }
        }
    }
}

#[test]
fn out_after_ins_and_explicit_keys() {
    let _w = watchdog(LIMIT_S, "out_after_ins_and_explicit_keys");
    let team = Team::builder().num_threads(2).build().unwrap();
    let log = std::sync::Mutex::new(Vec::new());
    team.parallel(|ctx| {
        ctx.master(|| {
            let log = &log;
            let k = DepKey::Id(7);
            ctx.task_depend(&[Depend::Out(k)], move |_| log.lock().unwrap().push("w1"));
            for name in ["r1", "r2", "r3"] {
                ctx.task_depend(&[Depend::In(k)], move |_| log.lock().unwrap().push(name));
            }
            // A key named as `in` and `out` in one task is a writer.
            ctx.task_depend(&[Depend::In(k), Depend::Out(k)], move |_| log.lock().unwrap().push("w2"));
            ctx.task_depend(&[Depend::MutexInOutSet(k)], move |_| log.lock().unwrap().push("m"));
        });
    });
    let log = log.into_inner().unwrap();
    assert_eq!(log.len(), 6);
    assert_eq!(log[0], "w1");
    let mut readers = log[1..4].to_vec();
    readers.sort_unstable();
    assert_eq!(readers, ["r1", "r2", "r3"]);
    assert_eq!(&log[4..], ["w2", "m"]);
}

/// a (panics) → b → c, with d independent: b and c do not run, are counted,
/// the region reports a's panic, d runs, nothing hangs; the team works after.
#[test]
fn dependents_of_a_panicked_task_are_skipped() {
    let _w = watchdog(LIMIT_S, "dependents_of_a_panicked_task_are_skipped");
    quiet_boom_panics();
    for threads in [1, 2, 4] {
        let team = Team::builder().num_threads(threads).build().unwrap();
        let (x, y) = (0u8, 0u8);
        let ran: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        let r = team.try_parallel(|ctx| {
            ctx.single(|| {
                let ran = &ran;
                let (kx, ky) = (DepKey::of(&x), DepKey::of(&y));
                ctx.task_depend(&[Depend::Out(kx)], move |_| {
                    ran[0].fetch_add(1, Ordering::SeqCst);
                    panic!("boom in a");
                });
                ctx.task_depend(&[Depend::In(kx), Depend::Out(ky)], move |_| {
                    ran[1].fetch_add(1, Ordering::SeqCst);
                });
                ctx.task_depend(&[Depend::In(ky)], move |_| {
                    ran[2].fetch_add(1, Ordering::SeqCst);
                });
                ctx.task_depend(&[Depend::Out(DepKey::Id(1))], move |_| {
                    ran[3].fetch_add(1, Ordering::SeqCst);
                });
            });
        });
        match r {
            Err(RegionError::Panicked { message, .. }) => assert_eq!(message, "boom in a"),
            other => panic!("{threads} threads: expected a's panic, got {other:?}"),
        }
        let ran: Vec<usize> = ran.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        assert_eq!(ran, [1, 0, 0, 1], "{threads} threads: a ran, b and c skipped, d ran");
        assert_eq!(team.skipped_tasks(), 2, "{threads} threads");
        let ok = AtomicUsize::new(0);
        team.parallel(|ctx| {
            ctx.task_depend(&[Depend::Out(DepKey::Id(2))], |_| {
                ok.fetch_add(1, Ordering::SeqCst);
            })
        });
        assert_eq!(ok.into_inner(), threads);
    }
}
