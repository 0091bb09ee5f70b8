//! Typed configuration from `OMP_*` and `PHALANX_*` environment variables.
//!
//! Precedence is **explicit > environment > default**: a value set on a
//! [`TeamBuilder`](crate::TeamBuilder) wins, then the variable, then the
//! built-in default. An unset or empty (all-blank) variable counts as unset.
//! A variable holding a value we cannot read is an error that names the
//! variable and the value; it is never silently ignored.
//!
//! | variable | values | meaning |
//! |---|---|---|
//! | `OMP_NUM_THREADS` | positive integer; of a comma list (`4,2`) the first counts | team size |
//! | `OMP_SCHEDULE` | `static`, `dynamic`, `guided`, `auto`, optionally `,chunk`; `monotonic:` / `nonmonotonic:` prefixes accepted | what [`Schedule::Runtime`] means |
//! | `OMP_WAIT_POLICY` | `active`, `passive` | `active`: [`WaitPolicy::Spin`] when the team fits the cores, else [`WaitPolicy::SpinYield`] (spinning oversubscribed starves the thread everybody waits for); `passive`: [`WaitPolicy::Block`] |
//! | `PHALANX_WAIT_POLICY` | `spin`, `spin-yield`, `block`, `hybrid`, `adaptive`, `predictive`, `sleep-poll` | overrides `OMP_WAIT_POLICY`; neither set: [`WaitPolicy::Predictive`], the default |
//! | `PHALANX_SPIN_US` | whole microseconds | spin budget of `hybrid` (default [`DEFAULT_HYBRID_SPIN`](crate::wait::DEFAULT_HYBRID_SPIN)); set without a policy, it selects `hybrid` |
//! | `PHALANX_BARRIER` | `central`, `tree`, `condvar` | barrier algorithm of a team |
//! | `OMP_CANCELLATION` | `true`, `false` (any case) | whether `ctx.cancel_*` requests take effect (default `false`, as OpenMP) |
//! | `OMP_PROC_BIND` | `false`, `true`, `master`/`primary`, `close`, `spread` (first of a list) | thread binding ([`ProcBind`]); `true` when only `OMP_PLACES` is set, as libgomp |
//! | `OMP_PLACES` | `threads`, `cores`, `sockets` (optionally `(n)`), or `{0,1},{2,3}`, `{0:4}`, `{0:2}:4:2` | the places threads bind to ([`Places`]), inside the process's affinity mask |
//! | `OMP_STACKSIZE` | size with optional `B`, `K`, `M`, `G` suffix (no suffix: K) | stack of every worker thread |
//! | `OMP_DYNAMIC` | `true`, `false` | accepted; teams always get the threads asked for (as `false`) |
//! | `OMP_THREAD_LIMIT` | positive integer | upper bound on a team's size, explicit sizes included |
//! | `OMP_MAX_ACTIVE_LEVELS` | non-negative integer | how many nested regions may have more than one thread (default 1) |
//! | `OMP_DISPLAY_ENV` | `true`, `false`, `verbose` | print the settings in effect to stderr when a team is built |
//!
//! Parsing takes a lookup closure ([`Config::from_lookup`]), so tests feed it
//! a table instead of mutating the process environment.

use crate::barrier::BarrierKind;
use crate::places::{parse_places, parse_proc_bind};
pub use crate::places::{Places, ProcBind};
use crate::wait::{self, WaitPolicy};
use crate::worksharing::Schedule;
use std::fmt;
use std::time::Duration;

/// A setting or variable holds a value phalanx cannot use. The message names
/// the setting and the value, e.g.
/// `invalid OMP_NUM_THREADS = "abc": expected a positive integer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    setting: String,
    value: String,
    quoted: bool,
    expected: String,
}

impl ConfigError {
    /// An environment variable `var` holds `value` (shown quoted).
    pub fn env(var: &str, value: &str, expected: impl Into<String>) -> Self {
        ConfigError { setting: var.into(), value: value.into(), quoted: true, expected: expected.into() }
    }

