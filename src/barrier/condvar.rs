//! Mutex + condvar barrier. PLACEHOLDER: delegates to the central barrier until
//! the condvar algorithm lands.

use super::central::Central;
use super::{Algorithm, Shared, Timeout};
use crate::wait::WaitStrategy;
use std::time::Instant;

pub(crate) struct CondvarBarrier(Central);

impl CondvarBarrier {
    pub(crate) fn new(n: usize) -> Self {
        CondvarBarrier(Central::new(n))
    }
}

impl Algorithm for CondvarBarrier {
    fn arrive_and_wait<W: WaitStrategy + ?Sized>(
        &self,
        id: Option<usize>,
        strategy: &W,
        deadline: Option<Instant>,
        shared: &Shared,
    ) -> Result<bool, Timeout> {
        self.0.arrive_and_wait(id, strategy, deadline, shared)
    }
    fn break_now<W: WaitStrategy + ?Sized>(&self, strategy: &W) {
        self.0.break_now(strategy)
    }
    fn is_broken(&self) -> bool {
        self.0.is_broken()
    }
    fn reset(&self) {
        self.0.reset()
    }
}
