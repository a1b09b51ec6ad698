//! `opc_handle`: the Manage API as a C call, and `opc_response`.

use std::ffi::{c_char, CString};

use zeroize::Zeroizing;

use super::boundary::{ffi_boundary, Failure, FfiResult};
use super::last_error;
use super::status::opc_status;
use super::store::{opc_store, store_ref};
use super::strings::{optional, out_param, required};
use crate::manage::{self, Request, Response};

/// An HTTP-shaped response from `opc_handle` (opaque): a status, headers with lowercase names,
/// and a NUL-terminated JSON body. Release it with `opc_response_free`.
///
/// Thread-safety: immutable once returned, so any thread may read it, and several threads may
/// read it at once; it must not be read while or after it is freed.
pub struct opc_response {
    _private: [u8; 0],
}

/// What an `opc_response` handle points to.
struct ResponseData {
    status: u16,
    /// The body followed by one NUL (JSON never contains a NUL byte). Wiped when freed: the
    /// response to a create holds a secret.
    body: Zeroizing<Vec<u8>>,
    headers: Vec<(CString, CString)>,
}

impl ResponseData {
    fn from_response(response: Response) -> FfiResult<ResponseData> {
        let source = Zeroizing::new(response.body);
        let mut body = Zeroizing::new(Vec::with_capacity(source.len() + 1));
        body.extend_from_slice(&source);
        body.push(0);
        if body[..body.len() - 1].contains(&0) {
            return Err(Failure::internal("the response body contains a NUL byte"));
        }
        let headers = response
            .headers
            .into_iter()
            .map(|(name, value)| Ok((CString::new(name)?, CString::new(value)?)))
            .collect::<Result<Vec<_>, std::ffi::NulError>>()
            .map_err(|_| Failure::internal("a response header contains a NUL byte"))?;
        Ok(ResponseData {
            status: response.status,
            body,
            headers,
        })
    }
}

/// # Safety
/// `p` is NULL or a live response from `opc_handle`.
unsafe fn data<'a>(p: *const opc_response, entry: &str) -> Option<&'a ResponseData> {
    // SAFETY: a non-NULL response is a `Box<ResponseData>` from `opc_handle`, not yet freed.
    let data = unsafe { p.cast::<ResponseData>().as_ref() };
    if data.is_none() {
        last_error::set(&format!("{entry}: response is NULL"));
    }
    data
}

/// Serves one Manage API request (`/manage/...` or `/api/manage/...`), exactly as the HTTP
/// server does: authentication from the `openpanel-client-id` / `openpanel-client-secret`
/// headers, rate limiting, routing, JSON bodies, status codes and error bodies.
///
/// - `method`: `GET`, `POST`, `PATCH`, `DELETE` (any case). Required, UTF-8.
/// - `target`: path and optional query, e.g. `/manage/clients?projectId=my-project`.
///   Required, UTF-8.
/// - `header_names`, `header_values`: `header_count` parallel arrays of UTF-8 strings (names
///   match case-insensitively). Either may be NULL only when `header_count` is 0; no element
///   may be NULL.
/// - `body`, `body_len`: the request body (need not be NUL-terminated). `body` may be NULL only
///   when `body_len` is 0. A body that is not UTF-8 JSON is answered with a 400 response.
/// - `out_response`: receives the response on success (untouched otherwise). Required.
///
/// Returns `OPC_OK` whenever a response was produced, including 4xx and 5xx responses. A
/// non-OK status means no response could be made (a NULL argument, invalid UTF-8 in the
/// method, target or a header, a length too large to be a buffer). After a 5xx response,
/// `opc_last_error_message()` holds the internal cause for the host's log (never sent to
/// clients, never a secret); after any other response it is "".
///
/// Ownership: inputs are only read during the call. The caller owns `*out_response` and
/// releases it with `opc_response_free`.
///
/// Thread-safety: any thread, concurrently with any other call on the same store.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `header_names` and
/// `header_values` are NULL or point to `header_count` pointers; `body` is NULL or points to
/// `body_len` readable bytes; `out_response` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_handle(
    store: *mut opc_store,
    method: *const c_char,
    target: *const c_char,
    header_names: *const *const c_char,
    header_values: *const *const c_char,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    out_response: *mut *mut opc_response,
) -> opc_status {
    ffi_boundary!("opc_handle", {
        let args = HandleArgs {
            store,
            source: std::ptr::null(),
            method,
            target,
            header_names,
            header_values,
            header_count,
            body,
            body_len,
            out_response,
        };
        unsafe { handle(args) }
    })
}

