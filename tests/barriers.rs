//! Barrier integration tests: a stress matrix (kind × policy × threads),
//! poisoning (panic, leave, timeout) and bad input.
//!
//! Every test starts a watchdog that aborts the process, naming the test, if
//! the test is still running after [`WATCHDOG`]: a hung barrier fails the run
//! instead of hanging it. Nothing here asserts on timing.

use phalanx::barrier::{BarrierError, BreakReason, TREE_FAN_IN};
use phalanx::wait::cores;
use phalanx::{Barrier, BarrierKind, WaitPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How long any one test may run before the watchdog aborts the process.
/// The slowest case takes about a second in debug on 2 cores.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Aborts the process if dropped later than `limit` after its creation.
struct Watchdog {
    _done: mpsc::Sender<()>,
}

fn watchdog(limit: Duration, name: String) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        // The sender is never used: dropping it (test done) disconnects.
        if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("watchdog: test `{name}` still running after {limit:?}: a barrier wait hangs");
            std::process::abort();
        }
    });
    Watchdog { _done: tx }
}

/// How the parties of a matrix case arrive.
#[derive(Clone, Copy, Debug)]
enum Ids {
    /// `wait()`: the tree takes tickets.
    Anonymous,
    /// `wait_as(id)`: the tree uses node `id`.
    Known,
    /// `wait_as` in even episodes, `wait()` in odd ones (never mixed within
    /// one episode, as the tree requires).
    Alternate,
}

impl Ids {
    fn uses_id(self, episode: usize) -> bool {
        match self {
            Ids::Anonymous => false,
            Ids::Known => true,
            Ids::Alternate => episode % 2 == 0,
        }
    }
}

/// Episodes per matrix case, sized so the whole file stays well under a
/// minute in debug with `--test-threads=2` on 2 cores.
fn episodes(policy: WaitPolicy, n: usize) -> usize {
    // Fast policies with a core (or a yield) per waiter: about 10 µs a crossing.
    let full = if cfg!(miri) { 4 } else { 300 };
    let base = match policy {
        // Every release is seen up to `interval` (1 ms) late, per tree level.
        WaitPolicy::SleepPoll { .. } => full / 30,
        // Oversubscribed spinners burn whole time slices before the thread
        // they wait for runs (milliseconds per crossing).
        WaitPolicy::Spin if n > cores() => full / 30,
        _ => full,
    };
    // 64 threads: each crossing wakes 63 threads on 2 cores.
    let scaled = if n >= 64 { base / 10 } else { base };
    scaled.max(2)
}

/// Run `n` threads through many episodes; check that nobody passes early
/// and that each episode has exactly one leader.
fn stress(kind: BarrierKind, policy: WaitPolicy, n: usize, ids: Ids) {
    let name = format!("stress {kind} {policy} n={n} {ids:?}");
    let _dog = watchdog(WATCHDOG, name.clone());
    let rounds = episodes(policy, n);
    let b = Barrier::builder(n).kind(kind).wait_policy(policy).build().unwrap();
    let arrived = AtomicUsize::new(0);
    let leaders: Vec<AtomicUsize> = (0..rounds).map(|_| AtomicUsize::new(0)).collect();
    thread::scope(|s| {
        for id in 0..n {
            let (b, arrived, leaders, name) = (&b, &arrived, &leaders, &name);
            s.spawn(move || {
                // If this thread panics, the guard breaks the barrier so its
                // peers fail instead of hanging. At the end it breaks it with
                // `Left`, which must not disturb peers still returning from
                // the last (completed) episode.
                let _guard = b.party_as(id);
                for (ep, leaders_of_ep) in leaders.iter().enumerate() {
                    // Relaxed, here and below: the barrier alone must order
                    // every increment of episode `ep` before our load.
                    arrived.fetch_add(1, Ordering::Relaxed);
                    let r = if ids.uses_id(ep) { b.wait_as(id) } else { b.wait() };
                    let r = r.unwrap_or_else(|e| panic!("{name}: thread {id}, episode {ep}: {e}"));
                    if r.is_leader() {
                        leaders_of_ep.fetch_add(1, Ordering::Relaxed);
                    }
                    let seen = arrived.load(Ordering::Relaxed);
                    assert!(seen >= (ep + 1) * n, "{name}: thread {id} passed episode {ep} with {seen} arrivals");
                    // Nobody can arrive twice more before we arrive again.
                    assert!(seen < (ep + 2) * n, "{name}: {seen} arrivals seen after episode {ep}");
                }
            });
        }
    });
    for (ep, l) in leaders.iter().enumerate() {
        assert_eq!(l.load(Ordering::Relaxed), 1, "{name}: leaders in episode {ep}");
    }
}

