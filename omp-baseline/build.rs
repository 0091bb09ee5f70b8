//! Builds `c/epcc.c` with `-fopenmp -O2` and links libgomp, or, when the C
//! compiler cannot build OpenMP code, builds nothing and sets `cfg(omp_missing)`
//! so the crate compiles to stubs that report "unavailable".
//!
//! Set `PHALANX_OMP_DISABLE=1` to force the stub build (to test that path).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The probe program: needs `omp.h` and the OpenMP pragmas.
const PROBE: &str = "#include <omp.h>\nint phalanx_omp_probe(void) {\n    int n = 0;\n#pragma omp parallel\n    {\n#pragma omp atomic\n        n++;\n    }\n    return n + omp_get_max_threads();\n}\n";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=c/epcc.c");
    println!("cargo:rerun-if-env-changed=PHALANX_OMP_DISABLE");
    println!("cargo:rustc-check-cfg=cfg(omp_missing)");

    if env::var_os("PHALANX_OMP_DISABLE").is_some_and(|v| v != "0") {
        missing("PHALANX_OMP_DISABLE is set");
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    if let Err(why) = probe(&out) {
        missing(&why);
        return;
    }
    let gomp_dir = match libgomp_dir() {
        Ok(dir) => dir,
        Err(why) => {
            missing(&why);
            return;
        }
    };
    let built = cc::Build::new()
        .file("c/epcc.c")
        .flag("-fopenmp")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .try_compile("epcc");
    if let Err(e) = built {
        missing(&format!("compiling c/epcc.c with -fopenmp failed: {e}"));
        return;
    }
    if let Some(dir) = gomp_dir {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=gomp");
}

/// Reports why the baseline is left out and sets the cfg.
fn missing(why: &str) {
    println!("cargo:warning=phalanx-omp-baseline: no OpenMP C baseline ({why}); benchmarks will skip it");
    println!("cargo:rustc-cfg=omp_missing");
}

/// Compiles the probe with `-fopenmp`; `Err` says why it failed.
fn probe(out: &Path) -> Result<(), String> {
    let src = out.join("omp_probe.c");
    fs::write(&src, PROBE).map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    cc::Build::new()
        .file(&src)
        .flag("-fopenmp")
        .cargo_metadata(false)
        .warnings(false)
        .try_compile("omp_probe")
        .map_err(|e| format!("the C compiler rejects -fopenmp or <omp.h>: {e}"))
}

/// Where the compiler keeps `libgomp.so`: `Ok(Some(dir))` to add to the link
/// search path, `Ok(None)` when the compiler does not say (the linker's default
/// paths may still have it), `Err` when it positively is not there.
fn libgomp_dir() -> Result<Option<PathBuf>, String> {
    let compiler = cc::Build::new().get_compiler();
    let output = Command::new(compiler.path()).arg("-print-file-name=libgomp.so").output();
    let Ok(output) = output else {
        return Ok(None);
    };
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let path = PathBuf::from(&printed);
    if path.is_absolute() && path.exists() {
        return Ok(path.parent().map(Path::to_path_buf));
    }
    if compiler.is_like_gnu() && !compiler.is_like_clang() {
        return Err(format!("{} does not know libgomp.so (printed {printed:?})", compiler.path().display()));
    }
    Ok(None)
}
