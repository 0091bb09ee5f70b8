//! Bad input, table-driven: every builder option, every environment variable
//! (through `Config::from_lookup`, never the process environment) and
//! schedule string, valid and invalid. Every invalid one must give an error
//! whose `Display` names the setting and the value. With `--nocapture` each
//! test prints the bad inputs it tried and what they got.

mod common;

use common::watchdog;
use phalanx::barrier::BarrierError;
use phalanx::config::Config;
use phalanx::sync::CountDownError;
use phalanx::{Barrier, BarrierKind, Latch, Schedule, Team, WaitPolicy};
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

/// Silence the default hook for the panics this file provokes (their
/// messages all say "invalid ..."); others still print.
fn quiet_invalid_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.contains("invalid")) {
                prev(info);
            }
        }));
    });
}

/// Check that `message` names `setting` and `value`, and print the line.
fn names(input: &str, setting: &str, value: &str, message: &str) {
    println!("bad input: {input} -> {message}");
    assert!(
        message.contains(setting) && message.contains(value),
        "{input}: the error must name `{setting}` and `{value}`, got: {message}"
    );
}

/// The message of a panic raised by `f` (which must panic).
fn panic_message(input: &str, f: impl FnOnce()) -> String {
    quiet_invalid_panics();
    let payload = match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("{input}: expected a panic"),
        Err(p) => p,
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| panic!("{input}: non-string panic payload"))
}

fn lookup<'a>(var: &'a str, value: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| (k == var).then(|| value.to_owned())
}

/// (variable, value) pairs that must be refused.
const BAD_ENV: &[(&str, &str)] = &[
    ("OMP_NUM_THREADS", "abc"),
    ("OMP_NUM_THREADS", "0"),
    ("OMP_NUM_THREADS", "-2"),
    ("OMP_NUM_THREADS", "1.5"),
    ("OMP_NUM_THREADS", "4x"),
    ("OMP_NUM_THREADS", ",4"),
    ("OMP_NUM_THREADS", "99999999999999999999999"),
    ("OMP_SCHEDULE", "fast"),
    ("OMP_SCHEDULE", "dynamic,0"),
    ("OMP_SCHEDULE", "dynamic,"),
    ("OMP_SCHEDULE", "guided,-1"),
    ("OMP_SCHEDULE", "static,x"),
    ("OMP_SCHEDULE", "static,0"),
    ("OMP_SCHEDULE", "auto,4"),
    ("OMP_SCHEDULE", "dynamic,4,2"),
    ("OMP_SCHEDULE", "monotonic:fast"),
    ("OMP_SCHEDULE", "runtime"),
    ("OMP_WAIT_POLICY", "busy"),
    ("OMP_WAIT_POLICY", "1"),
    ("OMP_WAIT_POLICY", "actively"),
    ("PHALANX_WAIT_POLICY", "fast"),
    ("PHALANX_WAIT_POLICY", "spin_yield"),
    ("PHALANX_WAIT_POLICY", "sleep"),
    ("PHALANX_SPIN_US", "-1"),
    ("PHALANX_SPIN_US", "1.5"),
    ("PHALANX_SPIN_US", "abc"),
    ("PHALANX_SPIN_US", "20us"),
    ("PHALANX_BARRIER", "mcs"),
    ("PHALANX_BARRIER", "dissemination"),
    ("PHALANX_BARRIER", "central,"),
];

#[test]
fn invalid_environment_variables_name_the_variable_and_value() {
    for &(var, value) in BAD_ENV {
        let input = format!("{var}={value:?}");
        let e = Config::from_lookup(lookup(var, value)).expect_err(&input);
        assert_eq!((e.name(), e.value()), (var, value), "{input}: error fields");
        names(&input, var, value, &e.to_string());
    }
}

