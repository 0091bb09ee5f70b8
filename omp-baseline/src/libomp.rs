//! Running the same gcc-built kernels on LLVM's OpenMP runtime (libomp).
//!
//! libomp implements libgomp's `GOMP_*` entry points (and exports the symbol
//! versions gcc's code asks for), so a program linked against
//! `libgomp.so.1` runs on libomp when the dynamic loader finds libomp under
//! that name first. [`shim_dir`] makes a folder holding a symlink
//! `libgomp.so.1 -> .../libomp.so.5`; [`apply`] points a child process's
//! `LD_LIBRARY_PATH` at it. A process learns which runtime it really loaded
//! from [`loaded_runtime`] (its own `/proc/self/maps`), so a child that
//! silently fell back to libgomp is caught instead of mislabelled.
//!
//! Like `OMP_WAIT_POLICY`, the choice of library is made when the process is
//! loaded: it can only be changed for a child process.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Overrides the search for libomp: a path to `libomp.so.5` (or `libomp.so`).
pub const PATH_VAR: &str = "PHALANX_LIBOMP";

/// Where Debian/Ubuntu's `libomp5-<N>` packages put the library, newest
/// version first after sorting; plus the multiarch folder of unversioned
/// packages.
fn candidates() -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix("llvm-")?.parse::<u32>().ok()?;
            Some((version, e.path().join("lib").join("libomp.so.5")))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut v: Vec<PathBuf> = found.into_iter().map(|(_, p)| p).collect();
    v.push(PathBuf::from("/usr/lib/x86_64-linux-gnu/libomp.so.5"));
    v.push(PathBuf::from("/usr/lib/aarch64-linux-gnu/libomp.so.5"));
    v
}

/// The libomp shared library to use: `PHALANX_LIBOMP` if set, else the
/// newest installed one. `Err` says what was looked for.
pub fn find() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(PATH_VAR).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("{PATH_VAR}={} is not a file", p.display())) };
    }
    candidates().into_iter().find(|p| p.is_file()).ok_or_else(|| {
        "libomp not installed (looked for /usr/lib/llvm-*/lib/libomp.so.5; \
         apt-get install libomp5-14, or set PHALANX_LIBOMP)"
            .to_string()
    })
}

/// A folder under `parent` holding `libgomp.so.1 -> <libomp>`, made (or
/// refreshed) now. Returns the folder and the libomp it points at.
pub fn shim_dir(parent: &Path) -> Result<(PathBuf, PathBuf), String> {
    let lib = find()?;
    let dir = parent.join("libomp-as-libgomp");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let link = dir.join("libgomp.so.1");
    if std::fs::read_link(&link).ok().as_deref() != Some(lib.as_path()) {
        let _ = std::fs::remove_file(&link);
        symlink(&lib, &link)?;
    }
    Ok((dir, lib))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| format!("cannot link {} -> {}: {e}", link.display(), target.display()))
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> Result<(), String> {
    Err("the libomp shim needs symlinks and LD_LIBRARY_PATH (Unix only)".into())
}

/// Makes `cmd` load libomp from `dir` (a [`shim_dir`]) in place of libgomp:
/// `dir` goes first on its `LD_LIBRARY_PATH`.
pub fn apply<'c>(cmd: &'c mut Command, dir: &Path) -> &'c mut Command {
    let mut path = dir.as_os_str().to_owned();
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH").filter(|v| !v.is_empty()) {
        path.push(":");
        path.push(old);
    }
    cmd.env("LD_LIBRARY_PATH", path)
}

/// The OpenMP runtime library this process has mapped (read from
/// `/proc/self/maps`): the resolved path of the first mapping of a shared
/// library (`.so` in its name) whose file name starts with `libgomp` or
/// `libomp` (an executable called `libomp-...` does not count). `None` where there is no such file
/// (not Linux, or no OpenMP runtime loaded).
pub fn loaded_runtime() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let path = line.split_whitespace().nth(5)?;
        let name = Path::new(path).file_name()?.to_string_lossy().into_owned();
        let runtime = (name.starts_with("libgomp") || name.starts_with("libomp")) && name.contains(".so");
        runtime.then(|| PathBuf::from(path))
    })
}

/// A short name for a runtime library path: `libomp` (with the LLVM version
/// when the path says it, e.g. `libomp (LLVM 14)`) or `libgomp`.
pub fn describe(path: &Path) -> String {
    let s = path.to_string_lossy();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.starts_with("libomp") {
        match s.split('/').find_map(|c| c.strip_prefix("llvm-")) {
            Some(v) => format!("libomp (LLVM {v})"),
            None => "libomp".into(),
        }
    } else {
        "libgomp".into()
    }
}
