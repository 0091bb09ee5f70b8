//! Helpers shared by the team tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Aborts the process with a message if not dropped within `secs` seconds:
/// a hung test fails instead of hanging.
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

pub fn watchdog(secs: u64, name: &'static str) -> Watchdog {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if d.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("watchdog: test `{name}` still running after {secs} s: it hangs");
        std::process::abort();
    });
    Watchdog { done }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// A small xorshift generator (no dependency).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Silence the default panic hook's output for the panics tests raise on
/// purpose (messages starting with "boom"), keeping others.
pub fn quiet_boom_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !msg.starts_with("boom") {
                prev(info);
            }
        }));
    });
}

/// Every schedule kind, with chunk 1 and with a random chunk `1..=9`.
pub fn schedules(rng: &mut Rng) -> Vec<phalanx::Schedule> {
    let c = 1 + rng.below(9) as usize;
    vec![
        phalanx::Schedule::Static,
        phalanx::Schedule::StaticChunk(c),
        phalanx::Schedule::StaticChunk(1),
        phalanx::Schedule::Dynamic(c),
        phalanx::Schedule::Dynamic(1),
        phalanx::Schedule::Guided(c),
        phalanx::Schedule::Guided(1),
        phalanx::Schedule::Runtime,
        phalanx::Schedule::Auto,
    ]
}
