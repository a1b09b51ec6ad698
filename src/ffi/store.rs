//! `opc_store`: opening and closing a store, organizations (bootstrap), purge and the events
//! counter.

use std::ffi::c_char;

use super::boundary::{ffi_boundary, Failure, FfiResult};
use super::status::opc_status;
use super::strings::{json_string, optional, out_param, required};
use crate::{Options, Store};

/// An open opcore store (opaque). Create it with `opc_store_open`, release it with
/// `opc_store_close`.
///
/// Thread-safety: one handle serves every thread of the process; any number of opc_ calls may
/// use it concurrently. Several handles (and several processes) may open the same file.
///
/// Fork: a handle belongs to the process that opened it. Used in a child after `fork()`, every
/// call fails with `OPC_FORKED` (the child must open its own handle); `opc_store_close` in the
/// child releases nothing the parent still uses.
pub struct opc_store {
    _private: [u8; 0],
}

/// What an `opc_store` handle points to: the store and the process it was opened in.
struct StoreHandle {
    store: Store,
    opened_in: fork::Process,
}

/// The `Store` behind a handle, refused in a process that did not open it.
///
/// # Safety
/// `p` is NULL or a handle from `opc_store_open` that has not been closed.
pub(crate) unsafe fn store_ref<'a>(p: *const opc_store) -> FfiResult<&'a Store> {
    // SAFETY: a non-NULL handle is a `Box<StoreHandle>` from `opc_store_open`, still open.
    let handle =
        unsafe { p.cast::<StoreHandle>().as_ref() }.ok_or_else(|| Failure::null("store"))?;
    if handle.opened_in != fork::Process::current() {
        return Err(Failure::new(
            opc_status::OPC_FORKED,
            "this store handle was opened by the parent process and cannot be used after fork(); \
             open a new handle in this process",
        ));
    }
    Ok(&handle.store)
}

/// Which process a handle belongs to.
mod fork {
    #[cfg(target_os = "linux")]
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The process a handle was opened in: a fork count (bumped in every child by a
    /// `pthread_atfork` handler, so the check is one atomic load) on Linux, the process id
    /// elsewhere.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Process(u64);

    #[cfg(target_os = "linux")]
    static FORKS: AtomicU64 = AtomicU64::new(0);

    #[cfg(target_os = "linux")]
    extern "C" fn in_child() {
        FORKS.fetch_add(1, Ordering::Relaxed);
    }

    impl Process {
        /// Registers the fork handler (once per process, before the first handle exists).
        pub(super) fn watch() {
            #[cfg(target_os = "linux")]
            {
                static REGISTER: std::sync::Once = std::sync::Once::new();
                REGISTER.call_once(|| {
                    // SAFETY: the handler only touches an atomic, which is async-signal-safe.
                    unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
                });
            }
        }

        pub(super) fn current() -> Process {
            #[cfg(target_os = "linux")]
            {
                Process(FORKS.load(Ordering::Relaxed))
            }
            #[cfg(not(target_os = "linux"))]
            {
                Process(u64::from(std::process::id()))
            }
        }
    }
}

/// Opens the store at `path`, creating the file if it does not exist and migrating it forward,
/// then purges projects past their deletion time.
///
/// - `path`: file path (UTF-8, not empty). Required.
/// - `options_json`: NULL for the defaults, or a JSON object with any of `argon2`
///   (`{"m_cost","t_cost","p_cost"}`), `deletion_grace_seconds`, `audit_retention_days`
///   (default 90, 1 to 36500; docs/lifecycle.md#audit-log), `synchronous` (`"full"` or
///   `"normal"`), `rate_limits` (`{"track"|"export"|"insights"|"manage":
///   {"limit","window_seconds"}}`), `cross_process_staleness_ms`, `credential_cache_capacity`,
///   `busy_timeout_ms`, `access_token_ttl_seconds` (default 3600), `refresh_token_ttl_seconds`
///   (default 30 days), `authorization_code_ttl_seconds` (default and maximum 600),
///   `refresh_reuse_grace_seconds` (default 10, at most 300), `issuer` and
///   `authorization_endpoint` (docs/oauth.md). Unknown keys are an error
///   (`OPC_INVALID_OPTIONS`).
/// - `out_store`: receives the handle on success (untouched otherwise). Required.
///
/// Returns `OPC_OPEN_FAILED` (message naming the problem, file untouched) for a file that is
/// not SQLite, not an opcore store, from a newer opcore, or not writable.
///
/// Ownership: the caller owns the handle and releases it with `opc_store_close`.
///
/// # Safety
/// String arguments are NULL or NUL-terminated; `out_store` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_store_open(
    path: *const c_char,
    options_json: *const c_char,
    out_store: *mut *mut opc_store,
) -> opc_status {
    ffi_boundary!("opc_store_open", {
        let path = unsafe { required(path, "path") }?;
        let options_json = unsafe { optional(options_json, "options_json") }?;
        let out = out_param(out_store, "out_store")?;
        if path.is_empty() {
            return Err(Failure::invalid("path is empty"));
        }
        let options = match options_json {
            Some(json) => Options::from_json(json)?,
            None => Options::default(),
        };
        fork::Process::watch();
        let store = Store::open(path, options)?;
        let handle = StoreHandle {
            store,
            opened_in: fork::Process::current(),
        };
        out.write(Box::into_raw(Box::new(handle)).cast());
        Ok(())
    })
}