/// The matrix: one test per kind × policy × thread count. `Spin` has no
/// 64-thread case: 63 pure spinners on 2 cores never yield, so each crossing
/// waits for the scheduler to preempt them one by one (seconds per episode),
/// which is the documented misuse of `Spin`, not a barrier property.
macro_rules! threads {
    ($policy:expr; $($name:ident = $n:expr, $ids:ident;)*) => {
        $(
            #[test]
            fn $name() {
                stress(KIND, $policy, $n, Ids::$ids);
            }
        )*
    };
}

macro_rules! policies {
    () => {
        mod spin {
            use super::*;
            threads!(WaitPolicy::Spin;
                t1 = 1, Anonymous; t2 = 2, Known; t3 = 3, Alternate; t4 = 4, Anonymous; t8 = 8, Known;);
        }
        mod spin_yield {
            use super::*;
            threads!(WaitPolicy::SpinYield;
                t1 = 1, Anonymous; t2 = 2, Known; t3 = 3, Alternate; t4 = 4, Anonymous; t8 = 8, Known;
                t64 = 64, Alternate;);
        }
        mod block {
            use super::*;
            threads!(WaitPolicy::Block;
                t1 = 1, Known; t2 = 2, Anonymous; t3 = 3, Alternate; t4 = 4, Known; t8 = 8, Anonymous;
                t64 = 64, Known;);
        }
        mod hybrid {
            use super::*;
            threads!(WaitPolicy::default();
                t1 = 1, Anonymous; t2 = 2, Alternate; t3 = 3, Known; t4 = 4, Alternate; t8 = 8, Anonymous;
                t64 = 64, Anonymous;);
        }
        mod adaptive {
            use super::*;
            threads!(WaitPolicy::Adaptive;
                t1 = 1, Known; t2 = 2, Anonymous; t3 = 3, Known; t4 = 4, Alternate; t8 = 8, Alternate;
                t64 = 64, Known;);
        }
        mod sleep_poll {
            use super::*;
            threads!(WaitPolicy::SleepPoll { interval: Duration::from_millis(1) };
                t1 = 1, Anonymous; t2 = 2, Known; t3 = 3, Anonymous; t4 = 4, Known; t8 = 8, Alternate;
                t64 = 64, Alternate;);
        }
    };
}

mod central {
    use super::*;
    const KIND: BarrierKind = BarrierKind::Central;
    policies!();
}

mod tree {
    use super::*;
    const KIND: BarrierKind = BarrierKind::Tree;
    policies!();

    /// A tree deeper than two levels, with a partly filled last level.
    #[test]
    fn three_levels() {
        let n = TREE_FAN_IN * TREE_FAN_IN + 3;
        stress(KIND, WaitPolicy::Block, n, Ids::Alternate);
    }
}

mod condvar {
    use super::*;
    const KIND: BarrierKind = BarrierKind::Condvar;
    policies!();
}

// ---------------------------------------------------------------------------
// Poisoning: a party panics, leaves, or times out while others wait.

#[derive(Clone, Copy, Debug)]
enum Cause {
    Panic,
    Leave,
    Timeout,
}

/// Parties `0..WAITERS` are waiting when the barrier breaks.
const WAITERS: usize = 2;
/// The party that breaks the barrier.
const BREAKER: usize = WAITERS;
/// A party that arrives after the break.
const LATE: usize = WAITERS + 1;
const PARTIES: usize = WAITERS + 2;
/// The breaker's timeout in the `Timeout` case.
const TIMEOUT: Duration = Duration::from_millis(50);
/// Time given to the waiters to get inside their wait before the break. It
/// only makes "already waiting" the likely case; every assertion below holds
/// whether a waiter is inside its wait or still arriving.
const SETTLE: Duration = Duration::from_millis(20);

