//! Thread binding: `OMP_PROC_BIND` and `OMP_PLACES`, resolved against the
//! process's CPU affinity mask (`sched_getaffinity`), so a team started under
//! `taskset` or in a cpuset never pins a thread outside it.
//!
//! A *place* is a set of CPUs. `OMP_PLACES` says how the allowed CPUs are
//! grouped (`threads`: one CPU each; `cores`: the hardware threads of a core;
//! `sockets`: a package; or an explicit list such as `{0,1},{2,3}` or
//! `{0:4}`), and `OMP_PROC_BIND` which place each team thread gets:
//!
//! | policy | thread `t` of `T` over `P` places |
//! |---|---|
//! | `false` | not bound (the default) |
//! | `master` / `primary` | place 0, every thread |
//! | `close`, `true` | place `t` when `T <= P`, else `t * P / T` (consecutive threads share a place) |
//! | `spread` | place `t * P / T` (spread over all places), `T > P` as `close` |
//!
//! Places are intersected with the affinity mask of the thread that builds
//! the team; a place left empty is dropped. Thread 0 (the caller of
//! `build`, which is usually the caller of `parallel`) is bound too.

use crate::config::ConfigError;
use std::fmt;

/// `OMP_PROC_BIND`: whether and how team threads are bound to places.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcBind {
    /// Threads are not bound (the default).
    #[default]
    False,
    /// Bound; this implementation binds as [`ProcBind::Close`].
    True,
    /// Every thread on the place of thread 0 (`master`, `primary`).
    Master,
    /// Consecutive threads on consecutive places.
    Close,
    /// Threads spread evenly over the places.
    Spread,
}

/// `OMP_PLACES`: how the allowed CPUs are grouped into places.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Places {
    /// One place per hardware thread (CPU); optionally only the first `n`.
    Threads(Option<usize>),
    /// One place per core (its hardware threads).
    Cores(Option<usize>),
    /// One place per socket (package).
    Sockets(Option<usize>),
    /// Explicit places, each a list of CPU numbers.
    List(Vec<Vec<usize>>),
}

impl fmt::Display for ProcBind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcBind::False => "false",
            ProcBind::True => "true",
            ProcBind::Master => "master",
            ProcBind::Close => "close",
            ProcBind::Spread => "spread",
        })
    }
}

impl fmt::Display for Places {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = |f: &mut fmt::Formatter<'_>, name: &str, n: &Option<usize>| match n {
            Some(n) => write!(f, "{name}({n})"),
            None => f.write_str(name),
        };
        match self {
            Places::Threads(n) => named(f, "threads", n),
            Places::Cores(n) => named(f, "cores", n),
            Places::Sockets(n) => named(f, "sockets", n),
            Places::List(l) => {
                for (i, p) in l.iter().enumerate() {
                    let cpus: Vec<String> = p.iter().map(usize::to_string).collect();
                    write!(f, "{}{{{}}}", if i > 0 { "," } else { "" }, cpus.join(","))?;
                }
                Ok(())
            }
        }
    }
}

/// `OMP_PROC_BIND`: `true`, `false`, `master` (`primary`), `close`, `spread`,
/// any case; of a comma list (the nesting form) the first entry counts.
pub(crate) fn parse_proc_bind(v: &str) -> Result<ProcBind, ConfigError> {
    let first = v.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    Ok(match first.as_str() {
        "false" => ProcBind::False,
        "true" => ProcBind::True,
        "master" | "primary" => ProcBind::Master,
        "close" => ProcBind::Close,
        "spread" => ProcBind::Spread,
        _ => {
            return Err(ConfigError::env("OMP_PROC_BIND", v, "expected true, false, master, primary, close or spread"))
        }
    })
}

const PLACES_EXPECTED: &str =
    "expected threads, cores or sockets (optionally (n)), or places such as {0,1},{2,3}, {0:4} or {0:2}:4:2";

