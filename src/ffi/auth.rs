//! `opc_authenticate`: the hot path for hosts that serve the Track, Export and Insights APIs
//! themselves. No JSON and no allocation handed to the caller: the decision is written into a
//! caller-provided `opc_principal`.

use std::ffi::c_char;

use super::boundary::{ffi_boundary, Failure, FfiResult};
use super::status::opc_status;
use super::store::{opc_store, store_ref};
use super::strings::{optional, out_param};
use crate::auth::ratelimit::Decision;
use crate::{AuthError, AuthRequest, ClientType, Family, Principal};

/// Size in bytes of every id buffer in `opc_principal`, including the terminating NUL. Ids
/// opcore issues are at most 64 bytes (client ids are 36-character UUIDs), so every id fits.
pub const OPC_ID_SIZE: usize = 128;

/// Size in bytes of `opc_principal.message`, including the terminating NUL.
pub const OPC_MESSAGE_SIZE: usize = 128;

/// The API family a request belongs to; decides which client types may call it.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum opc_family {
    /// Event ingestion: `write` clients for their own project, `root` clients for any project
    /// of their organization.
    OPC_FAMILY_TRACK = 0,
    /// `read` clients for their own project, `root` clients for any project of their org.
    OPC_FAMILY_EXPORT = 1,
    /// `read` clients for their own project, `root` clients for any project of their org.
    OPC_FAMILY_INSIGHTS = 2,
    /// `root` clients only.
    OPC_FAMILY_MANAGE = 3,
}

/// A raw `opc_family` value as received from C, where any `uint32_t` can arrive.
pub type opc_family_code = u32;

/// An API client's access level.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum opc_client_type {
    /// No client: the request was refused.
    OPC_CLIENT_NONE = 0,
    OPC_CLIENT_READ = 1,
    OPC_CLIENT_WRITE = 2,
    OPC_CLIENT_ROOT = 3,
}

/// The outcome of `opc_authenticate`: who is calling, what they may reach and the rate-limit
/// decision, or why the request is refused, with everything the host's HTTP response needs.
///
/// Strings are NUL-terminated UTF-8 in fixed buffers inside the struct (no pointers, nothing to
/// free). An id field that does not apply is "".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct opc_principal {
    /// true: authenticated, authorized and within the rate limit; serve the request.
    pub allowed: bool,
    /// The HTTP status to answer with: 200 when allowed; 401 (bad or missing credentials, or a
    /// client type the family refuses), 403 (a project outside the client's scope) or 429
    /// (rate limit, or too many failed attempts) when refused.
    pub http_status: u16,
    /// When refused, the exact message for the response body, e.g. "Invalid client
    /// credentials", "You do not have access to this project", "Rate limit exceeded". "" when
    /// allowed. Never a secret; an unknown id and a wrong secret read the same.
    pub message: [c_char; OPC_MESSAGE_SIZE],
    /// The client's type (`OPC_CLIENT_NONE` when refused).
    pub client_type: opc_client_type,
    /// The client's id, lowercase (when allowed).
    pub client_id: [c_char; OPC_ID_SIZE],
    /// The client's organization (when allowed).
    pub organization_id: [c_char; OPC_ID_SIZE],
    /// The client's own project; "" for an organization-level client (or when refused).
    pub client_project_id: [c_char; OPC_ID_SIZE],
    /// The project this request may act on: the requested one when allowed, else the client's
    /// own; "" when neither applies.
    pub project_id: [c_char; OPC_ID_SIZE],
    /// true when the response must carry the `x-ratelimit-limit`, `x-ratelimit-remaining` and
    /// `x-ratelimit-reset` headers (allowed, or refused by the rate limit).
    pub has_rate_limit: bool,
    /// `x-ratelimit-limit`: requests allowed per window for this client and family.
    pub rate_limit: u32,
    /// `x-ratelimit-remaining`: requests left in the current window after this one.
    pub rate_remaining: u32,
    /// `x-ratelimit-reset`: seconds until the quota is full again.
    pub rate_reset_seconds: u64,
    /// true when the response must carry `retry-after` (a 429).
    pub has_retry_after: bool,
    /// `retry-after`: seconds until the next request can succeed.
    pub retry_after_seconds: u64,
}

impl opc_principal {
    /// Every field false, zero or "".
    pub const EMPTY: opc_principal = opc_principal {
        allowed: false,
        http_status: 0,
        message: [0; OPC_MESSAGE_SIZE],
        client_type: opc_client_type::OPC_CLIENT_NONE,
        client_id: [0; OPC_ID_SIZE],
        organization_id: [0; OPC_ID_SIZE],
        client_project_id: [0; OPC_ID_SIZE],
        project_id: [0; OPC_ID_SIZE],
        has_rate_limit: false,
        rate_limit: 0,
        rate_remaining: 0,
        rate_reset_seconds: 0,
        has_retry_after: false,
        retry_after_seconds: 0,
    };

    fn allowed(p: &Principal) -> FfiResult<opc_principal> {
        let mut out = opc_principal::EMPTY;
        out.allowed = true;
        out.http_status = 200;
        out.client_type = match p.client_type {
            ClientType::Read => opc_client_type::OPC_CLIENT_READ,
            ClientType::Write => opc_client_type::OPC_CLIENT_WRITE,
            ClientType::Root => opc_client_type::OPC_CLIENT_ROOT,
        };
        copy_id(&mut out.client_id, &p.client_id)?;
        copy_id(&mut out.organization_id, &p.organization_id)?;
        copy_id(
            &mut out.client_project_id,
            p.client_project_id.as_deref().unwrap_or(""),
        )?;
        copy_id(&mut out.project_id, p.project_id.as_deref().unwrap_or(""))?;
        out.set_rate(&p.rate);
        Ok(out)
    }