    /// A programmatic setting `name` was given `value` (shown as is).
    pub fn setting(name: &str, value: impl fmt::Display, expected: impl Into<String>) -> Self {
        ConfigError { setting: name.into(), value: value.to_string(), quoted: false, expected: expected.into() }
    }

    /// The variable or setting at fault (`OMP_SCHEDULE`, `num_threads`, ...).
    pub fn name(&self) -> &str {
        &self.setting
    }

    /// The rejected value, as given.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "invalid {} = {:?}: {}", self.setting, self.value, self.expected)
        } else {
            write!(f, "invalid {} = {}: {}", self.setting, self.value, self.expected)
        }
    }
}

impl std::error::Error for ConfigError {}

/// What `OMP_WAIT_POLICY` / `PHALANX_WAIT_POLICY` asked for. `active` can
/// only be resolved once the team size is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitPolicySetting {
    /// `OMP_WAIT_POLICY=active`: spin, but yield when oversubscribed.
    Active,
    /// A policy named exactly (`PHALANX_WAIT_POLICY`, or `passive` = `Block`).
    Exactly(WaitPolicy),
}

/// Everything the environment can set. Each field is `None` when its variable
/// is unset or empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `OMP_NUM_THREADS`.
    pub num_threads: Option<usize>,
    /// `OMP_SCHEDULE`: what `Schedule::Runtime` means.
    pub schedule: Option<Schedule>,
    /// `PHALANX_WAIT_POLICY`, else `OMP_WAIT_POLICY`.
    pub wait_policy: Option<WaitPolicySetting>,
    /// `PHALANX_SPIN_US`.
    pub spin: Option<Duration>,
    /// `PHALANX_BARRIER`.
    pub barrier: Option<BarrierKind>,
    /// `OMP_CANCELLATION`.
    pub cancellation: Option<bool>,
    /// `OMP_PROC_BIND` (`True` when only `OMP_PLACES` is set).
    pub proc_bind: Option<ProcBind>,
    /// `OMP_PLACES`.
    pub places: Option<Places>,
    /// `OMP_STACKSIZE`, in bytes.
    pub stack_size: Option<usize>,
    /// `OMP_DYNAMIC`.
    pub dynamic: Option<bool>,
    /// `OMP_THREAD_LIMIT`.
    pub thread_limit: Option<usize>,
    /// `OMP_MAX_ACTIVE_LEVELS`.
    pub max_active_levels: Option<usize>,
    /// `OMP_DISPLAY_ENV`.
    pub display_env: Option<DisplayEnv>,
}

/// `OMP_DISPLAY_ENV`: whether building a team prints the settings in effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DisplayEnv {
    /// Print nothing (the default).
    #[default]
    False,
    /// Print the OpenMP settings.
    True,
    /// Print the OpenMP and the `PHALANX_*` settings.
    Verbose,
}

