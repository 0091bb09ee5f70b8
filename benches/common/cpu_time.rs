//! A criterion [`Measurement`] of process CPU time: every thread's user and
//! system time together, from `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`. With
//! it a bench reports the CPU a wait burns, not how long it lasted; put beside
//! the latency benches it shows the trade a wait policy makes.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;
use std::time::Duration;

/// Process CPU time (all threads).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime;

/// The CPU time this process has used so far.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live, writable timespec; CLOCK_PROCESS_CPUTIME_ID is
    // supported on every Linux and the BSDs and macOS.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed: {}", std::io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        process_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        process_cpu_time().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats CPU nanoseconds with a unit that says it is CPU time.
struct CpuFormatter;

/// (upper bound in ns, multiplier, unit) from small to large.
const UNITS: [(f64, f64, &str); 4] =
    [(1e3, 1.0, "ns cpu"), (1e6, 1e-3, "µs cpu"), (1e9, 1e-6, "ms cpu"), (f64::INFINITY, 1e-9, "s cpu")];

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let &(_, factor, unit) = UNITS.iter().find(|(bound, _, _)| typical_ns < *bound).unwrap_or(&UNITS[3]);
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(&self, _typical_ns: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        // Per CPU-second: elements (or bytes) divided by the CPU time.
        let (amount, unit) = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "B/cpu-s"),
            Throughput::Elements(n) => (n as f64, "elem/cpu-s"),
        };
        for v in values {
            *v = if *v > 0.0 { amount * 1e9 / *v } else { 0.0 };
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