/// `OMP_PLACES`: an abstract name (`threads`, `cores`, `sockets`, optionally
/// `(n)`) or an explicit list of places. A place is `{res,...}` where `res` is
/// `cpu` or `cpu:len[:stride]`; a place may be followed by `:count[:stride]`
/// to repeat it `count` times, each copy shifted by `stride` more CPUs
/// (default: the place's size).
/// Exclusions (`!`) and `ll_caches` / `numa_domains` are refused by name.
pub(crate) fn parse_places(v: &str) -> Result<Places, ConfigError> {
    let bad = |why: &str| ConfigError::env("OMP_PLACES", v, why);
    let s: String = v.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    for (name, make) in [
        ("threads", Places::Threads as fn(Option<usize>) -> Places),
        ("cores", Places::Cores),
        ("sockets", Places::Sockets),
    ] {
        if let Some(rest) = s.strip_prefix(name) {
            if rest.is_empty() {
                return Ok(make(None));
            }
            let n = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).and_then(|n| n.parse::<usize>().ok());
            return match n {
                Some(n) if n > 0 => Ok(make(Some(n))),
                _ => Err(bad("the place count in name(n) must be a positive integer")),
            };
        }
    }
    if s.starts_with("ll_caches") || s.starts_with("numa_domains") {
        return Err(bad("ll_caches and numa_domains are not supported; use cores, sockets or an explicit list"));
    }
    if s.contains('!') {
        return Err(bad("exclusions (!) are not supported; list the places wanted"));
    }
    let num = |t: &str| t.parse::<usize>().map_err(|_| bad(PLACES_EXPECTED));
    let mut places = Vec::new();
    let mut rest = s.as_str();
    while !rest.is_empty() {
        let body_end = match (rest.strip_prefix('{'), rest.find('}')) {
            (Some(_), Some(e)) => e,
            _ => return Err(bad(PLACES_EXPECTED)),
        };
        let mut place = Vec::new();
        for res in rest[1..body_end].split(',') {
            let parts: Vec<&str> = res.split(':').collect();
            let (lo, len, stride) = match parts.as_slice() {
                [a] => (num(a)?, 1, 1),
                [a, l] => (num(a)?, num(l)?, 1),
                [a, l, st] => (num(a)?, num(l)?, num(st)?),
                _ => return Err(bad(PLACES_EXPECTED)),
            };
            if len == 0 {
                return Err(bad("an interval's length must be positive"));
            }
            for k in 0..len {
                place.push(lo.checked_add(k.saturating_mul(stride)).ok_or_else(|| bad("CPU number too large"))?);
            }
        }
        rest = &rest[body_end + 1..];
        // Optional `:count[:stride]` after the place.
        let mut count = 1;
        let mut shift = place.len();
        if let Some(r) = rest.strip_prefix(':') {
            let end = r.find(',').unwrap_or(r.len());
            let parts: Vec<&str> = r[..end].split(':').collect();
            match parts.as_slice() {
                [c] => count = num(c)?,
                [c, st] => (count, shift) = (num(c)?, num(st)?),
                _ => return Err(bad(PLACES_EXPECTED)),
            }
            if count == 0 {
                return Err(bad("a place's repeat count must be positive"));
            }
            rest = &r[end..];
        }
        for k in 0..count {
            let off = k.saturating_mul(shift);
            places.push(place.iter().map(|c| c.saturating_add(off)).collect());
        }
        rest = match rest.strip_prefix(',') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err(bad(PLACES_EXPECTED)),
            None if rest.is_empty() => rest,
            None => return Err(bad(PLACES_EXPECTED)),
        };
    }
    if places.is_empty() {
        return Err(bad(PLACES_EXPECTED));
    }
    Ok(Places::List(places))
}

/// The CPUs the calling thread may run on, ascending; `None` where unknown.
#[cfg(target_os = "linux")]
pub(crate) fn affinity_mask() -> Option<Vec<usize>> {
    if cfg!(miri) {
        return None; // Miri does not model CPU affinity.
    }
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; the kernel writes
    // at most `size_of::<cpu_set_t>()` bytes into it.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        set
    };
    let bits = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET reads bit `c` of the set; `c < bits`, its size.
    Some((0..bits).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect())
}