impl Config {
    /// Read the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read variables through `lookup` (name → value), e.g. a table in a test.
    pub fn from_lookup<L: Fn(&str) -> Option<String>>(lookup: L) -> Result<Config, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut c = Config::default();
        if let Some(v) = get("OMP_NUM_THREADS") {
            c.num_threads = Some(parse_num_threads(&v)?);
        }
        if let Some(v) = get("OMP_SCHEDULE") {
            c.schedule = Some(parse_schedule("OMP_SCHEDULE", &v)?);
        }
        if let Some(v) = get("OMP_WAIT_POLICY") {
            c.wait_policy = Some(parse_omp_wait_policy(&v)?);
        }
        if let Some(v) = get("PHALANX_SPIN_US") {
            c.spin = Some(parse_spin_us(&v)?);
        }
        if let Some(v) = get("PHALANX_WAIT_POLICY") {
            let p = parse_phalanx_wait_policy(&v, c.spin)?;
            c.wait_policy = Some(WaitPolicySetting::Exactly(p));
        }
        if let Some(v) = get("PHALANX_BARRIER") {
            c.barrier = Some(parse_barrier(&v)?);
        }
        if let Some(v) = get("OMP_CANCELLATION") {
            c.cancellation = Some(parse_cancellation(&v)?);
        }
        if let Some(v) = get("OMP_PLACES") {
            c.places = Some(parse_places(&v)?);
            c.proc_bind = Some(ProcBind::True);
        }
        if let Some(v) = get("OMP_PROC_BIND") {
            c.proc_bind = Some(parse_proc_bind(&v)?);
        }
        if let Some(v) = get("OMP_STACKSIZE") {
            c.stack_size = Some(parse_stack_size(&v)?);
        }
        if let Some(v) = get("OMP_DYNAMIC") {
            c.dynamic = Some(parse_bool("OMP_DYNAMIC", &v)?);
        }
        if let Some(v) = get("OMP_THREAD_LIMIT") {
            c.thread_limit = Some(parse_positive("OMP_THREAD_LIMIT", &v)?);
        }
        if let Some(v) = get("OMP_MAX_ACTIVE_LEVELS") {
            c.max_active_levels = Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| ConfigError::env("OMP_MAX_ACTIVE_LEVELS", &v, "expected a non-negative integer"))?,
            );
        }
        if let Some(v) = get("OMP_DISPLAY_ENV") {
            c.display_env = Some(match v.trim().to_ascii_lowercase().as_str() {
                "true" => DisplayEnv::True,
                "false" => DisplayEnv::False,
                "verbose" => DisplayEnv::Verbose,
                _ => return Err(ConfigError::env("OMP_DISPLAY_ENV", &v, "expected true, false or verbose")),
            });
        }
        Ok(c)
    }

    /// The team size: `OMP_NUM_THREADS`, else the number of CPUs.
    pub fn threads_or_default(&self) -> usize {
        self.num_threads.unwrap_or_else(num_cpus::get).max(1)
    }

    /// The wait policy for a team of `threads`: the variables' choice, else
    /// `Hybrid` with `PHALANX_SPIN_US` when only that is set, else the
    /// default ([`WaitPolicy::Predictive`]).
    pub fn wait_policy_for(&self, threads: usize) -> WaitPolicy {
        match self.wait_policy {
            Some(WaitPolicySetting::Exactly(p)) => p,
            Some(WaitPolicySetting::Active) if wait::oversubscribed(threads) => WaitPolicy::SpinYield,
            Some(WaitPolicySetting::Active) => WaitPolicy::Spin,
            None => match self.spin {
                Some(spin) => WaitPolicy::Hybrid { spin },
                None => WaitPolicy::default(),
            },
        }
    }
}

/// `OMP_NUM_THREADS`: a positive integer; of a comma-separated list (the
/// OpenMP nesting form) the first entry counts.
pub(crate) fn parse_num_threads(v: &str) -> Result<usize, ConfigError> {
    let first = v.split(',').next().unwrap_or("").trim();
    match first.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::env("OMP_NUM_THREADS", v, "expected a positive integer")),
    }
}

const SCHEDULE_EXPECTED: &str = "expected static, dynamic, guided or auto, optionally followed by ,chunk";

/// A schedule string as `OMP_SCHEDULE` holds it; errors name `var`.
pub(crate) fn parse_schedule(var: &str, v: &str) -> Result<Schedule, ConfigError> {
    let bad = |why: &str| ConfigError::env(var, v, why);
    let lower = v.trim().to_ascii_lowercase();
    let body = lower.strip_prefix("monotonic:").or_else(|| lower.strip_prefix("nonmonotonic:")).unwrap_or(&lower);
    let (kind, chunk) = match body.split_once(',') {
        Some((k, c)) => (k.trim(), Some(c.trim())),
        None => (body.trim(), None),
    };
    let chunk = match chunk {
        None => None,
        Some(c) => match c.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(bad("the chunk must be a positive integer")),
        },
    };
    Ok(match (kind, chunk) {
        ("static", None) | ("auto", None) => Schedule::Static,
        ("static", Some(c)) => Schedule::StaticChunk(c),
        ("dynamic", c) => Schedule::Dynamic(c.unwrap_or(1)),
        ("guided", c) => Schedule::Guided(c.unwrap_or(1)),
        ("auto", Some(_)) => return Err(bad("auto takes no chunk")),
        _ => return Err(bad(SCHEDULE_EXPECTED)),
    })
}