#[test]
fn valid_environment_variables_parse() {
    let hybrid = |us| WaitPolicy::Hybrid { spin: Duration::from_micros(us) };
    let cases: Vec<(&str, &str, Config)> = vec![
        ("OMP_NUM_THREADS", "4", Config { num_threads: Some(4), ..Config::default() }),
        ("OMP_NUM_THREADS", " 8 ", Config { num_threads: Some(8), ..Config::default() }),
        ("OMP_NUM_THREADS", "4,2", Config { num_threads: Some(4), ..Config::default() }),
        ("OMP_NUM_THREADS", "   ", Config::default()),
        ("OMP_SCHEDULE", "static", Config { schedule: Some(Schedule::Static), ..Config::default() }),
        ("OMP_SCHEDULE", "static,4", Config { schedule: Some(Schedule::StaticChunk(4)), ..Config::default() }),
        ("OMP_SCHEDULE", "DYNAMIC, 3", Config { schedule: Some(Schedule::Dynamic(3)), ..Config::default() }),
        ("OMP_SCHEDULE", "guided", Config { schedule: Some(Schedule::Guided(1)), ..Config::default() }),
        ("OMP_SCHEDULE", "auto", Config { schedule: Some(Schedule::Static), ..Config::default() }),
        (
            "OMP_SCHEDULE",
            "nonmonotonic:dynamic,8",
            Config { schedule: Some(Schedule::Dynamic(8)), ..Config::default() },
        ),
        ("PHALANX_SPIN_US", "0", Config { spin: Some(Duration::ZERO), ..Config::default() }),
        ("PHALANX_BARRIER", "Tree", Config { barrier: Some(BarrierKind::Tree), ..Config::default() }),
    ];
    for (var, value, want) in cases {
        assert_eq!(Config::from_lookup(lookup(var, value)), Ok(want), "{var}={value:?}");
    }
    for (value, want) in [("active", WaitPolicy::Spin), ("PASSIVE", WaitPolicy::Block)] {
        let c = Config::from_lookup(lookup("OMP_WAIT_POLICY", value)).expect(value);
        assert_eq!(c.wait_policy_for(1), want, "OMP_WAIT_POLICY={value:?} for one thread");
    }
    for p in WaitPolicy::all() {
        let name = p.name();
        let c = Config::from_lookup(lookup("PHALANX_WAIT_POLICY", name)).expect(name);
        assert_eq!(c.wait_policy_for(2).name(), p.name(), "PHALANX_WAIT_POLICY={:?}", p.name());
    }
    let both = |k: &str| match k {
        "PHALANX_WAIT_POLICY" => Some("hybrid".to_owned()),
        "PHALANX_SPIN_US" => Some("20".to_owned()),
        _ => None,
    };
    assert_eq!(Config::from_lookup(both).expect("hybrid, 20 us").wait_policy_for(2), hybrid(20));
}

#[test]
fn schedule_strings() {
    let good = [
        ("static", Schedule::Static),
        ("Static,7", Schedule::StaticChunk(7)),
        ("dynamic", Schedule::Dynamic(1)),
        ("guided,5", Schedule::Guided(5)),
        ("monotonic:guided", Schedule::Guided(1)),
        ("auto", Schedule::Static),
    ];
    for (s, want) in good {
        assert_eq!(Schedule::parse(s), Ok(want), "schedule {s:?}");
        // Display gives a string that parses back to the same schedule.
        assert_eq!(Schedule::parse(&want.to_string()), Ok(want), "round trip of {want}");
    }
    for s in ["", "fast", "dynamic,0", "guided,", "static,-3", "auto,2", "dynamic;4", "static 4"] {
        let e = Schedule::parse(s).expect_err(s);
        names(&format!("Schedule::parse({s:?})"), "schedule", &format!("{s:?}"), &e.to_string());
    }
}

#[test]
fn builder_options() {
    let e = Team::builder().num_threads(0).build().expect_err("num_threads(0)");
    names("Team::builder().num_threads(0)", "num_threads", "0", &e.to_string());
    type Ctor = fn(usize) -> Result<Schedule, phalanx::ConfigError>;
    let chunked: [(Schedule, Ctor); 3] = [
        (Schedule::StaticChunk(0), Schedule::static_chunk),
        (Schedule::Dynamic(0), Schedule::dynamic),
        (Schedule::Guided(0), Schedule::guided),
    ];
    for (s, ctor) in chunked {
        let e = Team::builder().num_threads(1).schedule(s).build().expect_err("chunk 0");
        names(&format!("Team::builder().schedule({s:?})"), "chunk", "0", &e.to_string());
        let e = ctor(0).expect_err("chunk 0");
        names(&format!("Schedule constructor for {s:?}"), "chunk", "0", &e.to_string());
        assert_eq!(s.validate().map_err(|e| e.to_string()), Err(e.to_string()), "{s:?}.validate()");
        assert!(ctor(1).is_ok(), "chunk 1 is fine");
    }
    // Environment settings reach the builder through `env_config`.
    let bad = Config::from_lookup(lookup("OMP_NUM_THREADS", "abc"));
    assert!(bad.is_err(), "OMP_NUM_THREADS=abc");
    let t = Team::builder().env_config(Config { num_threads: Some(3), ..Config::default() }).build().expect("env 3");
    assert_eq!(t.num_threads(), 3, "num_threads from env_config");
}

