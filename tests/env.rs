//! Environment parsing: every variable, valid and invalid values. Parsing
//! goes through a lookup closure, so no test touches the process environment.

mod common;

use common::watchdog;
use phalanx::config::{Config, WaitPolicySetting};
use phalanx::{BarrierKind, Schedule, Team, WaitPolicy};
use std::time::Duration;

fn parse(vars: &[(&str, &str)]) -> Result<Config, phalanx::ConfigError> {
    Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
}

#[test]
fn unset_and_empty_mean_default() {
    let c = parse(&[]).unwrap();
    assert_eq!(c, Config::default());
    let c = parse(&[("OMP_NUM_THREADS", ""), ("OMP_SCHEDULE", "  "), ("PHALANX_BARRIER", "")]).unwrap();
    assert_eq!(c, Config::default());
    assert!(c.threads_or_default() >= 1);
    assert_eq!(c.wait_policy_for(2), WaitPolicy::Predictive, "the default policy");
    let only_spin = parse(&[("PHALANX_SPIN_US", "7")]).unwrap();
    assert_eq!(only_spin.wait_policy_for(2), WaitPolicy::Hybrid { spin: Duration::from_micros(7) });
}

#[test]
fn valid_values() {
    type Check = Box<dyn Fn(&Config) -> bool>;
    let cases: Vec<(&str, &str, Check)> = vec![
        ("OMP_NUM_THREADS", "4", Box::new(|c| c.num_threads == Some(4))),
        ("OMP_NUM_THREADS", " 3 ", Box::new(|c| c.num_threads == Some(3))),
        ("OMP_NUM_THREADS", "8,2", Box::new(|c| c.num_threads == Some(8))),
        ("OMP_SCHEDULE", "static", Box::new(|c| c.schedule == Some(Schedule::Static))),
        ("OMP_SCHEDULE", "STATIC,4", Box::new(|c| c.schedule == Some(Schedule::StaticChunk(4)))),
        ("OMP_SCHEDULE", "dynamic", Box::new(|c| c.schedule == Some(Schedule::Dynamic(1)))),
        ("OMP_SCHEDULE", "Dynamic, 16", Box::new(|c| c.schedule == Some(Schedule::Dynamic(16)))),
        ("OMP_SCHEDULE", "guided,2", Box::new(|c| c.schedule == Some(Schedule::Guided(2)))),
        ("OMP_SCHEDULE", "auto", Box::new(|c| c.schedule == Some(Schedule::Static))),
        ("OMP_SCHEDULE", "monotonic:dynamic,3", Box::new(|c| c.schedule == Some(Schedule::Dynamic(3)))),
        ("OMP_SCHEDULE", "nonmonotonic:guided", Box::new(|c| c.schedule == Some(Schedule::Guided(1)))),
        ("OMP_WAIT_POLICY", "ACTIVE", Box::new(|c| c.wait_policy == Some(WaitPolicySetting::Active))),
        (
            "OMP_WAIT_POLICY",
            "passive",
            Box::new(|c| c.wait_policy == Some(WaitPolicySetting::Exactly(WaitPolicy::Block))),
        ),
        ("PHALANX_WAIT_POLICY", "spin", Box::new(|c| c.wait_policy_for(1) == WaitPolicy::Spin)),
        ("PHALANX_WAIT_POLICY", "spin-yield", Box::new(|c| c.wait_policy_for(1) == WaitPolicy::SpinYield)),
        ("PHALANX_WAIT_POLICY", "Block", Box::new(|c| c.wait_policy_for(1) == WaitPolicy::Block)),
        ("PHALANX_WAIT_POLICY", "hybrid", Box::new(|c| matches!(c.wait_policy_for(1), WaitPolicy::Hybrid { .. }))),
        ("PHALANX_WAIT_POLICY", "adaptive", Box::new(|c| c.wait_policy_for(1) == WaitPolicy::Adaptive)),
        (
            "PHALANX_WAIT_POLICY",
            "sleep-poll",
            Box::new(|c| matches!(c.wait_policy_for(1), WaitPolicy::SleepPoll { .. })),
        ),
        ("PHALANX_SPIN_US", "20", Box::new(|c| c.spin == Some(Duration::from_micros(20)))),
        ("PHALANX_SPIN_US", "0", Box::new(|c| c.wait_policy_for(1) == WaitPolicy::Hybrid { spin: Duration::ZERO })),
        ("PHALANX_BARRIER", "central", Box::new(|c| c.barrier == Some(BarrierKind::Central))),
        ("PHALANX_BARRIER", "Tree", Box::new(|c| c.barrier == Some(BarrierKind::Tree))),
        ("PHALANX_BARRIER", "condvar", Box::new(|c| c.barrier == Some(BarrierKind::Condvar))),
    ];
    for (var, val, ok) in cases {
        let c = parse(&[(var, val)]).unwrap_or_else(|e| panic!("{var}={val:?} rejected: {e}"));
        assert!(ok(&c), "{var}={val:?} gave {c:?}");
    }
}

