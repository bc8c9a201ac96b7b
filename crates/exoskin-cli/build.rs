//! Links the `exoskin` executable at a fixed address (`-no-pie`) on Linux.
//!
//! A position-independent executable of this size (the web app, the registry and every
//! model in one program) has about 35,000 relative relocations in 126 pages of read-only
//! data; the loader writes every one of them, page by page, before `main`. That took about
//! 1 ms of a 2.6 ms `exoskin --version`, and a fifth of a whole small simulation
//! (docs/benchmarks.md, "The Franz cell against the strongest SciPy loop"). Linked at a
//! fixed address, the executable needs none of them. What is given up is the random
//! placement of the executable's own code (shared libraries, heap and stack stay random),
//! a hardening measure against memory-corruption exploits; Go links its Linux executables
//! the same way by default. Build with `EXOSKIN_PIE=1` to keep a position-independent
//! executable.
fn main() {
    println!("cargo:rerun-if-env-changed=EXOSKIN_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let pie = std::env::var("EXOSKIN_PIE").is_ok_and(|v| v == "1");
    if linux && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
