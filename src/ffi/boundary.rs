//! The panic boundary every entry point runs inside, and the failure type entry points return
//! internally before it becomes an `opc_status` plus a thread-local message.

use std::any::Any;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::last_error;
use super::status::opc_status;
use crate::Error;

/// Why an entry point did not succeed: the status the host gets and the text
/// `opc_last_error_message` shows (never a secret, never whether an id exists elsewhere).
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: opc_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: opc_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn null(argument: &str) -> Failure {
        Failure::new(opc_status::OPC_NULL_ARGUMENT, format!("{argument} is NULL"))
    }

    pub fn utf8(argument: &str) -> Failure {
        Failure::new(
            opc_status::OPC_INVALID_UTF8,
            format!("{argument} is not valid UTF-8"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(opc_status::OPC_INVALID_ARGUMENT, message)
    }

    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::new(opc_status::OPC_INTERNAL, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let status = match &e {
            Error::Validation(_) => opc_status::OPC_INVALID_INPUT,
            Error::NotFound(_) => opc_status::OPC_NOT_FOUND,
            // Only writes made for a Manage API caller fail so (opc_handle answers them with a
            // 401); no entry point that returns this status acts for a client.
            Error::Unauthenticated => opc_status::OPC_NOT_FOUND,
            Error::Conflict(_) => opc_status::OPC_CONFLICT,
            Error::Options(_) => opc_status::OPC_INVALID_OPTIONS,
            Error::Open(_) => opc_status::OPC_OPEN_FAILED,
            Error::Busy => opc_status::OPC_BUSY,
            Error::Storage(_) | Error::Unavailable(_) => opc_status::OPC_STORAGE,
        };
        Failure::new(status, e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

/// Runs the body of an entry point that returns `opc_status`: clears this thread's last error,
/// runs `body`, records the failure message if any, and turns a panic into `OPC_PANIC`.
pub(crate) fn status_call(entry: &str, body: impl FnOnce() -> FfiResult) -> opc_status {
    last_error::clear();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => opc_status::OPC_OK,
        Ok(Err(failure)) => {
            last_error::set(&failure.message);
            failure.status
        }
        Err(payload) => {
            discard(payload);
            last_error::set(&panic_message(entry));
            opc_status::OPC_PANIC
        }
    }
}

/// Runs the body of an entry point that returns a value (a pointer, a number): a panic returns
/// the documented `default` and is recorded as this thread's last error. The last error is
/// otherwise left alone, so reading a response never hides the failure that preceded it.
pub(crate) fn value_call<T>(entry: &str, default: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            discard(payload);
            last_error::set(&panic_message(entry));
            default
        }
    }
}

/// Runs `call` (an entry point returning `opc_status`) and, when `out_error` is not NULL,
/// stores a copy of the detail the call left for this thread (NULL when it left none), for
/// the `_ex` variants.
///
/// # Safety
/// `out_error` is NULL or writable.
pub(crate) unsafe fn with_detail(
    out_error: *mut *mut c_char,
    call: impl FnOnce() -> opc_status,
) -> opc_status {
    let status = call();
    if !out_error.is_null() {
        let detail = catch_unwind(last_error::copy).unwrap_or(None);
        // SAFETY: non-NULL, and the caller promises it is writable.
        unsafe { out_error.write(detail.map_or(std::ptr::null_mut(), CString::into_raw)) };
    }
    status
}

fn panic_message(entry: &str) -> String {
    format!("{entry}: internal error (a panic was caught at the C boundary); please report it")
}

/// Drops a panic payload without letting a panicking `Drop` escape.
fn discard(payload: Box<dyn Any + Send>) {
    if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(nested);
    }
}

/// The one panic boundary around every entry point's body.
///
/// `ffi_boundary!("opc_x", { ... Ok(()) })` for functions returning `opc_status` (the body
/// returns `FfiResult`); `ffi_boundary!("opc_x", default, { ... })` for functions returning a
/// value, where `default` is what a caught panic returns.
macro_rules! ffi_boundary {
    ($entry:literal, $body:block) => {
        $crate::ffi::boundary::status_call($entry, move || $body)
    };
    ($entry:literal, $default:expr, $body:block) => {
        $crate::ffi::boundary::value_call($entry, $default, move || $body)
    };
}

pub(crate) use ffi_boundary;
