//! Environment and binding: `OMP_PROC_BIND` / `OMP_PLACES` pin inside the
//! process's affinity mask (thread 0 included), the `OMP_*` variables added
//! for porters are parsed or refused by name, and a team whose threads cannot
//! all start is a named error, not an abort.

mod common;

use common::watchdog;
use phalanx::config::{Config, DisplayEnv, Places, ProcBind};
use phalanx::{BuildError, Schedule, Team};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The calling thread's CPU affinity mask.
fn mask() -> BTreeSet<usize> {
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; the kernel writes
    // at most its size; CPU_ISSET reads inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set), 0);
        (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
    }
}

/// Restrict the calling thread to `cpus` (as `taskset` does for a process).
fn restrict(cpus: &BTreeSet<usize>) {
    // SAFETY: as in `mask`; sched_setaffinity(0, ..) affects this thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
    }
}

/// Every thread's mask after building a team with `builder` on a thread
/// restricted to `allowed` (a fresh thread, so the test thread keeps its own).
fn masks_in_team(allowed: BTreeSet<usize>, builder: phalanx::TeamBuilder, n: usize) -> Vec<BTreeSet<usize>> {
    std::thread::spawn(move || {
        restrict(&allowed);
        let team = builder.num_threads(n).build().unwrap();
        let got = Mutex::new(vec![BTreeSet::new(); n]);
        team.parallel(|ctx| got.lock().unwrap()[ctx.thread_num()] = mask());
        got.into_inner().unwrap()
    })
    .join()
    .unwrap()
}

/// `pin_threads(true)` under a one-CPU mask (`taskset -c <last>`) keeps every
/// thread on that CPU. It used to pin worker `i` to CPU `i % cores`, outside
/// the mask.
#[cfg(target_os = "linux")]
#[test]
fn pinning_stays_inside_the_affinity_mask() {
    let _w = watchdog(60, "pinning_stays_inside_the_affinity_mask");
    let all = mask();
    let last: BTreeSet<usize> = all.iter().next_back().copied().into_iter().collect();
    for got in [
        masks_in_team(last.clone(), Team::builder().pin_threads(true), 3),
        masks_in_team(last.clone(), Team::builder().proc_bind(ProcBind::Spread).places(Places::Cores(None)), 3),
    ] {
        for (t, m) in got.iter().enumerate() {
            assert_eq!(m, &last, "thread {t} left the mask {last:?}");
        }
    }
    if all.len() >= 2 {
        // Close over single-CPU places: every thread on its own CPU of the
        // mask, thread 0 included.
        let got = masks_in_team(all.clone(), Team::builder().pin_threads(true), 2);
        let cpus: Vec<usize> = all.iter().copied().take(2).collect();
        assert_eq!(got, vec![BTreeSet::from([cpus[0]]), BTreeSet::from([cpus[1]])]);
        let got = masks_in_team(
            all.clone(),
            Team::builder().proc_bind(ProcBind::Master).places(Places::List(vec![vec![cpus[1]], vec![cpus[0]]])),
            2,
        );
        assert_eq!(got, vec![BTreeSet::from([cpus[1]]); 2], "master: every thread on the first place");
    }
    // Not bound: the mask is inherited unchanged.
    let got = masks_in_team(all.clone(), Team::builder(), 2);
    assert!(got.iter().all(|m| m == &all));
}