/// Affinity is Linux-only here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn affinity_mask() -> Option<Vec<usize>> {
    None
}

/// Move the calling thread off the CPU it runs on, to another CPU of its
/// affinity mask, and leave the mask as it was: the kernel migrates a thread
/// at once when its mask stops including its CPU, and nothing moves it back
/// when the mask is restored (`src/wait/colocate.rs` uses it when two
/// members of a team share one CPU while another idles). Returns whether it
/// moved. Does nothing for a thread bound to one CPU.
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) fn step_aside() -> bool {
    if cfg!(miri) {
        return false;
    }
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; the kernel writes
    // at most `size` bytes into it; CPU_COUNT/CPU_ISSET/CPU_CLR read or write
    // bits inside it (the CPU number comes from the kernel and is checked
    // against the set's size); sched_setaffinity(0, ..) only reads the set
    // and affects the calling thread.
    unsafe {
        let mut mask: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut mask) != 0 || libc::CPU_COUNT(&mask) < 2 {
            return false;
        }
        let here = libc::sched_getcpu();
        if here < 0 || here as usize >= 8 * size || !libc::CPU_ISSET(here as usize, &mask) {
            return false;
        }
        let mut elsewhere = mask;
        libc::CPU_CLR(here as usize, &mut elsewhere);
        let moved = libc::sched_setaffinity(0, size, &elsewhere) == 0;
        // Restore the mask whatever happened: the move is only a hint.
        libc::sched_setaffinity(0, size, &mask);
        moved
    }
}

/// Elsewhere the kernel keeps its placement.
#[cfg(all(not(target_os = "linux"), not(loom)))]
pub(crate) fn step_aside() -> bool {
    false
}

/// Bind the calling thread to `cpus`. Best effort: an OS refusal leaves it
/// where it was. Returns whether the OS accepted.
#[cfg(target_os = "linux")]
pub(crate) fn bind_current(cpus: &[usize]) -> bool {
    if cfg!(miri) || cpus.is_empty() {
        return false;
    }
    let bits = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; CPU_SET writes
    // bit `c < bits` inside it; sched_setaffinity(0, ...) only reads the set
    // and affects the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus.iter().filter(|&&c| c < bits) {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Binding is Linux-only; elsewhere it does nothing.
#[cfg(not(target_os = "linux"))]
pub(crate) fn bind_current(_cpus: &[usize]) -> bool {
    false
}

/// A topology number of `cpu` from sysfs (`core_id`, `physical_package_id`).
fn topology(cpu: usize, what: &str) -> Option<usize> {
    std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{cpu}/topology/{what}")).ok()?.trim().parse().ok()
}

/// Group the allowed CPUs by `key` (first-seen order), keep the first `n`.
fn group_by(mask: &[usize], n: Option<usize>, key: impl Fn(usize) -> (usize, usize)) -> Vec<Vec<usize>> {
    let mut groups: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    for &c in mask {
        let k = key(c);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(c),
            None => groups.push((k, vec![c])),
        }
    }
    groups.into_iter().map(|(_, v)| v).take(n.unwrap_or(usize::MAX)).collect()
}

/// The places as CPU sets inside `mask` (empty places dropped).
pub(crate) fn resolve(places: &Places, mask: &[usize]) -> Vec<Vec<usize>> {
    match places {
        Places::Threads(n) => mask.iter().map(|&c| vec![c]).take(n.unwrap_or(usize::MAX)).collect(),
        Places::Cores(n) => group_by(mask, *n, |c| {
            (topology(c, "physical_package_id").unwrap_or(0), topology(c, "core_id").unwrap_or(c))
        }),
        Places::Sockets(n) => group_by(mask, *n, |c| (topology(c, "physical_package_id").unwrap_or(0), 0)),
        Places::List(l) => l
            .iter()
            .map(|p| p.iter().copied().filter(|c| mask.contains(c)).collect::<Vec<_>>())
            .filter(|p: &Vec<usize>| !p.is_empty())
            .collect(),
    }
}

