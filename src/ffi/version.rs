//! Version, and the test-only panic entry point.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use super::boundary::ffi_boundary;
#[cfg(feature = "test-panic")]
use super::status::opc_status;

/// The library's version, e.g. "0.1.0" (compare with `OPCORE_VERSION`, the header's).
///
/// Ownership: static storage; never free it. Never NULL. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn opc_version() -> *const c_char {
    ffi_boundary!("opc_version", VERSION.as_ptr(), { VERSION.as_ptr() })
}

/// The version of the SQLite compiled into the library, e.g. "3.50.2". It is opcore's own
/// copy, independent of (and never replaced by) any SQLite the host links: see
/// docs/distribution.md, "Symbol policy".
///
/// Ownership: static storage; never free it. Never NULL. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn opc_sqlite_version() -> *const c_char {
    ffi_boundary!("opc_sqlite_version", c"".as_ptr(), {
        static TEXT: OnceLock<CString> = OnceLock::new();
        TEXT.get_or_init(|| {
            CString::new(crate::store::sqlite::sqlite_version()).unwrap_or_default()
        })
        .as_ptr()
    })
}

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

/// Test-only (built with the `test-panic` feature): panics inside the boundary, which returns
/// `OPC_PANIC` and records the failure in `opc_last_error_message()`. Proves that no panic
/// crosses into C.
#[cfg(feature = "test-panic")]
#[no_mangle]
pub extern "C" fn opc_test_panic() -> opc_status {
    ffi_boundary!("opc_test_panic", {
        if std::hint::black_box(true) {
            panic!("opc_test_panic was called");
        }
        Ok(())
    })
}
