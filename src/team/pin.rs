//! Pinning worker threads to CPUs (`TeamBuilder::pin_threads`).

/// Pin the calling thread to CPU `i % cpus`. Best effort: if the OS refuses
/// (a cgroup that hides the CPU, say), the thread just stays unpinned.
#[cfg(target_os = "linux")]
pub(crate) fn pin_to_cpu(i: usize) {
    if cfg!(miri) {
        return; // Miri does not model CPU affinity.
    }
    let cpu = i % crate::wait::cores();
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; CPU_SET writes
    // inside it (cpu < CPU_SETSIZE for any realistic core count, checked
    // below); sched_setaffinity(0, ...) only reads the set and affects the
    // calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return;
        }
        libc::CPU_SET(cpu, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Pinning is Linux-only; elsewhere it does nothing.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_to_cpu(_i: usize) {}
