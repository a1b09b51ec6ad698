//! Generates `include/opcore.h` from `src/ffi` with cbindgen (version pinned in Cargo.toml,
//! settings in cbindgen.toml).
//!
//! The header is committed. It is generated into OUT_DIR first and copied to `include/` only
//! when its content changed, so a build never touches the file needlessly, and a build from a
//! read-only source tree (a packaged crate) still succeeds. A header that cannot be generated
//! means `src/ffi` is broken, which fails the build.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=src/ffi");

    // A versioned SONAME, so a host linked against 0.x never loads an incompatible 1.x
    // (docs/distribution.md). The file cargo writes stays libopcore.so; the install script adds
    // the libopcore.so.0 link.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,libopcore.so.{}",
            soname_major()
        );
    }

    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    config.after_includes = Some(format!("{}{}", SYSTEM_INCLUDES, version_macros()));

    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("generating include/opcore.h from src/ffi failed: {e}"));

    let generated = out_dir.join("opcore.h");
    bindings.write_to_file(&generated);
    let fresh = fs::read(&generated).expect("the header just written to OUT_DIR");

    let committed = crate_dir.join("include/opcore.h");
    if fs::read(&committed).ok().as_deref() != Some(fresh.as_slice()) {
        let written = fs::create_dir_all(crate_dir.join("include"))
            .and_then(|()| fs::write(&committed, &fresh));
        if let Err(e) = written {
            println!(
                "cargo:warning=include/opcore.h is out of date and could not be rewritten ({e}); \
                 the current header is {}",
                generated.display()
            );
        }
    }
}

/// The SONAME's number: the package's major version (`libopcore.so.0` for the 0.x series;
/// docs/distribution.md says when it changes).
fn soname_major() -> String {
    env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo")
}

/// The header's system includes, left out when the host defines OPCORE_NO_SYSTEM_INCLUDES
/// (cffi's `cdef` cannot parse what the C library's headers expand to).
const SYSTEM_INCLUDES: &str = "\n#ifndef OPCORE_NO_SYSTEM_INCLUDES\n\
                               #include <stdbool.h>\n\
                               #include <stddef.h>\n\
                               #include <stdint.h>\n\
                               #endif\n";

/// `OPCORE_VERSION_*` macros from the package version, so the header always matches the
/// library it was generated with.
fn version_macros() -> String {
    let var = |name: &str| env::var(name).unwrap_or_else(|_| panic!("{name} is set by cargo"));
    format!(
        "\n/* The version of opcore this header belongs to; opc_version() returns the library's. */\n\
         #define OPCORE_VERSION_MAJOR {}\n\
         #define OPCORE_VERSION_MINOR {}\n\
         #define OPCORE_VERSION_PATCH {}\n\
         #define OPCORE_VERSION \"{}\"\n",
        var("CARGO_PKG_VERSION_MAJOR"),
        var("CARGO_PKG_VERSION_MINOR"),
        var("CARGO_PKG_VERSION_PATCH"),
        var("CARGO_PKG_VERSION"),
    )
}