/// A worker that cannot start (a stack larger than the address space) is a
/// named error; the workers started before it are joined.
#[test]
fn spawn_failure_is_a_named_error() {
    let _w = watchdog(60, "spawn_failure_is_a_named_error");
    match Team::builder().num_threads(3).stack_size(1 << 47).build() {
        Err(e @ BuildError::Spawn { thread: 1, asked: 3, started: 0, .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("cannot start team thread 1 of a team of 3"), "{msg}");
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
}

/// A team far beyond the process's thread budget is refused by name before
/// starting a thread (it used to abort the process: "failed to initiate
/// panic"); a moderately large one works.
#[test]
fn very_large_teams_are_refused_large_ones_work() {
    let _w = watchdog(120, "very_large_teams_are_refused_large_ones_work");
    match Team::builder().num_threads(200_000).build() {
        Err(BuildError::Spawn { asked: 200_000, started, error, .. }) => {
            assert_eq!(started, 0, "{error}");
        }
        Ok(_) => {} // a machine with room for 200 000 threads
        Err(e) => panic!("{e}"),
    }
    let team = Team::builder().num_threads(256).wait_policy(phalanx::WaitPolicy::Block).build().unwrap();
    let s = team.parallel_reduce(0..10_000, Schedule::Dynamic(16), 0u64, |a, i| a + i as u64, |a, b| a + b);
    assert_eq!(s, 49_995_000);
}

#[test]
fn new_variables_parse_and_bad_values_are_named() {
    let cfg = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    };
    let c = cfg(&[
        ("OMP_PROC_BIND", "spread,close"),
        ("OMP_PLACES", "{0,1},{2:2}"),
        ("OMP_STACKSIZE", "512K"),
        ("OMP_DYNAMIC", "TRUE"),
        ("OMP_THREAD_LIMIT", "8"),
        ("OMP_MAX_ACTIVE_LEVELS", "2"),
        ("OMP_DISPLAY_ENV", "verbose"),
    ])
    .unwrap();
    assert_eq!(c.proc_bind, Some(ProcBind::Spread));
    assert_eq!(c.places, Some(Places::List(vec![vec![0, 1], vec![2, 3]])));
    assert_eq!(c.stack_size, Some(512 * 1024));
    assert_eq!((c.dynamic, c.thread_limit, c.max_active_levels), (Some(true), Some(8), Some(2)));
    assert_eq!(c.display_env, Some(DisplayEnv::Verbose));
    assert_eq!(cfg(&[("OMP_PLACES", "cores")]).unwrap().proc_bind, Some(ProcBind::True), "places imply binding");
    for (size, bytes) in [("4M", 4 << 20), ("100", 100 << 10), ("1g", 1 << 30), ("64B", 64), (" 2 K ", 2048)] {
        assert_eq!(cfg(&[("OMP_STACKSIZE", size)]).unwrap().stack_size, Some(bytes), "{size}");
    }
    for (var, bad) in [
        ("OMP_PROC_BIND", "sometimes"),
        ("OMP_PLACES", "{0,1"),
        ("OMP_PLACES", "cores(0)"),
        ("OMP_STACKSIZE", "0"),
        ("OMP_STACKSIZE", "4Q"),
        ("OMP_STACKSIZE", "99999999999999999999G"),
        ("OMP_DYNAMIC", "maybe"),
        ("OMP_THREAD_LIMIT", "0"),
        ("OMP_MAX_ACTIVE_LEVELS", "-1"),
        ("OMP_DISPLAY_ENV", "yes"),
    ] {
        let e = cfg(&[(var, bad)]).expect_err(bad);
        assert_eq!((e.name(), e.value()), (var, bad), "{e}");
        assert!(e.to_string().contains(var) && e.to_string().contains(bad), "{e}");
    }
}

/// `OMP_THREAD_LIMIT` caps a team, an explicit size included.
#[test]
fn thread_limit_caps_teams() {
    let _w = watchdog(60, "thread_limit_caps_teams");
    let env = Config { thread_limit: Some(2), ..Config::default() };
    let team = Team::builder().num_threads(4).env_config(env).build().unwrap();
    assert_eq!(team.num_threads(), 2);
}

/// `OMP_DISPLAY_ENV` prints the settings in effect when a team is built (in a
/// child process, which reads its own environment).
#[test]
fn display_env_prints_the_settings() {
    if std::env::var_os("PHALANX_DISPLAY_CHILD").is_some() {
        drop(Team::from_env().unwrap());
        return;
    }
    let _w = watchdog(120, "display_env_prints_the_settings");
    let run = |display: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["display_env_prints_the_settings", "--exact", "--nocapture", "--test-threads=1"])
            .env("PHALANX_DISPLAY_CHILD", "1")
            .env("OMP_DISPLAY_ENV", display)
            .env("OMP_NUM_THREADS", "3")
            .env("OMP_SCHEDULE", "dynamic,4")
            .env("OMP_PROC_BIND", "spread")
            .env("OMP_PLACES", "cores")
            .env("OMP_STACKSIZE", "1M")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let shown = run("true");
    for line in [
        "OPENMP DISPLAY ENVIRONMENT BEGIN",
        "  OMP_NUM_THREADS = '3'",
        "  OMP_SCHEDULE = 'DYNAMIC,4'",
        "  OMP_PROC_BIND = 'SPREAD'",
        "  OMP_PLACES = 'cores'",
        "  OMP_STACKSIZE = '1048576'",
        "  OMP_MAX_ACTIVE_LEVELS = '1'",
        "OPENMP DISPLAY ENVIRONMENT END",
    ] {
        assert!(shown.lines().any(|l| l == line), "{line:?} missing from:\n{shown}");
    }
    assert!(!shown.contains("PHALANX_BARRIER"), "{shown}");
    assert!(run("verbose").contains("  PHALANX_BARRIER = 'central'"));
    assert!(!run("false").contains("OPENMP DISPLAY"));
}
