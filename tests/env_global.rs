//! The global team reads the process environment on first use. One test in
//! its own binary, so setting variables races with nothing.

mod common;

use common::watchdog;

#[test]
fn global_team_reports_bad_env_then_builds_from_good_env() {
    let _w = watchdog(30, "global_team_env");
    std::env::set_var("OMP_NUM_THREADS", "abc");
    let r = std::panic::catch_unwind(|| phalanx::parallel(|_| {}));
    let p = r.expect_err("an invalid OMP_NUM_THREADS must panic");
    let msg = p.downcast_ref::<String>().expect("formatted message");
    assert!(msg.contains(r#"invalid OMP_NUM_THREADS = "abc": expected a positive integer"#), "{msg}");

    // The failed build left the global team unbuilt: fix the variable, retry.
    std::env::set_var("OMP_NUM_THREADS", "3");
    std::env::set_var("OMP_SCHEDULE", "dynamic,2");
    std::env::set_var("PHALANX_WAIT_POLICY", "spin-yield");
    let seen = std::sync::atomic::AtomicUsize::new(0);
    phalanx::parallel(|ctx| {
        assert_eq!(ctx.num_threads(), 3);
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(seen.into_inner(), 3);
    let g = phalanx::global_team();
    assert_eq!(g.runtime_schedule(), phalanx::Schedule::Dynamic(2));
    assert_eq!(g.wait_policy(), phalanx::WaitPolicy::SpinYield);
}
