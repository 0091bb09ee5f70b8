//! One persistent thread that waits on a phalanx [`Gate`] while the timing
//! thread decides when to open it: the seed's "master fills the queue, then
//! releases the workers" step, reduced to its release.
//!
//! One episode:
//!
//! | step | timing thread | waiter |
//! |---|---|---|
//! | 1 | `gate.reset()` (the last round is over: step 6 was received) | blocked on its command channel |
//! | 2 | sends `Arm` | receives it, sends `Armed`, calls `gate.wait()` |
//! | 3 | receives `Armed`, then lets the [`Gap`] pass | waits as its policy says |
//! | 4 | `t_open = now`, `gate.open()` | |
//! | 5 | | `wait` returns, `t_seen = now`, sends `Seen(t_seen)` |
//! | 6 | receives it: latency `t_seen - t_open` | back to step 1 |
//!
//! Both timestamps come from the same monotonic clock, so their difference is
//! the open→observed latency. The gap makes the waiter's state at the open
//! well defined: a short gap catches spinning policies while they spin, a long
//! one finds `Hybrid` and `Adaptive` already blocked.

use phalanx::{Gate, WaitPolicy};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How the timing thread lets time pass between `Armed` and the open.
#[derive(Clone, Copy, Debug)]
pub enum Gap {
    /// Busy-wait this long (precise; for gaps under a sleep's granularity).
    Spin(Duration),
    /// `thread::sleep` this long (costs no CPU; for the CPU measurement).
    Sleep(Duration),
}

impl Gap {
    fn pass(self) {
        match self {
            Gap::Spin(d) => {
                let end = Instant::now() + d;
                while Instant::now() < end {
                    std::hint::spin_loop();
                }
            }
            Gap::Sleep(d) => thread::sleep(d),
        }
    }

    /// `spin-10us`, `sleep-2ms`...
    pub fn label(self) -> String {
        let (how, d) = match self {
            Gap::Spin(d) => ("spin", d),
            Gap::Sleep(d) => ("sleep", d),
        };
        if d.as_micros() % 1000 == 0 {
            format!("{how}-{}ms", d.as_millis())
        } else {
            format!("{how}-{}us", d.as_micros())
        }
    }
}

enum ToWaiter {
    /// Announce `Armed`, then wait on the gate.
    Arm,
    Stop,
}

enum FromWaiter {
    Armed,
    Seen(Instant),
}

/// A persistent waiter thread on one gate with one policy.
pub struct GateWaiter {
    gate: Arc<Gate>,
    policy: WaitPolicy,
    to: mpsc::Sender<ToWaiter>,
    from: mpsc::Receiver<FromWaiter>,
    handle: Option<JoinHandle<()>>,
}

impl GateWaiter {
    pub fn spawn(policy: WaitPolicy) -> Self {
        let gate = Arc::new(Gate::with_policy(policy));
        let (to, rx) = mpsc::channel();
        let (tx, from) = mpsc::channel();
        let g = Arc::clone(&gate);
        let handle = thread::Builder::new()
            .name(format!("bench-waiter-{policy}"))
            .spawn(move || {
                while let Ok(ToWaiter::Arm) = rx.recv() {
                    if tx.send(FromWaiter::Armed).is_err() {
                        return;
                    }
                    g.wait();
                    if tx.send(FromWaiter::Seen(Instant::now())).is_err() {
                        return;
                    }
                }
            })
            .expect("spawning the bench waiter thread");
        GateWaiter { gate, policy, to, from, handle: Some(handle) }
    }

    pub fn policy(&self) -> WaitPolicy {
        self.policy
    }

    /// One episode (see the module table); returns the open→observed latency.
    /// With `open_early` the gate is opened before the waiter is armed, so it
    /// never waits: the harness's own cost, for reference.
    pub fn episode(&self, gap: Gap, open_early: bool) -> Duration {
        self.gate.reset();
        if open_early {
            self.gate.open();
        }
        self.to.send(ToWaiter::Arm).expect("the bench waiter thread is gone");
        match self.from.recv() {
            Ok(FromWaiter::Armed) => {}
            _ => panic!("bench waiter ({}): expected Armed", self.policy),
        }
        gap.pass();
        let opened = Instant::now();
        self.gate.open();
        match self.from.recv() {
            Ok(FromWaiter::Seen(seen)) => seen.saturating_duration_since(opened),
            _ => panic!("bench waiter ({}): expected Seen", self.policy),
        }
    }

    /// `iters` episodes; the summed latency.
    pub fn run(&self, iters: u64, gap: Gap, open_early: bool) -> Duration {
        let _watch = super::watchdog(&format!("gate waiter {}", self.policy));
        (0..iters).map(|_| self.episode(gap, open_early)).sum()
    }
}

impl Drop for GateWaiter {
    fn drop(&mut self) {
        let _ = self.to.send(ToWaiter::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