    fn refused(e: &AuthError) -> opc_principal {
        let mut out = opc_principal::EMPTY;
        out.http_status = e.status();
        copy_message(&mut out.message, &e.to_string());
        match e {
            AuthError::RateLimited(rate) => out.set_rate(rate),
            AuthError::Throttled {
                retry_after_seconds,
            } => {
                out.has_retry_after = true;
                out.retry_after_seconds = *retry_after_seconds;
            }
            _ => {}
        }
        out
    }

    fn set_rate(&mut self, rate: &Decision) {
        self.has_rate_limit = true;
        self.rate_limit = rate.limit;
        self.rate_remaining = rate.remaining;
        self.rate_reset_seconds = rate.reset_seconds;
        if let Some(retry) = rate.retry_after_seconds {
            self.has_retry_after = true;
            self.retry_after_seconds = retry;
        }
    }
}

fn copy_id(buffer: &mut [c_char; OPC_ID_SIZE], id: &str) -> FfiResult {
    if id.len() >= OPC_ID_SIZE || id.as_bytes().contains(&0) {
        return Err(Failure::internal(format!(
            "a stored id does not fit opc_principal (more than {} bytes)",
            OPC_ID_SIZE - 1
        )));
    }
    copy_bytes(buffer, id.as_bytes());
    Ok(())
}

/// Copies a message, cut at a character boundary if it would not fit.
fn copy_message(buffer: &mut [c_char; OPC_MESSAGE_SIZE], message: &str) {
    let mut end = message.len().min(OPC_MESSAGE_SIZE - 1);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    copy_bytes(buffer, &message.as_bytes()[..end]);
}

fn copy_bytes(buffer: &mut [c_char], bytes: &[u8]) {
    for (slot, &b) in buffer.iter_mut().zip(bytes) {
        *slot = b as c_char;
    }
    buffer[bytes.len()] = 0;
}

fn family(code: opc_family_code) -> FfiResult<Family> {
    match code {
        0 => Ok(Family::Track),
        1 => Ok(Family::Export),
        2 => Ok(Family::Insights),
        3 => Ok(Family::Manage),
        _ => Err(Failure::invalid(format!(
            "family {code} is not an opc_family (OPC_FAMILY_TRACK, OPC_FAMILY_EXPORT, \
             OPC_FAMILY_INSIGHTS, OPC_FAMILY_MANAGE)"
        ))),
    }
}

/// Authenticates and authorizes one request of `family`, and counts it against the client's
/// rate limit, in this order: client id present and a UUID → credentials (an unknown id costs
/// the same argon2 verification as a wrong secret) → client type allowed for the family →
/// project scope → rate limit. Repeat requests with the same id and secret are verified from
/// memory; more than 10 failures per client id (or 100 per `source`) per minute are refused
/// without running argon2.
///
/// - `family`: an `opc_family` value.
/// - `client_id`, `client_secret`: the `openpanel-client-id` / `openpanel-client-secret`
///   header values; NULL = header absent. Track requests may omit the secret when `origin`
///   matches the project's CORS list.
/// - `origin`: the request's `Origin` header; NULL = absent.
/// - `project_id`: the project the request is about; NULL (or "") = the client's own.
/// - `source`: the caller's network address for the failed-attempt throttle; NULL = unknown.
/// - `out_principal`: caller-provided struct, written in full on `OPC_OK`, untouched otherwise.
///   Required.
///
/// Returns `OPC_OK` whenever a decision was made — allowed or refused: check
/// `out_principal->allowed`, and when refused answer with `http_status`, `message` and the
/// rate-limit headers it describes. A non-OK status means no decision could be made: a NULL
/// `store` or `out_principal`, a string that is not UTF-8, an unknown `family`
/// (`OPC_INVALID_ARGUMENT`), or a storage failure (`OPC_STORAGE`, `OPC_BUSY`: answer 500).
///
/// Ownership: nothing is allocated; the strings are only read during the call.
///
/// Thread-safety: any thread, concurrently with any other call on the same store.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_principal` is NULL or
/// points to writable memory for one `opc_principal`.
#[no_mangle]
pub unsafe extern "C" fn opc_authenticate(
    store: *mut opc_store,
    family: opc_family_code,
    client_id: *const c_char,
    client_secret: *const c_char,
    origin: *const c_char,
    project_id: *const c_char,
    source: *const c_char,
    out_principal: *mut opc_principal,
) -> opc_status {
    ffi_boundary!("opc_authenticate", {
        let store = unsafe { store_ref(store) }?;
        let family = self::family(family)?;
        let request = AuthRequest {
            family,
            client_id: unsafe { optional(client_id, "client_id") }?,
            client_secret: unsafe { optional(client_secret, "client_secret") }?,
            origin: unsafe { optional(origin, "origin") }?,
            project_id: unsafe { optional(project_id, "project_id") }?,
            source: unsafe { optional(source, "source") }?,
        };
        let out = out_param(out_principal, "out_principal")?;
        let principal = match store.authenticate(&request) {
            Ok(p) => opc_principal::allowed(&p)?,
            Err(AuthError::Storage(e)) => return Err(e.into()),
            Err(refusal) => opc_principal::refused(&refusal),
        };
        out.write(principal);
        Ok(())
    })
}