/// `opc_handle` for a host that knows the caller's network address: `source` (e.g.
/// `"203.0.113.7"`, UTF-8, NULL = unknown) feeds the failed-attempt throttle, which refuses
/// more than 100 failed verifications per source per minute without running argon2. Every
/// other argument, the result and ownership are as for `opc_handle`.
///
/// # Safety
/// As `opc_handle`; `source` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_handle_from(
    store: *mut opc_store,
    source: *const c_char,
    method: *const c_char,
    target: *const c_char,
    header_names: *const *const c_char,
    header_values: *const *const c_char,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    out_response: *mut *mut opc_response,
) -> opc_status {
    ffi_boundary!("opc_handle_from", {
        let args = HandleArgs {
            store,
            source,
            method,
            target,
            header_names,
            header_values,
            header_count,
            body,
            body_len,
            out_response,
        };
        unsafe { handle(args) }
    })
}

struct HandleArgs {
    store: *mut opc_store,
    source: *const c_char,
    method: *const c_char,
    target: *const c_char,
    header_names: *const *const c_char,
    header_values: *const *const c_char,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    out_response: *mut *mut opc_response,
}

/// # Safety
/// As `opc_handle_from`.
unsafe fn handle(a: HandleArgs) -> FfiResult {
    let store = unsafe { store_ref(a.store) }?;
    let source = unsafe { optional(a.source, "source") }?;
    let method = unsafe { required(a.method, "method") }?;
    let target = unsafe { required(a.target, "target") }?;
    let names = unsafe { array(a.header_names, a.header_count, "header_names") }?;
    let values = unsafe { array(a.header_values, a.header_count, "header_values") }?;
    let mut headers = Vec::with_capacity(a.header_count);
    for (i, (&name, &value)) in names.iter().zip(values).enumerate() {
        let name = unsafe { element(name, "header_names", i) }?;
        let value = unsafe { element(value, "header_values", i) }?;
        headers.push((name, value));
    }
    let body = unsafe { array(a.body, a.body_len, "body") }?;
    let out = out_param(a.out_response, "out_response")?;

    let request = Request {
        method,
        target,
        headers: &headers,
        body,
        source,
    };
    let mut response = manage::handle(store, &request);
    let internal = response.internal_error.take();
    let data = ResponseData::from_response(response)?;
    out.write(Box::into_raw(Box::new(data)).cast());
    if let Some(cause) = internal {
        last_error::set(&cause);
    }
    Ok(())
}

/// Element `i` of a string array argument (named only when it is refused).
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn element<'a>(p: *const c_char, array: &str, i: usize) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(Failure::null(&format!("{array}[{i}]")));
    }
    unsafe { optional(p, "") }
        .map_err(|_| Failure::utf8(&format!("{array}[{i}]")))
        .map(|s| s.unwrap_or_default())
}

/// A caller's `(pointer, length)` as a slice; NULL is allowed only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable, initialized elements that outlive `'a`.
unsafe fn array<'a, T>(p: *const T, len: usize, argument: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(argument));
    }
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!(
            "the length given for {argument} is too large"
        )));
    }
    // SAFETY: non-NULL, length in range, and the caller promises `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The response's HTTP status (200, 400, 401, 404, 429, …); 0 when `response` is NULL.
///
/// # Safety
/// `response` is NULL or a live response from `opc_handle`.
#[no_mangle]
pub unsafe extern "C" fn opc_response_status(response: *const opc_response) -> u16 {
    ffi_boundary!("opc_response_status", 0, {
        unsafe { data(response, "opc_response_status") }.map_or(0, |d| d.status)
    })
}

