//! The MPI_THREAD_FUNNELED rule as the types enforce it, in one process
//! (MPI can be initialized once per process, so this file has one test).

use phalanx::Team;
use phalanx_mpi::Cluster;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn only_the_owner_thread_reaches_the_communicator() {
    let cluster = Cluster::init().expect("MPI singleton init");
    assert_eq!((cluster.rank(), cluster.size()), (0, 1));
    assert!(cluster.comm().is_some(), "the initializing thread owns the communicator");
    let team = Team::builder().num_threads(3).build().unwrap();

    // From the owner: thread 0 communicates, every thread gets the value.
    let seen = std::sync::Mutex::new(Vec::new());
    team.parallel(|ctx| {
        let from_other_threads = cluster.comm().is_none();
        assert_eq!(from_other_threads, !ctx.is_master(), "comm() is Some on thread 0 only");
        let v = cluster.exchange(ctx, |comm| comm.all_sum(2.5));
        seen.lock().unwrap().push(v);
        assert_eq!(cluster.funneled(ctx, |comm| comm.rank()), ctx.is_master().then_some(0));
    });
    assert_eq!(seen.into_inner().unwrap(), vec![2.5; 3]);

    // A region started from another thread: its thread 0 is not the owner,
    // and the exchange refuses with the rule's name instead of calling MPI.
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(cluster.comm().is_none());
            let other = Team::builder().num_threads(2).build().unwrap();
            let err = catch_unwind(AssertUnwindSafe(|| {
                other.parallel(|ctx| {
                    cluster.exchange(ctx, |c| c.rank());
                })
            }))
            .expect_err("the exchange must refuse");
            let msg = err
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            assert!(msg.contains("MPI_THREAD_FUNNELED"), "panic message: {msg:?}");
        });
    });
}
