//! `opc_handle` fed raw bytes through the C ABI: the method, target, header names and values
//! may be invalid UTF-8, and `{null}` stands for a NULL pointer. Valid UTF-8 must give `OPC_OK`
//! and a response that passes the same checks as `manage_handle` (and whose accessors agree with
//! each other); anything else must give a status and an error message, never a crash.

#![no_main]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

use libfuzzer_sys::fuzz_target;
use opcore::ffi::{
    opc_handle, opc_last_error_message, opc_response, opc_response_body, opc_response_body_len,
    opc_response_free, opc_response_header, opc_response_header_at, opc_response_header_count,
    opc_response_status, opc_status, opc_store, opc_store_close, opc_store_open,
};
use opcore::Store;
use opcore_fuzz::{check_response, parse, Fixture, Seen, OPTIONS_JSON, RUNS_PER_FIXTURE};

struct State {
    fixture: Fixture,
    /// A Rust handle on the same file, to read client types for the checks.
    reader: Store,
    handle: *mut opc_store,
    runs: u32,
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the handle came from opc_store_open and is closed once.
        unsafe { opc_store_close(self.handle) };
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn open() -> State {
    let (fixture, reader) = Fixture::new();
    let path = CString::new(fixture.path.to_str().expect("UTF-8 path")).expect("path");
    let options = CString::new(OPTIONS_JSON).expect("options");
    let mut handle = ptr::null_mut();
    // SAFETY: valid strings and out-parameter.
    let status = unsafe { opc_store_open(path.as_ptr(), options.as_ptr(), &mut handle) };
    assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
    State {
        fixture,
        reader,
        handle,
        runs: 0,
    }
}

fn last_error() -> String {
    // SAFETY: opc_last_error_message always returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(opc_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// The bytes as a C string (cut at the first NUL, as C would read them), or None for `{null}`.
fn c_string(bytes: &[u8]) -> Option<CString> {
    if bytes == b"{null}" {
        return None;
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Some(CString::new(&bytes[..end]).expect("no NUL"))
}

fn ptr_of(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: non-NULL strings from the response are NUL-terminated and live until freed.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .expect("response strings are UTF-8")
        .to_owned()
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|s| s.runs >= RUNS_PER_FIXTURE) {
            *cell = None;
            *cell = Some(open());
        }
        let state = cell.as_mut().expect("state");
        state.runs += 1;

        // What the C side reads: strings end at their first NUL.
        let raw = parse(data).substituted(&state.fixture).cut_at_nul();
        if raw.smuggles_secret(&state.fixture) {
            return;
        }
        let method = c_string(&raw.method);
        let target = c_string(&raw.target);
        let names: Vec<Option<CString>> = raw.headers.iter().map(|(n, _)| c_string(n)).collect();
        let values: Vec<Option<CString>> = raw.headers.iter().map(|(_, v)| c_string(v)).collect();
        let name_ptrs: Vec<*const c_char> = names.iter().map(ptr_of).collect();
        let value_ptrs: Vec<*const c_char> = values.iter().map(ptr_of).collect();
        // An empty body is passed as NULL with length 0 (allowed); a body that is exactly
        // `{null}` as NULL with its length (refused).
        let (body_ptr, body_len) = if raw.body.is_empty() {
            (ptr::null(), 0)
        } else if raw.body == b"{null}" {
            (ptr::null(), raw.body.len())
        } else {
            (raw.body.as_ptr(), raw.body.len())
        };
        let header_count = raw.headers.len();
        let (names_ptr, values_ptr) = if header_count == 0 {
            (ptr::null(), ptr::null())
        } else {
            (name_ptrs.as_ptr(), value_ptrs.as_ptr())
        };

        let types = state.fixture.client_types(&state.reader);
        let mut response: *mut opc_response = ptr::null_mut();
        // SAFETY: every pointer is NULL or valid for the stated length; the arrays hold
        // `header_count` pointers.
        let status = unsafe {
            opc_handle(
                state.handle,
                ptr_of(&method),
                ptr_of(&target),
                names_ptr,
                values_ptr,
                header_count,
                body_ptr,
                body_len,
                &mut response,
            )
        };

        let all_strings = [&method, &target]
            .into_iter()
            .chain(names.iter())
            .chain(values.iter())
            .collect::<Vec<_>>();
        let any_null =
            all_strings.iter().any(|s| s.is_none()) || (body_ptr.is_null() && body_len > 0);
        let all_utf8 = all_strings
            .iter()
            .all(|s| s.as_ref().is_none_or(|s| s.to_str().is_ok()));
        if status != opc_status::OPC_OK {
            assert!(response.is_null(), "out_response written on failure");
            assert!(
                any_null || !all_utf8,
                "{status:?} for a well-formed call: {}",
                last_error()
            );
            let explained = (any_null && status == opc_status::OPC_NULL_ARGUMENT)
                || (!all_utf8 && status == opc_status::OPC_INVALID_UTF8);
            assert!(explained, "{status:?}: {}", last_error());
            assert!(!last_error().is_empty(), "a failure without a message");
            return;
        }
        assert!(
            !any_null && all_utf8,
            "OPC_OK for a NULL or non-UTF-8 argument"
        );
        assert!(!response.is_null());
        assert_eq!(last_error(), "", "a message after a non-5xx response");

        // SAFETY: `response` is live until opc_response_free below.
        let (code, body, headers) = unsafe {
            let code = opc_response_status(response);
            let body_ptr = opc_response_body(response);
            let len = opc_response_body_len(response);
            let body = CStr::from_ptr(body_ptr).to_bytes().to_vec();
            assert_eq!(body.len(), len, "body length disagrees with the NUL");
            let count = opc_response_header_count(response);
            let mut headers = Vec::with_capacity(count);
            for i in 0..count {
                let (mut n, mut v) = (ptr::null(), ptr::null());
                let s = opc_response_header_at(response, i, &mut n, &mut v);
                assert_eq!(s, opc_status::OPC_OK);
                headers.push((text(n), text(v)));
            }
            let (mut n, mut v) = (ptr::null(), ptr::null());
            assert_eq!(
                opc_response_header_at(response, count, &mut n, &mut v),
                opc_status::OPC_INVALID_ARGUMENT
            );
            for (name, value) in &headers {
                let upper = CString::new(name.to_ascii_uppercase()).expect("name");
                let first = headers.iter().find(|(n, _)| n == name).expect("present");
                assert_eq!(
                    &text(opc_response_header(response, upper.as_ptr())),
                    &first.1
                );
                let _ = value;
            }
            opc_response_free(response);
            (code, body, headers)
        };
        check_response(
            &state.fixture,
            &types,
            &raw,
            &Seen {
                status: code,
                headers,
                body: &body,
            },
        );
    });
});
