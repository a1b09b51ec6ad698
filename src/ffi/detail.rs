//! The same entry points with the call's failure detail handed back with the call: the
//! `_ex` variants. A host that runs calls on worker threads (koffi's async calls, a thread
//! pool, `std::async`) reads each call's own detail from `*out_error`, whichever thread made
//! the call and whatever that thread ran since; `opc_last_error_message` keeps working too.
//!
//! Each variant takes the arguments of its entry point followed by `out_error`, and only
//! converts: it calls the entry point and copies that call's detail.

use std::ffi::c_char;

use super::boundary::with_detail;
use super::*;

/// `opc_store_open` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_store_open`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_store_open`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_store_open_ex(
    path: *const c_char,
    options_json: *const c_char,
    out_store: *mut *mut opc_store,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_store_open`'s contract.
    unsafe { with_detail(out_error, || opc_store_open(path, options_json, out_store)) }
}

/// `opc_organization_create` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_organization_create`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_organization_create`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_create_ex(
    store: *mut opc_store,
    name: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_organization_create`'s contract.
    unsafe { with_detail(out_error, || opc_organization_create(store, name, out_json)) }
}

/// `opc_organization_get` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_organization_get`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_organization_get`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_get_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_organization_get`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_organization_get(store, organization_id, out_json)
        })
    }
}

/// `opc_organization_list` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_organization_list`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_organization_list`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_list_ex(
    store: *mut opc_store,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_organization_list`'s contract.
    unsafe { with_detail(out_error, || opc_organization_list(store, out_json)) }
}

/// `opc_organization_delete` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_organization_delete`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_organization_delete`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_delete_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_organization_delete`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_organization_delete(store, organization_id)
        })
    }
}

/// `opc_purge` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_purge`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_purge`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_purge_ex(
    store: *mut opc_store,
    out_count: *mut usize,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_purge`'s contract.
    unsafe { with_detail(out_error, || opc_purge(store, out_count)) }
}

/// `opc_project_events_increment` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_events_increment`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_events_increment`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_events_increment_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    n: i64,
    out_count: *mut i64,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_events_increment`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_events_increment(store, organization_id, project_id, n, out_count)
        })
    }
}

/// `opc_handle` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_handle`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_handle`; `out_error` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn opc_handle_ex(
    store: *mut opc_store,
    method: *const c_char,
    target: *const c_char,
    header_names: *const *const c_char,
    header_values: *const *const c_char,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    out_response: *mut *mut opc_response,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_handle`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_handle(
                store,
                method,
                target,
                header_names,
                header_values,
                header_count,
                body,
                body_len,
                out_response,
            )
        })
    }
}

/// `opc_handle_from` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_handle_from`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_handle_from`; `out_error` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn opc_handle_from_ex(
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
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_handle_from`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_handle_from(
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
            )
        })
    }
}

/// `opc_authenticate` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_authenticate`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_authenticate`; `out_error` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn opc_authenticate_ex(
    store: *mut opc_store,
    family: opc_family_code,
    client_id: *const c_char,
    client_secret: *const c_char,
    origin: *const c_char,
    project_id: *const c_char,
    source: *const c_char,
    out_principal: *mut opc_principal,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_authenticate`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_authenticate(
                store,
                family,
                client_id,
                client_secret,
                origin,
                project_id,
                source,
                out_principal,
            )
        })
    }
}

/// `opc_authorize` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_authorize`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_authorize`; `out_error` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn opc_authorize_ex(
    store: *mut opc_store,
    client_id: *const c_char,
    redirect_uri: *const c_char,
    scope: *const c_char,
    code_challenge: *const c_char,
    code_challenge_method: *const c_char,
    state: *const c_char,
    subject: *const c_char,
    out_redirect_url: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_authorize`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_authorize(
                store,
                client_id,
                redirect_uri,
                scope,
                code_challenge,
                code_challenge_method,
                state,
                subject,
                out_redirect_url,
            )
        })
    }
}

/// `opc_token_verify` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_token_verify`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_token_verify`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_token_verify_ex(
    store: *mut opc_store,
    token: *const c_char,
    out_info: *mut opc_token_info,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_token_verify`'s contract.
    unsafe { with_detail(out_error, || opc_token_verify(store, token, out_info)) }
}

/// `opc_project_create` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_create`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_create`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_create_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_create`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_create(store, organization_id, json, out_json)
        })
    }
}

/// `opc_project_get` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_get`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_get`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_get_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_get`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_get(store, organization_id, project_id, out_json)
        })
    }
}

/// `opc_project_list` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_list`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_list`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_list_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_list`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_list(store, organization_id, out_json)
        })
    }
}

/// `opc_project_update` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_update`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_update`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_update_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_update`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_update(store, organization_id, project_id, json, out_json)
        })
    }
}

/// `opc_project_delete` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_project_delete`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_delete`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_delete_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_delete`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_delete(store, organization_id, project_id)
        })
    }
}

/// `opc_client_create` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_create`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_create`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_create_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_create`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_create(store, organization_id, json, out_json)
        })
    }
}

/// `opc_client_get` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_get`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_get`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_get_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_get`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_get(store, organization_id, client_id, out_json)
        })
    }
}

/// `opc_client_list` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_list`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_list`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_list_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_list`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_list(store, organization_id, project_id, out_json)
        })
    }
}

/// `opc_client_update` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_update`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_update`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_update_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_update`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_update(store, organization_id, client_id, json, out_json)
        })
    }
}

/// `opc_client_delete` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_delete`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_delete`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_delete_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_delete`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_delete(store, organization_id, client_id)
        })
    }
}

/// `opc_client_rotate` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_client_rotate`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_client_rotate`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_rotate_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_rotate`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_rotate(store, organization_id, client_id, json, out_json)
        })
    }
}

/// `opc_reference_create` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_reference_create`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_reference_create`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_create_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_create`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_create(store, organization_id, json, out_json)
        })
    }
}

/// `opc_reference_get` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_reference_get`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_reference_get`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_get_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_get`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_get(store, organization_id, reference_id, out_json)
        })
    }
}

/// `opc_reference_list` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_reference_list`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_reference_list`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_list_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_list`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_list(store, organization_id, project_id, out_json)
        })
    }
}

/// `opc_reference_update` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_reference_update`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_reference_update`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_update_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_update`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_update(store, organization_id, reference_id, json, out_json)
        })
    }
}

/// `opc_reference_delete` with this call's failure detail: every argument, the result, ownership and
/// thread-safety as for `opc_reference_delete`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call (the failure's detail; for `opc_handle` variants also the
///   internal cause of a 5xx response). Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_reference_delete`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_delete_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_delete`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_delete(store, organization_id, reference_id)
        })
    }
}