/// `OMP_CANCELLATION`: `true` or `false`, any case.
pub fn parse_cancellation(v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::env("OMP_CANCELLATION", v, "expected true or false")),
    }
}

/// `OMP_WAIT_POLICY`: `active` or `passive`, any case.
pub(crate) fn parse_omp_wait_policy(v: &str) -> Result<WaitPolicySetting, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "active" => Ok(WaitPolicySetting::Active),
        "passive" => Ok(WaitPolicySetting::Exactly(WaitPolicy::Block)),
        _ => Err(ConfigError::env("OMP_WAIT_POLICY", v, "expected active or passive")),
    }
}

/// `PHALANX_WAIT_POLICY`: a [`WaitPolicy::name`]. `spin` is the hybrid spin
/// budget (`PHALANX_SPIN_US`), if given.
pub(crate) fn parse_phalanx_wait_policy(v: &str, spin: Option<Duration>) -> Result<WaitPolicy, ConfigError> {
    let p = match v.trim().to_ascii_lowercase().as_str() {
        "spin" => WaitPolicy::Spin,
        "spin-yield" => WaitPolicy::SpinYield,
        "block" => WaitPolicy::Block,
        "hybrid" => WaitPolicy::Hybrid { spin: spin.unwrap_or(wait::DEFAULT_HYBRID_SPIN) },
        "adaptive" => WaitPolicy::Adaptive,
        "predictive" => WaitPolicy::Predictive,
        "sleep-poll" => WaitPolicy::SleepPoll { interval: Duration::from_millis(1) },
        _ => {
            return Err(ConfigError::env(
                "PHALANX_WAIT_POLICY",
                v,
                "expected spin, spin-yield, block, hybrid, adaptive, predictive or sleep-poll",
            ))
        }
    };
    Ok(p)
}

/// `PHALANX_SPIN_US`: a whole number of microseconds (0 allowed: block at once).
pub(crate) fn parse_spin_us(v: &str) -> Result<Duration, ConfigError> {
    v.trim()
        .parse::<u64>()
        .map(Duration::from_micros)
        .map_err(|_| ConfigError::env("PHALANX_SPIN_US", v, "expected a whole number of microseconds"))
}

/// `PHALANX_BARRIER`: `central`, `tree` or `condvar`, any case.
pub(crate) fn parse_barrier(v: &str) -> Result<BarrierKind, ConfigError> {
    let lower = v.trim().to_ascii_lowercase();
    BarrierKind::ALL
        .into_iter()
        .find(|k| k.name() == lower)
        .ok_or_else(|| ConfigError::env("PHALANX_BARRIER", v, "expected central, tree or condvar"))
}

/// `OMP_STACKSIZE`: a size in bytes with an optional `B`, `K`, `M` or `G`
/// suffix (any case); no suffix means kilobytes, as OpenMP says.
pub(crate) fn parse_stack_size(v: &str) -> Result<usize, ConfigError> {
    let bad = || ConfigError::env("OMP_STACKSIZE", v, "expected a positive size such as 512K, 4M or 1G");
    let t = v.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_lowercase().as_str() {
        "b" => 0,
        "" | "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return Err(bad()),
    };
    match digits.parse::<usize>() {
        Ok(n) if n > 0 => n.checked_mul(1 << shift).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// A `true` / `false` variable, any case.
fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::env(var, v, "expected true or false")),
    }
}

/// A positive integer variable.
fn parse_positive(var: &str, v: &str) -> Result<usize, ConfigError> {
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::env(var, v, "expected a positive integer")),
    }
}
