//! C strings in and out: NULL and UTF-8 checks for arguments, library-allocated results and
//! `opc_string_free`.

use std::ffi::{c_char, CStr, CString};
use std::io::Write;

use serde::Serialize;
use zeroize::Zeroize;

use super::boundary::{ffi_boundary, Failure, FfiResult};

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn required<'a>(p: *const c_char, argument: &str) -> FfiResult<&'a str> {
    unsafe { optional(p, argument) }?.ok_or_else(|| Failure::null(argument))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn optional<'a>(p: *const c_char, argument: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| Failure::utf8(argument))
}

/// A required out-parameter, checked before any work is done so that a missing one never
/// throws away a result (such as a secret shown once).
pub(crate) fn out_param<T>(p: *mut T, argument: &str) -> FfiResult<OutParam<T>> {
    if p.is_null() {
        Err(Failure::null(argument))
    } else {
        Ok(OutParam(p))
    }
}

/// A non-NULL out-parameter; written once, on success.
pub(crate) struct OutParam<T>(*mut T);

impl<T> OutParam<T> {
    /// Writes the result without reading (or dropping) what the caller's memory held.
    pub fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `out_param`); the caller promises it points to writable
        // memory for a `T`.
        unsafe { self.0.write(value) }
    }
}

/// Serializes `value` as JSON into a string the caller frees with `opc_string_free`.
///
/// The JSON is measured first and written into a buffer of exactly its size, so no
/// reallocation leaves a stray copy of a secret in freed memory.
pub(crate) fn json_string(value: &impl Serialize) -> FfiResult<*mut c_char> {
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, value)
        .map_err(|e| Failure::internal(format!("serializing the result failed: {e}")))?;
    let mut bytes = Vec::with_capacity(counter.0 + 1);
    serde_json::to_writer(&mut bytes, value)
        .map_err(|e| Failure::internal(format!("serializing the result failed: {e}")))?;
    bytes.push(0);
    c_string_from_vec(bytes)
}

/// A library-allocated copy of `text` for the caller to free with `opc_string_free`.
pub(crate) fn c_string_from_vec(bytes_with_nul: Vec<u8>) -> FfiResult<*mut c_char> {
    match CString::from_vec_with_nul(bytes_with_nul) {
        Ok(s) => Ok(s.into_raw()),
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            Err(Failure::internal("the result contains a NUL byte"))
        }
    }
}

struct ByteCounter(usize);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Frees a string returned by an opc_ function through a `char **` out-parameter. Its bytes
/// are overwritten with zeros first (such strings may hold a secret shown once).
///
/// NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string returned by opcore that has not been freed yet and whose bytes have
/// not been changed. Never pass it to the C library's `free`, and never pass other memory here.
///
/// Thread-safety: any thread, once per string.
#[no_mangle]
pub unsafe extern "C" fn opc_string_free(s: *mut c_char) {
    ffi_boundary!("opc_string_free", (), {
        if !s.is_null() {
            // SAFETY: the caller passes a pointer from `CString::into_raw`, freed once.
            let mut bytes = unsafe { CString::from_raw(s) }.into_bytes_with_nul();
            bytes.zeroize();
        }
    })
}