/// The place of thread `t` of `threads` over `places` places, or `None`
/// when not bound (the table in the module docs).
pub(crate) fn place_of(bind: ProcBind, t: usize, threads: usize, places: usize) -> Option<usize> {
    if places == 0 {
        return None;
    }
    match bind {
        ProcBind::False => None,
        ProcBind::Master => Some(0),
        ProcBind::True | ProcBind::Close if threads <= places => Some(t),
        ProcBind::True | ProcBind::Close | ProcBind::Spread => Some(t * places / threads),
    }
}

/// The CPU set each team thread is bound to (`None`: not bound), for a team
/// of `threads` built on the calling thread.
pub(crate) fn plan(bind: ProcBind, places: &Places, threads: usize) -> Vec<Option<Vec<usize>>> {
    if bind == ProcBind::False {
        return vec![None; threads];
    }
    let Some(mask) = affinity_mask() else { return vec![None; threads] };
    let sets = resolve(places, &mask);
    (0..threads).map(|t| place_of(bind, t, threads, sets.len()).map(|p| sets[p].clone())).collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    #[cfg_attr(miri, ignore)] // no affinity under Miri
    fn step_aside_moves_and_keeps_the_mask() {
        std::thread::spawn(|| {
            let before = affinity_mask();
            // SAFETY: sched_getcpu takes no arguments and reads nothing of ours.
            let here = unsafe { libc::sched_getcpu() };
            let moved = step_aside();
            // SAFETY: as above.
            let now = unsafe { libc::sched_getcpu() };
            assert_eq!(affinity_mask(), before, "the mask is restored");
            let many = before.as_ref().is_some_and(|m| m.len() > 1);
            assert_eq!(moved, many, "moves exactly when the mask has another CPU");
            if moved {
                assert_ne!(now, here, "moved off CPU {here}");
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn places_parse() {
        assert_eq!(parse_places("threads").unwrap(), Places::Threads(None));
        assert_eq!(parse_places(" Cores(2) ").unwrap(), Places::Cores(Some(2)));
        assert_eq!(parse_places("{0,1},{2,3}").unwrap(), Places::List(vec![vec![0, 1], vec![2, 3]]));
        assert_eq!(parse_places("{0:4}").unwrap(), Places::List(vec![vec![0, 1, 2, 3]]));
        assert_eq!(parse_places("{0:2:2}").unwrap(), Places::List(vec![vec![0, 2]]));
        assert_eq!(parse_places("{0:2}:3:2").unwrap(), Places::List(vec![vec![0, 1], vec![2, 3], vec![4, 5]]));
        assert_eq!(parse_places("{0},{1}:2").unwrap(), Places::List(vec![vec![0], vec![1], vec![2]]));
        for bad in [
            "",
            "{",
            "{0",
            "{0}{1}",
            "{0},",
            "{a}",
            "{0:0}",
            "threads(0)",
            "cores(x)",
            "{0}:0",
            "!{0}",
            "numa_domains",
            "foo",
        ] {
            let e = parse_places(bad).expect_err(bad);
            assert_eq!((e.name(), e.value()), ("OMP_PLACES", bad), "{e}");
        }
    }

    #[test]
    fn binding_policies() {
        let got = |b, t| (0..t).map(|i| place_of(b, i, t, 4)).collect::<Vec<_>>();
        assert_eq!(got(ProcBind::Close, 2), vec![Some(0), Some(1)]);
        assert_eq!(got(ProcBind::Spread, 2), vec![Some(0), Some(2)]);
        assert_eq!(got(ProcBind::Master, 2), vec![Some(0), Some(0)]);
        assert_eq!(
            got(ProcBind::Close, 8),
            vec![Some(0), Some(0), Some(1), Some(1), Some(2), Some(2), Some(3), Some(3)]
        );
        assert_eq!(got(ProcBind::False, 2), vec![None, None]);
        assert_eq!(resolve(&Places::List(vec![vec![0, 9], vec![7]]), &[0, 1, 2]), vec![vec![0]]);
        assert_eq!(resolve(&Places::Threads(Some(2)), &[3, 5, 6]), vec![vec![3], vec![5]]);
    }
}
