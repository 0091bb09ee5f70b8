//! The libomp shim: naming, the symlink folder, and which runtime a process
//! has loaded. Running kernels on libomp is exercised by the epcc example
//! (`ci/examples.sh`), which checks the runtime its child loaded.

use phalanx_omp_baseline::{self as omp, libomp, Construct};
use std::path::Path;

#[test]
fn describe_names_the_runtime_from_its_path() {
    assert_eq!(libomp::describe(Path::new("/usr/lib/llvm-14/lib/libomp.so.5")), "libomp (LLVM 14)");
    assert_eq!(libomp::describe(Path::new("/usr/lib/x86_64-linux-gnu/libomp.so.5")), "libomp");
    assert_eq!(libomp::describe(Path::new("/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0")), "libgomp");
}

#[test]
fn this_process_runs_on_libgomp() {
    if !omp::available() {
        println!("skipped: the OpenMP baseline was built without OpenMP");
        return;
    }
    // Run a kernel so the runtime is surely mapped, then read the map.
    omp::run(Construct::Barrier, 1, 1, 0).expect("available");
    let loaded = libomp::loaded_runtime().expect("an OpenMP runtime is mapped");
    if std::env::var_os("LD_LIBRARY_PATH").is_some_and(|p| p.to_string_lossy().contains("libomp-as-libgomp")) {
        println!("skipped: this test process was started on the libomp shim ({})", loaded.display());
        return;
    }
    assert_eq!(libomp::describe(&loaded), "libgomp", "loaded {}", loaded.display());
}

#[test]
fn the_shim_folder_links_libgomp_so_1_to_libomp() {
    let Ok(lib) = libomp::find() else {
        println!("skipped: libomp is not installed");
        return;
    };
    let parent = std::env::temp_dir().join(format!("phalanx-libomp-shim-test-{}", std::process::id()));
    let (dir, target) = libomp::shim_dir(&parent).expect("the shim folder can be made");
    assert_eq!(target, lib);
    assert_eq!(std::fs::read_link(dir.join("libgomp.so.1")).expect("a symlink"), lib);
    // Made twice: the link is kept, not an error.
    libomp::shim_dir(&parent).expect("the shim folder can be made again");
    std::fs::remove_dir_all(&parent).expect("clean up");
}
