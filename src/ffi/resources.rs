//! Projects, clients and references through C: JSON in (the Manage API's request bodies,
//! parsed by the same code), JSON out (the resource reads, without the `{"data": …}` wrapper).
//! Every call is scoped to one organization, like the Rust API.

use std::ffi::c_char;

use serde_json::{Map, Value};

use super::boundary::{ffi_boundary, FfiResult};
use super::status::opc_status;
use super::store::{opc_store, store_ref};
use super::strings::{json_string, optional, out_param, required, OutParam};
use crate::manage::body;
use crate::{Error, Store};

/// A JSON request body as an object, or every problem with it.
fn object(json: &str) -> FfiResult<Map<String, Value>> {
    Ok(body::object(json.as_bytes()).map_err(Error::Validation)?)
}

/// The arguments of an entry point with a JSON body, decoded in the order each such entry
/// point checks them: `store`, `organization_id`, the resource's id (updates and rotations
/// only), `json`, `out_json`, then the body as an object.
struct BodyCall<'a> {
    store: &'a Store,
    org: &'a str,
    /// The resource's id; "" for a create.
    id: &'a str,
    body: Map<String, Value>,
    out: OutParam<*mut c_char>,
}

/// Decodes a [`BodyCall`]; `id` is the resource id's pointer and argument name, when the entry
/// point takes one.
///
/// # Safety
/// As the entry point's: `store` is NULL or open; strings are NULL or NUL-terminated.
unsafe fn body_call<'a>(
    store: *mut opc_store,
    organization_id: *const c_char,
    id: Option<(*const c_char, &str)>,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> FfiResult<BodyCall<'a>> {
    let store = unsafe { store_ref(store) }?;
    let org = unsafe { required(organization_id, "organization_id") }?;
    let id = match id {
        Some((p, argument)) => unsafe { required(p, argument) }?,
        None => "",
    };
    let json = unsafe { required(json, "json") }?;
    let out = out_param(out_json, "out_json")?;
    let body = object(json)?;
    Ok(BodyCall {
        store,
        org,
        id,
        body,
        out,
    })
}

/// A list filter: NULL and "" both mean "no filter", as `?projectId=` does in the Manage API.
fn filter(p: Option<&str>) -> Option<&str> {
    p.filter(|p| !p.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Projects

/// Creates a project in the organization, with its default `write` client (`First client`),
/// in one transaction.
///
/// `json`: the body of `POST /manage/projects`: `{"name", "domain"?, "cors"?, "crossDomain"?,
/// "types"?}`. `*out_json` receives the project read plus `"client": {"id", "secret"}` — the
/// only time that secret is shown.
///
/// Returns `OPC_INVALID_INPUT` (every offending field named in `opc_last_error_message()`),
/// `OPC_NOT_FOUND` for an unknown organization.
///
/// Ownership: free `*out_json` with `opc_string_free` (which also wipes the secret).
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_create(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_project_create", {
        let call = unsafe { body_call(store, organization_id, None, json, out_json) }?;
        let input = body::new_project(&call.body).map_err(Error::Validation)?;
        call.out
            .write(json_string(&call.store.create_project(call.org, &input)?)?);
        Ok(())
    })
}

/// A project of the organization as JSON, also while scheduled for deletion (with
/// `deleteAt`); `OPC_NOT_FOUND` once past `deleteAt` or when it is not in the organization.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_get(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_project_get", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(project_id, "project_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.get_project(org, id)?)?);
        Ok(())
    })
}

/// The organization's live projects (not those scheduled for deletion), newest first, as a
/// JSON array.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; `organization_id` is NULL or NUL-terminated; `out_json` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_list(
    store: *mut opc_store,
    organization_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_project_list", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.list_projects(org)?)?);
        Ok(())
    })
}

/// Updates a project. `json`: the body of `PATCH /manage/projects/{id}`: any of `"name"`,
/// `"domain"`, `"cors"`, `"crossDomain"`, `"allowUnsafeRevenueTracking"`. A successful update
/// of a project scheduled for deletion cancels the deletion. `*out_json` receives the updated
/// project.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_update(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_project_update", {
        let call = unsafe {
            body_call(
                store,
                organization_id,
                Some((project_id, "project_id")),
                json,
                out_json,
            )
        }?;
        let changes = body::project_changes(&call.body).map_err(Error::Validation)?;
        call.out.write(json_string(
            &call.store.update_project(call.org, call.id, &changes)?,
        )?);
        Ok(())
    })
}

/// Schedules a project for deletion after the store's grace period (24 h by default); its
/// clients are refused and it disappears once that time has passed. Repeating it keeps the
/// first schedule; updating the project cancels it.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_project_delete(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
) -> opc_status {
    ffi_boundary!("opc_project_delete", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(project_id, "project_id") }?;
        store.delete_project(org, id)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Clients

/// Creates an API client. `json`: the body of `POST /manage/clients` — `{"name",
/// "projectId"? ("" or null = organization-level), "type"? ("read", "write" (default),
/// "root")}` — plus `"ignoreCorsAndSecret"` (boolean, default false), which only the Rust and
/// C APIs accept. `*out_json` receives the client read plus `"secret"` — the only time it is
/// shown.
///
/// Returns `OPC_INVALID_INPUT` for bad fields or a `projectId` that is not a live project of
/// the organization.
///
/// Ownership: free `*out_json` with `opc_string_free` (which also wipes the secret).
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_create(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_create", {
        let call = unsafe { body_call(store, organization_id, None, json, out_json) }?;
        let input = body::new_client_trusted(&call.body).map_err(Error::Validation)?;
        call.out
            .write(json_string(&call.store.create_client(call.org, &input)?)?);
        Ok(())
    })
}

