//! CPU time of this process (all threads), from `getrusage(RUSAGE_SELF)`.

use std::time::Duration;

/// User + system CPU time this process has used so far.
pub fn process_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data, so all-zero bytes are a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable `rusage`; RUSAGE_SELF is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}