/// Closes a handle from `opc_store_open`. Other handles on the same file are unaffected.
///
/// NULL is a no-op. In a child process after `fork()`, the handle's memory is released but its
/// database connections are left alone (closing them would disturb the parent's).
///
/// Shutdown order: every call using this handle must have returned, and no thread may use it
/// afterwards. Responses and strings obtained through it stay valid (they are independent
/// allocations) and are still freed with their own `_free`.
///
/// # Safety
/// `store` is NULL or a handle from `opc_store_open` not yet closed; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn opc_store_close(store: *mut opc_store) {
    ffi_boundary!("opc_store_close", (), {
        if !store.is_null() {
            // SAFETY: a handle from `opc_store_open` is a leaked `Box<StoreHandle>`, closed once.
            let handle = unsafe { Box::from_raw(store.cast::<StoreHandle>()) };
            if handle.opened_in == fork::Process::current() {
                drop(handle);
            } else {
                // The connections (SQLite files, PostgreSQL sockets) are shared with the parent:
                // dropping them would close or checkpoint what the parent still uses.
                std::mem::forget(handle.store);
            }
        }
    })
}

/// Bootstrap: creates an organization named `name` and its first `root` client.
///
/// `out_json` receives
/// `{"organization":{"id","name","createdAt","updatedAt"},"client":{…client…,"secret":"sec_…"}}`.
/// This is the only time the root client's secret is ever shown.
///
/// Returns `OPC_INVALID_INPUT` for a name that is empty or longer than 255 characters.
///
/// Ownership: free `*out_json` with `opc_string_free` (which also wipes the secret).
///
/// # Safety
/// `store` is NULL or open; `name` is NULL or NUL-terminated; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_create(
    store: *mut opc_store,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_organization_create", {
        let store = unsafe { store_ref(store) }?;
        let name = unsafe { required(name, "name") }?;
        let out = out_param(out_json, "out_json")?;
        let created = store.create_organization(name)?;
        out.write(json_string(&created)?);
        Ok(())
    })
}

/// One organization as JSON: `{"id","name","createdAt","updatedAt"}`.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// As `opc_organization_create`.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_get(
    store: *mut opc_store,
    organization_id: *const c_char,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_organization_get", {
        let store = unsafe { store_ref(store) }?;
        let id = unsafe { required(organization_id, "organization_id") }?;
        let out = out_param(out_json, "out_json")?;
        let organization = store.get_organization(id)?;
        out.write(json_string(&organization)?);
        Ok(())
    })
}

/// Every organization in the store, oldest first, as a JSON array.
///
/// Ownership: free `*out_json` with `opc_string_free`.
///
/// # Safety
/// `store` is NULL or open; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_list(
    store: *mut opc_store,
    out_json: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_organization_list", {
        let store = unsafe { store_ref(store) }?;
        let out = out_param(out_json, "out_json")?;
        let organizations = store.list_organizations()?;
        out.write(json_string(&organizations)?);
        Ok(())
    })
}

/// Removes an organization and everything in it (projects, clients, references). Its clients
/// lose access at once.
///
/// # Safety
/// `store` is NULL or open; `organization_id` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn opc_organization_delete(
    store: *mut opc_store,
    organization_id: *const c_char,
) -> opc_status {
    ffi_boundary!("opc_organization_delete", {
        let store = unsafe { store_ref(store) }?;
        let id = unsafe { required(organization_id, "organization_id") }?;
        store.delete_organization(id)?;
        Ok(())
    })
}

/// Removes every project past its deletion time, with its clients and references (this also
/// runs when a store is opened). `*out_count` receives how many projects were removed.
///
/// # Safety
/// `store` is NULL or open; `out_count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_purge(store: *mut opc_store, out_count: *mut usize) -> opc_status {
    ffi_boundary!("opc_purge", {
        let store = unsafe { store_ref(store) }?;
        let out = out_param(out_count, "out_count")?;
        out.write(store.purge()?);
        Ok(())
    })
}

/// Adds `n` to the project's `eventsCount` atomically (safe from any number of threads and
/// processes at once); `*out_count` receives the new count.
///
/// Returns `OPC_NOT_FOUND` when the project is not a live project of the organization.
///
/// # Safety
/// `store` is NULL or open; the ids are NULL or NUL-terminated; `out_count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn opc_project_events_increment(
    store: *mut opc_store,
    organization_id: *const c_char,
    project_id: *const c_char,
    n: i64,
    out_count: *mut i64,
) -> opc_status {
    ffi_boundary!("opc_project_events_increment", {
        let store = unsafe { store_ref(store) }?;
        let organization_id = unsafe { required(organization_id, "organization_id") }?;
        let project_id = unsafe { required(project_id, "project_id") }?;
        let out = out_param(out_count, "out_count")?;
        out.write(store.increment_events_count(organization_id, project_id, n)?);
        Ok(())
    })
}
