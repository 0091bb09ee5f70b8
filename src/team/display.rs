//! `OMP_DISPLAY_ENV`: the settings a team is built with, printed to stderr
//! in libgomp's format.

use crate::barrier::BarrierKind;
use crate::config::{Config, Places, ProcBind};
use crate::wait::WaitPolicy;
use crate::worksharing::Schedule;
use std::fmt::Write;

/// The settings in effect for one team.
pub(super) struct Shown<'a> {
    pub(super) env: &'a Config,
    pub(super) n: usize,
    pub(super) policy: WaitPolicy,
    pub(super) kind: BarrierKind,
    pub(super) runtime: Schedule,
    pub(super) stack_size: Option<usize>,
    pub(super) bind: ProcBind,
    pub(super) places: &'a Places,
}

impl Shown<'_> {
    /// The block libgomp prints; `verbose` adds the `PHALANX_*` settings.
    pub(super) fn render(&self, verbose: bool) -> String {
        let mut s = String::from("OPENMP DISPLAY ENVIRONMENT BEGIN\n  _OPENMP = '201511'\n");
        let wait = if matches!(self.policy, WaitPolicy::Spin | WaitPolicy::SpinYield) { "ACTIVE" } else { "PASSIVE" };
        let places = if self.bind == ProcBind::False { String::new() } else { self.places.to_string() };
        let rows = [
            ("OMP_DYNAMIC", if self.env.dynamic == Some(true) { "TRUE".into() } else { "FALSE".into() }),
            ("OMP_NUM_THREADS", self.n.to_string()),
            ("OMP_SCHEDULE", self.runtime.to_string().to_ascii_uppercase()),
            ("OMP_PROC_BIND", self.bind.to_string().to_ascii_uppercase()),
            ("OMP_PLACES", places),
            ("OMP_STACKSIZE", self.stack_size.map_or("0".into(), |b| b.to_string())),
            ("OMP_WAIT_POLICY", wait.into()),
            ("OMP_THREAD_LIMIT", self.env.thread_limit.map_or(u32::MAX.to_string(), |t| t.to_string())),
            ("OMP_MAX_ACTIVE_LEVELS", self.env.max_active_levels.unwrap_or(1).to_string()),
        ];
        for (k, v) in rows {
            let _ = writeln!(s, "  {k} = '{v}'");
        }
        if verbose {
            let _ = writeln!(s, "  PHALANX_WAIT_POLICY = '{}'", self.policy);
            let _ = writeln!(s, "  PHALANX_BARRIER = '{}'", self.kind.name());
        }
        s.push_str("OPENMP DISPLAY ENVIRONMENT END\n");
        s
    }
}