/// The response body: NUL-terminated UTF-8 JSON. NULL when `response` is NULL.
///
/// Ownership: owned by the response; valid until `opc_response_free`. Never free it.
///
/// # Safety
/// `response` is NULL or a live response from `opc_handle`.
#[no_mangle]
pub unsafe extern "C" fn opc_response_body(response: *const opc_response) -> *const c_char {
    ffi_boundary!("opc_response_body", std::ptr::null(), {
        unsafe { data(response, "opc_response_body") }
            .map_or(std::ptr::null(), |d| d.body.as_ptr().cast())
    })
}

/// The body's length in bytes, without the terminating NUL; 0 when `response` is NULL.
///
/// # Safety
/// `response` is NULL or a live response from `opc_handle`.
#[no_mangle]
pub unsafe extern "C" fn opc_response_body_len(response: *const opc_response) -> usize {
    ffi_boundary!("opc_response_body_len", 0, {
        unsafe { data(response, "opc_response_body_len") }.map_or(0, |d| d.body.len() - 1)
    })
}

/// The value of the response header `name` (matched case-insensitively, e.g.
/// `"content-type"`, `"x-ratelimit-remaining"`, `"retry-after"`), or NULL when the response
/// has no such header. Also NULL when `response` or `name` is NULL or `name` is not UTF-8
/// (recorded in `opc_last_error_message()`).
///
/// Ownership: owned by the response; valid until `opc_response_free`. Never free it.
///
/// # Safety
/// `response` is NULL or a live response; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_response_header(
    response: *const opc_response,
    name: *const c_char,
) -> *const c_char {
    ffi_boundary!("opc_response_header", std::ptr::null(), {
        let Some(d) = (unsafe { data(response, "opc_response_header") }) else {
            return std::ptr::null();
        };
        let name = match unsafe { required(name, "name") } {
            Ok(name) => name,
            Err(failure) => {
                last_error::set(&format!("opc_response_header: {}", failure.message));
                return std::ptr::null();
            }
        };
        d.headers
            .iter()
            .find(|(n, _)| n.to_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .map_or(std::ptr::null(), |(_, v)| v.as_ptr())
    })
}

/// How many headers the response has; 0 when `response` is NULL.
///
/// # Safety
/// `response` is NULL or a live response from `opc_handle`.
#[no_mangle]
pub unsafe extern "C" fn opc_response_header_count(response: *const opc_response) -> usize {
    ffi_boundary!("opc_response_header_count", 0, {
        unsafe { data(response, "opc_response_header_count") }.map_or(0, |d| d.headers.len())
    })
}

/// The `index`-th header (0-based, in the order a server sends them): `*out_name` receives its
/// lowercase name and `*out_value` its value. For hosts that forward every header.
///
/// Returns `OPC_INVALID_ARGUMENT` when `index >= opc_response_header_count(response)`.
///
/// Ownership: both strings are owned by the response; valid until `opc_response_free`.
///
/// # Safety
/// `response` is NULL or a live response; `out_name` and `out_value` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_response_header_at(
    response: *const opc_response,
    index: usize,
    out_name: *mut *const c_char,
    out_value: *mut *const c_char,
) -> opc_status {
    ffi_boundary!("opc_response_header_at", {
        // SAFETY: as documented, NULL or a live response.
        let d = unsafe { response.cast::<ResponseData>().as_ref() }
            .ok_or_else(|| Failure::null("response"))?;
        let out_name = out_param(out_name, "out_name")?;
        let out_value = out_param(out_value, "out_value")?;
        let (name, value) = d.headers.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is past the last header (the response has {})",
                d.headers.len()
            ))
        })?;
        out_name.write(name.as_ptr());
        out_value.write(value.as_ptr());
        Ok(())
    })
}

/// Releases a response and every string obtained from it; its body is wiped first (the
/// response to a create holds a secret). NULL is a no-op.
///
/// # Safety
/// `response` is NULL or a response from `opc_handle` not yet freed; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn opc_response_free(response: *mut opc_response) {
    ffi_boundary!("opc_response_free", (), {
        if !response.is_null() {
            // SAFETY: a response is a leaked `Box<ResponseData>`, freed once.
            drop(unsafe { Box::from_raw(response.cast::<ResponseData>()) });
        }
    })
}