#[test]
fn invalid_values_name_the_variable_and_the_value() {
    let cases = [
        ("OMP_NUM_THREADS", "abc"),
        ("OMP_NUM_THREADS", "0"),
        ("OMP_NUM_THREADS", "-2"),
        ("OMP_NUM_THREADS", ",4"),
        ("OMP_SCHEDULE", "fast"),
        ("OMP_SCHEDULE", "dynamic,0"),
        ("OMP_SCHEDULE", "guided,x"),
        ("OMP_SCHEDULE", "auto,4"),
        ("OMP_SCHEDULE", "monotonic:"),
        ("OMP_WAIT_POLICY", "busy"),
        ("PHALANX_WAIT_POLICY", "spinning"),
        ("PHALANX_SPIN_US", "1.5"),
        ("PHALANX_SPIN_US", "-1"),
        ("PHALANX_BARRIER", "dissemination"),
    ];
    for (var, val) in cases {
        let e = parse(&[(var, val)]).expect_err(&format!("{var}={val:?} accepted"));
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("invalid {var} = {val:?}: ")), "{msg}");
        assert_eq!((e.name(), e.value()), (var, val));
    }
    let e = parse(&[("OMP_NUM_THREADS", "abc")]).unwrap_err().to_string();
    assert_eq!(e, r#"invalid OMP_NUM_THREADS = "abc": expected a positive integer"#);
    let e = parse(&[("OMP_SCHEDULE", "fast")]).unwrap_err().to_string();
    assert_eq!(
        e,
        r#"invalid OMP_SCHEDULE = "fast": expected static, dynamic, guided or auto, optionally followed by ,chunk"#
    );
}

#[test]
fn omp_active_depends_on_oversubscription_and_phalanx_wins() {
    let c = parse(&[("OMP_WAIT_POLICY", "active")]).unwrap();
    assert_eq!(c.wait_policy_for(1), WaitPolicy::Spin);
    assert_eq!(c.wait_policy_for(phalanx::wait::cores() + 1), WaitPolicy::SpinYield);
    let c = parse(&[("OMP_WAIT_POLICY", "active"), ("PHALANX_WAIT_POLICY", "block")]).unwrap();
    assert_eq!(c.wait_policy_for(1), WaitPolicy::Block);
    let c = parse(&[("PHALANX_WAIT_POLICY", "hybrid"), ("PHALANX_SPIN_US", "7")]).unwrap();
    assert_eq!(c.wait_policy_for(1), WaitPolicy::Hybrid { spin: Duration::from_micros(7) });
}

#[test]
fn explicit_beats_env_beats_default() {
    let _w = watchdog(20, "explicit_beats_env_beats_default");
    let env = parse(&[("OMP_NUM_THREADS", "3"), ("PHALANX_WAIT_POLICY", "spin-yield"), ("OMP_SCHEDULE", "guided,5")])
        .unwrap();
    let t = Team::builder().env_config(env.clone()).build().unwrap();
    assert_eq!(t.num_threads(), 3);
    assert_eq!(t.wait_policy(), WaitPolicy::SpinYield);
    assert_eq!(t.runtime_schedule(), Schedule::Guided(5));
    let t = Team::builder().env_config(env).num_threads(2).wait_policy(WaitPolicy::Block).build().unwrap();
    assert_eq!(t.num_threads(), 2);
    assert_eq!(t.wait_policy(), WaitPolicy::Block);
    let t = Team::builder().env_config(Config::default()).num_threads(1).build().unwrap();
    assert_eq!(t.wait_policy(), WaitPolicy::Predictive);
    assert_eq!(t.runtime_schedule(), Schedule::Static);
}