fn poison(kind: BarrierKind, policy: WaitPolicy, cause: Cause) {
    let name = format!("poison {kind} {policy} {cause:?}");
    let _dog = watchdog(WATCHDOG, name.clone());
    let mut b = Barrier::builder(PARTIES).kind(kind).wait_policy(policy).build().unwrap();
    let expected = match cause {
        Cause::Panic => BreakReason::Panicked { party: Some(BREAKER) },
        Cause::Leave => BreakReason::Left { party: Some(BREAKER) },
        Cause::Timeout => BreakReason::TimedOut { after: TIMEOUT },
    };
    let broken = Err(BarrierError::Broken(expected.clone()));
    let entered = AtomicUsize::new(0);
    thread::scope(|s| {
        let waiters: Vec<_> = (0..WAITERS)
            .map(|id| {
                let (b, entered) = (&b, &entered);
                s.spawn(move || {
                    // Relaxed: a progress hint for the main thread only.
                    entered.fetch_add(1, Ordering::Relaxed);
                    b.wait_as(id)
                })
            })
            .collect();
        // Relaxed: as above.
        while entered.load(Ordering::Relaxed) < WAITERS {
            thread::yield_now();
        }
        thread::sleep(SETTLE);
        let b = &b;
        let breaker = s.spawn(move || match cause {
            Cause::Panic => {
                let _guard = b.party_as(BREAKER);
                panic!("injected panic in party {BREAKER} (expected by this test)");
            }
            Cause::Leave => {
                b.party_as(BREAKER).leave();
                None
            }
            // The guard's drop afterwards breaks with `Left`; the first
            // reason (the timeout) must be the one kept.
            Cause::Timeout => Some(b.party_as(BREAKER).wait_timeout(TIMEOUT)),
        });
        match (cause, breaker.join()) {
            (Cause::Panic, Err(_)) | (Cause::Leave, Ok(None)) => {}
            (Cause::Timeout, Ok(Some(r))) => {
                assert_eq!(r.map(|r| r.is_leader()), broken, "{name}: the timed-out party")
            }
            (_, other) => panic!("{name}: breaker ended with {:?}", other.map_err(|_| "a panic")),
        }
        for (id, w) in waiters.into_iter().enumerate() {
            let r = w.join().expect("waiter panicked").map(|r| r.is_leader());
            assert_eq!(r, broken, "{name}: waiter {id}");
        }
        assert_eq!(b.wait_as(LATE).map(|r| r.is_leader()), broken, "{name}: late arriver");
        assert_eq!(b.broken_reason(), Some(expected.clone()), "{name}");
    });
    b.reset();
    assert_eq!(b.broken_reason(), None, "{name}: after reset");
    let leaders = AtomicUsize::new(0);
    thread::scope(|s| {
        for id in 0..PARTIES {
            let (b, leaders, name) = (&b, &leaders, &name);
            s.spawn(move || {
                let r = b.wait_as(id).unwrap_or_else(|e| panic!("{name}: after reset, party {id}: {e}"));
                // Relaxed: read after the scope joins every thread.
                leaders.fetch_add(usize::from(r.is_leader()), Ordering::Relaxed);
            });
        }
    });
    assert_eq!(leaders.into_inner(), 1, "{name}: leaders in the episode after reset");
}

macro_rules! poison_policies {
    ($cause:expr) => {
        #[test]
        fn spin() {
            poison(KIND, WaitPolicy::Spin, $cause);
        }
        #[test]
        fn spin_yield() {
            poison(KIND, WaitPolicy::SpinYield, $cause);
        }
        #[test]
        fn block() {
            poison(KIND, WaitPolicy::Block, $cause);
        }
        #[test]
        fn hybrid() {
            poison(KIND, WaitPolicy::default(), $cause);
        }
        #[test]
        fn adaptive() {
            poison(KIND, WaitPolicy::Adaptive, $cause);
        }
        #[test]
        fn sleep_poll() {
            poison(KIND, WaitPolicy::SleepPoll { interval: Duration::from_millis(1) }, $cause);
        }
    };
}

macro_rules! poison_kind {
    ($($kind:ident = $val:expr;)*) => {
        $(
            mod $kind {
                use super::*;
                const KIND: BarrierKind = $val;
                mod panic {
                    use super::*;
                    poison_policies!(Cause::Panic);
                }
                mod leave {
                    use super::*;
                    poison_policies!(Cause::Leave);
                }
                mod timeout {
                    use super::*;
                    poison_policies!(Cause::Timeout);
                }
            }
        )*
    };
}

mod poison_by {
    use super::*;
    poison_kind! {
        central = BarrierKind::Central;
        tree = BarrierKind::Tree;
        condvar = BarrierKind::Condvar;
    }
}