/// A client of the organization as JSON (never its secret).
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_get(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_get", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(client_id, "client_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.get_client(org, id)?)?);
        Ok(())
    })
}

/// The organization's clients, newest first, as a JSON array; only those of `project_id` when
/// it is neither NULL nor "" (`OPC_NOT_FOUND` when that project is not in the organization).
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_list(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_list", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let project = unsafe { optional(project_id, "project_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.list_clients(org, filter(project))?)?);
        Ok(())
    })
}

/// Updates a client. `json`: the body of `PATCH /manage/clients/{id}` — `{"name"?}`, with
/// `"type"` and `"projectId"` accepted only when equal to the stored values — plus
/// `"ignoreCorsAndSecret"` (boolean; Rust and C only). `*out_json` receives the updated client.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_update(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_update", {
        let call = unsafe {
            body_call(
                store,
                organization_id,
                Some((client_id, "client_id")),
                json,
                out_json,
            )
        }?;
        let changes = body::client_changes_trusted(&call.body).map_err(Error::Validation)?;
        call.out.write(json_string(
            &call.store.update_client(call.org, call.id, &changes)?,
        )?);
        Ok(())
    })
}

/// Deletes a client for good; it loses access at once for every handle in this process (and
/// within `cross_process_staleness_ms` in others). Returns `OPC_CONFLICT` for the
/// organization's last root client.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_client_delete(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
) -> opc_status {
    ffi_boundary!("opc_client_delete", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(client_id, "client_id") }?;
        store.delete_client(org, id)?;
        Ok(())
    })
}

/// Rotates a client's secret (docs/lifecycle.md#rotation). `json`: the body of
/// `POST /manage/clients/{id}/rotate` — `{"graceSeconds"?}`, an integer from 0 to 2592000
/// (30 days), default 0; `""` and `"{}"` rotate without grace. `*out_json` receives the client
/// read plus `"secret"` (the new secret — the only time it is shown) and
/// `"previousSecretExpiresAt"` (when the old secret stops working; null: it already has).
///
/// The old secret keeps working until `previousSecretExpiresAt` and not a moment longer;
/// rotating again ends any earlier grace at once, so at most two secrets are ever valid.
/// Every handle in this process forgets the old state at once, other processes within
/// `cross_process_staleness_ms`. Returns `OPC_INVALID_INPUT` for a bad `graceSeconds` (named
/// in `opc_last_error_message()`), `OPC_NOT_FOUND` for a client not in the organization.
///
/// Ownership: free `*out_json` with `opc_string_free` (which also wipes the secret).
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_client_rotate(
    store: *mut opc_store,
    organization_id: *const c_char,
    client_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_client_rotate", {
        let call = unsafe {
            body_call(
                store,
                organization_id,
                Some((client_id, "client_id")),
                json,
                out_json,
            )
        }?;
        let grace = body::grace_seconds(&call.body).map_err(Error::Validation)?;
        call.out.write(json_string(
            &call.store.rotate_client(call.org, call.id, grace)?,
        )?);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// References

/// Creates a reference. `json`: the body of `POST /manage/references`: `{"projectId",
/// "title", "description"?, "datetime"? (RFC 3339 with a zone, or YYYY-MM-DD; default now)}`.
/// `*out_json` receives the reference.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_create(
    store: *mut opc_store,
    organization_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_create", {
        let call = unsafe { body_call(store, organization_id, None, json, out_json) }?;
        let input = body::new_reference(&call.body).map_err(Error::Validation)?;
        call.out.write(json_string(
            &call.store.create_reference(call.org, &input)?,
        )?);
        Ok(())
    })
}

/// A reference of one of the organization's projects, as JSON.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_get(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_get", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(reference_id, "reference_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.get_reference(org, id)?)?);
        Ok(())
    })
}

/// The references of the organization's projects, newest first, as a JSON array; only those
/// of `project_id` when it is neither NULL nor "" (`OPC_NOT_FOUND` when that project is not in
/// the organization).
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_list(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_list", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let project = unsafe { optional(project_id, "project_id") }?;
        let out = out_param(out_json, "out_json")?;
        out.write(json_string(&store.list_references(org, filter(project))?)?);
        Ok(())
    })
}

/// Updates a reference. `json`: the body of `PATCH /manage/references/{id}`: any of
/// `"title"`, `"description"` (null or "" clears it), `"datetime"`. `*out_json` receives the
/// updated reference.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_update(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
    json: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_update", {
        let call = unsafe {
            body_call(
                store,
                organization_id,
                Some((reference_id, "reference_id")),
                json,
                out_json,
            )
        }?;
        let changes = body::reference_changes(&call.body).map_err(Error::Validation)?;
        call.out.write(json_string(
            &call.store.update_reference(call.org, call.id, &changes)?,
        )?);
        Ok(())
    })
}

/// Deletes a reference for good.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_reference_delete(
    store: *mut opc_store,
    organization_id: *const c_char,
    reference_id: *const c_char,
) -> opc_status {
    ffi_boundary!("opc_reference_delete", {
        let store = unsafe { store_ref(store) }?;
        let org = unsafe { required(organization_id, "organization_id") }?;
        let id = unsafe { required(reference_id, "reference_id") }?;
        store.delete_reference(org, id)?;
        Ok(())
    })
}
