//! `opc_last_error_message`: the detail of this thread's last failure.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use super::boundary::ffi_boundary;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error (interior NULs, which no message of ours
/// contains, are replaced so the text is never lost).
pub(crate) fn set(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // During thread teardown the slot may be gone; there is no one left to read it then.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(text));
}

/// A copy of this thread's last error, or None when there is nothing to report; the caller
/// frees it with `opc_string_free`.
pub(crate) fn copy() -> Option<CString> {
    LAST_ERROR
        .try_with(|slot| slot.borrow().clone())
        .ok()
        .flatten()
        .filter(|s| !s.as_bytes().is_empty())
}

pub(crate) fn clear() {
    let _ = LAST_ERROR.try_with(|slot| slot.borrow_mut().take());
}

/// The detail of the calling thread's most recent failure, as UTF-8 text.
///
/// Every function returning `opc_status` replaces it: with the failure's detail when it fails,
/// with the empty string when it succeeds (exception: `opc_handle` and `opc_handle_from` leave
/// the internal cause of a 5xx response here, for the host's log). Functions returning a
/// pointer or number leave it alone unless they return their NULL/0 default because of a bad
/// argument or an internal error, which they record here.
///
/// The text never contains a secret and never reveals whether an id exists in another
/// organization.
///
/// Ownership: the pointer belongs to the library; never free it. It stays valid until this
/// thread's next opc_ call. Never NULL: "" when there is nothing to report.
///
/// Thread-safety: any thread; each thread sees only its own failures.
#[no_mangle]
pub extern "C" fn opc_last_error_message() -> *const c_char {
    ffi_boundary!("opc_last_error_message", c"".as_ptr(), {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ref().map(|s| s.as_ptr()))
            .ok()
            .flatten()
            .unwrap_or(c"".as_ptr())
    })
}
