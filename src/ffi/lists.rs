//! Lists a page at a time through C (docs/behaviour.md#lists): the same rules as the Manage
//! API's `limit` and `cursor`, the same body (`{"data":[…],"nextCursor":"…"}`).
//!
//! Thread-safety: like every call on an `opc_store`, these may run on any thread, concurrently.

use std::ffi::c_char;

use super::boundary::{ffi_boundary, with_detail, FfiResult};
use super::status::opc_status;
use super::store::{opc_store, store_ref};
use super::strings::{json_string, optional, out_param, required};
use crate::manage::ListBody;
use crate::store::ListOptions;

/// `limit` 0: no limit; `cursor` NULL or "": the first page.
unsafe fn options(limit: u32, cursor: *const c_char) -> FfiResult<ListOptions> {
    let cursor = unsafe { optional(cursor, "cursor") }?;
    Ok(ListOptions {
        limit: (limit != 0).then_some(limit),
        cursor: cursor.filter(|c| !c.is_empty()).map(str::to_owned),
    })
}

/// One page of the organization's live projects, newest first: `*out_json` receives
/// `{"data":[…]}` plus `"nextCursor"` when `limit` is not 0 and more remain; pass that back as
/// `cursor` for the next page.
///
/// `limit`: 1–1000, or 0 for every remaining project. `cursor`: NULL or "" for the first page.
/// A `limit` above 1000 or a cursor this list did not issue is `OPC_INVALID_INPUT`, the
/// parameter named in `opc_last_error_message()`.
///
/// Ownership: free `*out_json` with `opc_string_free`. Thread-safe.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_list_page(
    store: *mut opc_store,
    organization_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_project_list_page", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let options = unsafe { options(limit, cursor) }?;
        let out = out_param(out_json, "out_json")?;
        let page = store.list_projects_page(org, &options)?;
        out.write(json_string(&ListBody::of(&page))?);
        Ok(())
    })
}

/// One page of the organization's clients, newest first; only those of `project_id` when it
/// is neither NULL nor "" (`OPC_NOT_FOUND` when that project is not in the organization).
/// `limit`, `cursor` and `*out_json` as in `opc_project_list_page`.
///
/// Ownership: free `*out_json` with `opc_string_free`. Thread-safe.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_list_page(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_list_page", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let project = unsafe { optional(project_id, "project_id") }?.filter(|p| !p.is_empty());
        let options = unsafe { options(limit, cursor) }?;
        let out = out_param(out_json, "out_json")?;
        let page = store.list_clients_page(org, project, &options)?;
        out.write(json_string(&ListBody::of(&page))?);
        Ok(())
    })
}

/// One page of the references of the organization's projects, newest first; only those of
/// `project_id` when it is neither NULL nor "" (`OPC_NOT_FOUND` when that project is not in
/// the organization). `limit`, `cursor` and `*out_json` as in `opc_project_list_page`.
///
/// Ownership: free `*out_json` with `opc_string_free`. Thread-safe.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_list_page(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_list_page", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let project = unsafe { optional(project_id, "project_id") }?.filter(|p| !p.is_empty());
        let options = unsafe { options(limit, cursor) }?;
        let out = out_param(out_json, "out_json")?;
        let page = store.list_references_page(org, project, &options)?;
        out.write(json_string(&ListBody::of(&page))?);
        Ok(())
    })
}

/// `opc_project_list_page` with this call's failure detail: every argument, the result,
/// ownership and thread-safety as for `opc_project_list_page`.
///
/// - `out_error`: NULL (no detail wanted), or where to store the detail: `*out_error` is set
///   to NULL when the call left no detail, else to a copy of what `opc_last_error_message()`
///   shows right after the call. Free it with `opc_string_free`.
///
/// # Safety
/// As `opc_project_list_page`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_list_page_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_project_list_page`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_project_list_page(store, organization_id, limit, cursor, out_json)
        })
    }
}

/// `opc_client_list_page` with this call's failure detail: every argument, the result,
/// ownership and thread-safety as for `opc_client_list_page`; `out_error` as for
/// `opc_project_list_page_ex`.
///
/// # Safety
/// As `opc_client_list_page`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_list_page_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_client_list_page`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_client_list_page(store, organization_id, project_id, limit, cursor, out_json)
        })
    }
}

/// `opc_reference_list_page` with this call's failure detail: every argument, the result,
/// ownership and thread-safety as for `opc_reference_list_page`; `out_error` as for
/// `opc_project_list_page_ex`.
///
/// # Safety
/// As `opc_reference_list_page`; `out_error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_list_page_ex(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    limit: u32,
    cursor: *const c_char,
    out_json: *mut *mut c_char,
    out_error: *mut *mut c_char,
) -> opc_status {
    // SAFETY: the caller keeps `opc_reference_list_page`'s contract.
    unsafe {
        with_detail(out_error, || {
            opc_reference_list_page(store, organization_id, project_id, limit, cursor, out_json)
        })
    }
}