/// A party that breaks the barrier right after passing must not fail its
/// peers of that (completed) episode, whatever their progress.
#[test]
fn episode_completed_then_broken_passes() {
    let _dog = watchdog(WATCHDOG, "episode_completed_then_broken_passes".into());
    let rounds = if cfg!(miri) { 2 } else { 30 };
    for kind in BarrierKind::ALL {
        for policy in [WaitPolicy::Block, WaitPolicy::SpinYield, WaitPolicy::default()] {
            let n = 3;
            let mut b = Barrier::builder(n).kind(kind).wait_policy(policy).build().unwrap();
            for round in 0..rounds {
                thread::scope(|s| {
                    for id in 0..n {
                        let b = &b;
                        s.spawn(move || {
                            let r = if round % 2 == 0 { b.wait_as(id) } else { b.wait() };
                            assert!(r.is_ok(), "{kind} {policy} round {round}: party {id} got {r:?}");
                            b.break_barrier(BreakReason::Other(format!("party {id} is done")));
                        });
                    }
                });
                assert!(b.broken_reason().is_some(), "{kind} {policy}: the barrier was broken");
                b.reset();
            }
        }
    }
}

#[test]
fn timeout_that_does_not_expire_passes() {
    let _dog = watchdog(WATCHDOG, "timeout_that_does_not_expire_passes".into());
    for kind in BarrierKind::ALL {
        let n = 3;
        let b = Barrier::builder(n).kind(kind).wait_policy(WaitPolicy::Block).build().unwrap();
        let leaders = AtomicUsize::new(0);
        thread::scope(|s| {
            for id in 0..n {
                let (b, leaders) = (&b, &leaders);
                s.spawn(move || {
                    let r = b.party_as(id).wait_timeout(WATCHDOG);
                    let r = r.unwrap_or_else(|e| panic!("{kind}: party {id}: {e}"));
                    // Relaxed: read after the scope joins every thread.
                    leaders.fetch_add(usize::from(r.is_leader()), Ordering::Relaxed);
                });
            }
        });
        assert_eq!(leaders.into_inner(), 1, "{kind}");
    }
}

#[test]
fn one_party_never_blocks() {
    let _dog = watchdog(WATCHDOG, "one_party_never_blocks".into());
    for kind in BarrierKind::ALL {
        for policy in WaitPolicy::all() {
            let b = Barrier::builder(1).kind(kind).wait_policy(policy).build().unwrap();
            phalanx::wait::reset_stats();
            for i in 0..100 {
                assert!(b.wait().unwrap().is_leader(), "{kind} {policy}: wait {i}");
                assert!(b.wait_as(0).unwrap().is_leader(), "{kind} {policy}: wait_as {i}");
                assert!(b.wait_timeout(WATCHDOG).unwrap().is_leader(), "{kind} {policy}: wait_timeout {i}");
            }
            // The sole party is always the leader and never enters a wait.
            assert_eq!(phalanx::wait::stats().waits, 0, "{kind} {policy}: waits recorded");
        }
    }
}

#[test]
fn zero_parties_is_an_error_naming_the_setting() {
    let e = Barrier::builder(0).kind(BarrierKind::Tree).build().unwrap_err();
    assert_eq!(e, BarrierError::ZeroParties);
    assert!(e.to_string().contains("barrier parties = 0"), "{e}");
}

#[test]
#[should_panic(expected = "invalid barrier parties = 0")]
fn new_with_zero_parties_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn zero_timeout_and_bad_party_id_are_refused() {
    let _dog = watchdog(WATCHDOG, "zero_timeout_and_bad_party_id_are_refused".into());
    for kind in BarrierKind::ALL {
        let n = 3;
        let b = Barrier::builder(n).kind(kind).build().unwrap();
        let e = b.wait_timeout(Duration::ZERO).unwrap_err();
        assert_eq!(e, BarrierError::ZeroTimeout, "{kind}");
        assert!(e.to_string().contains("timeout = 0s"), "{kind}: {e}");
        let e = b.wait_as(n).unwrap_err();
        assert_eq!(e, BarrierError::BadPartyId { id: n, parties: n }, "{kind}");
        assert!(e.to_string().contains(&format!("party id = {n}")), "{kind}: {e}");
        // Refused calls do not arrive: a full episode still needs n parties.
        assert_eq!(b.broken_reason(), None, "{kind}");
        thread::scope(|s| {
            for id in 0..n {
                let b = &b;
                s.spawn(move || b.wait_as(id).unwrap_or_else(|e| panic!("{kind}: party {id}: {e}")));
            }
        });
    }
}

#[test]
fn first_break_reason_is_kept() {
    for kind in BarrierKind::ALL {
        let b = Barrier::builder(2).kind(kind).build().unwrap();
        b.break_barrier(BreakReason::Other("first".into()));
        b.break_barrier(BreakReason::Other("second".into()));
        let e = b.wait().unwrap_err();
        assert_eq!(e, BarrierError::Broken(BreakReason::Other("first".into())), "{kind}");
        assert_eq!(e.to_string(), "barrier is broken: first", "{kind}");
    }
}