#[test]
fn chunk_zero_in_every_loop_fails_the_region_naming_it() {
    quiet_invalid_panics();
    let _w = watchdog(30, "chunk_zero_in_every_loop");
    let team = Team::builder().num_threads(2).env_config(Config::default()).build().expect("team");
    for s in [Schedule::StaticChunk(0), Schedule::Dynamic(0), Schedule::Guided(0)] {
        type Use = fn(&phalanx::Ctx<'_>, Schedule);
        let uses: [(&str, Use); 3] = [
            ("for_each", |ctx, s| ctx.for_each(0..10, s, |_| ())),
            ("for_each_nowait", |ctx, s| ctx.for_each_nowait(0..10, s, |_| ())),
            ("reduce", |ctx, s| {
                let _ = ctx.reduce(0..10, s, 0u32, |a, _| a, |a, b| a + b);
            }),
        ];
        for (name, f) in uses {
            let e = team.try_parallel(|ctx| f(ctx, s)).expect_err("chunk 0 in a loop");
            names(&format!("ctx.{name}(.., {s:?}, ..)"), "chunk", "0", &e.to_string());
        }
    }
    team.parallel(|ctx| ctx.for_each(0..10, Schedule::Dynamic(1), |_| ()));
}

#[test]
fn barrier_misuse() {
    let e = Barrier::builder(0).build().expect_err("0 parties");
    assert_eq!(e, BarrierError::ZeroParties);
    names("Barrier::builder(0)", "parties", "0", &e.to_string());
    let msg = panic_message("Barrier::new(0)", || drop(Barrier::new(0)));
    names("Barrier::new(0)", "parties", "0", &msg);
    for kind in BarrierKind::ALL {
        let b = Barrier::builder(2).kind(kind).build().expect("2 parties");
        let e = b.wait_timeout(Duration::ZERO).expect_err("zero timeout");
        assert_eq!(e, BarrierError::ZeroTimeout);
        names(&format!("Barrier({kind}).wait_timeout(0)"), "timeout", "0", &e.to_string());
        for id in [2, 3, usize::MAX] {
            let e = b.wait_as(id).expect_err("bad id");
            assert_eq!(e, BarrierError::BadPartyId { id, parties: 2 });
            names(&format!("Barrier({kind}, 2 parties).wait_as({id})"), "party id", &id.to_string(), &e.to_string());
            let g = b.party_as(id);
            let e = g.wait_timeout(Duration::from_secs(1)).expect_err("bad id");
            names(&format!("Barrier({kind}).party_as({id}).wait_timeout"), "party id", &id.to_string(), &e.to_string());
            std::mem::forget(g); // dropping the guard would break the barrier
        }
        // None of the refused calls arrived or broke anything.
        assert_eq!(b.broken_reason(), None, "{kind}: refused calls must leave the barrier alone");
        std::thread::scope(|s| {
            s.spawn(|| b.wait_timeout(Duration::from_secs(10)).expect("still usable"));
            b.wait_timeout(Duration::from_secs(10)).expect("still usable");
        });
    }
}

#[test]
fn latch_misuse() {
    let l = Latch::new(1);
    l.count_down();
    let msg = panic_message("Latch::new(1): count_down twice", || l.count_down());
    names("Latch::new(1): count_down twice", "count", "0", &msg);
    let l = Latch::new(1);
    let e = l.try_count_down_by(5).expect_err("below zero");
    assert_eq!(e, CountDownError { count: 1, by: 5 });
    names("Latch::new(1).try_count_down_by(5)", "count_down by 5", "count = 1", &e.to_string());
    assert_eq!(l.count(), 1, "a refused count-down leaves the count alone");
    let msg = panic_message("Latch::new(0).count_down()", || Latch::new(0).count_down());
    names("Latch::new(0).count_down()", "count", "0", &msg);
    let msg = panic_message("Latch::new(2).count_down_by(3)", || Latch::new(2).count_down_by(3));
    names("Latch::new(2).count_down_by(3)", "count_down by 3", "count = 2", &msg);
    assert_eq!(l.try_count_down_by(0), Ok(1), "count_down_by(0) does nothing");
    l.count_down();
    assert!(l.is_done());
}
