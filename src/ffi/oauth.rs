//! OAuth 2.0 for C hosts (docs/oauth.md): `opc_authorize`, the call a host makes after its consent
//! screen, and `opc_token_verify`, which checks an access token presented as
//! `Authorization: Bearer` without running argon2. The token, revocation and introspection
//! endpoints are served by `opc_handle` (`POST /oauth/token`, `/oauth/revoke`,
//! `/oauth/introspect`).

use std::ffi::c_char;

use super::auth::opc_client_type;
use super::boundary::{ffi_boundary, Failure, FfiResult};
use super::status::opc_status;
use super::store::{opc_store, store_ref};
use super::strings::{c_string_from_vec, optional, out_param, required};
use crate::auth::oauth::{AuthorizeError, AuthorizeRequest};
use crate::auth::tokens::TokenInfo;
use crate::{AuthError, ClientType};

/// Size in bytes of `opc_token_info.error`, including the terminating NUL.
pub const OPC_TOKEN_ERROR_SIZE: usize = 32;
/// Size in bytes of `opc_token_info.scope`, including the terminating NUL.
pub const OPC_SCOPE_SIZE: usize = 64;
/// Size in bytes of `opc_token_info.subject`, including the terminating NUL: a subject is at
/// most 255 characters, so it always fits.
pub const OPC_SUBJECT_SIZE: usize = 1024;
/// Size in bytes of the id and message buffers of `opc_token_info`, including the NUL.
pub const OPC_TOKEN_TEXT_SIZE: usize = 128;

/// The outcome of `opc_token_verify`: what an access token proves, or why it proves nothing,
/// with the exact error body a host answers with
/// (`{"error": error, "message": message}`, status `http_status`).
///
/// Strings are NUL-terminated UTF-8 in fixed buffers inside the struct (nothing to free). A
/// field that does not apply is "" (or 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct opc_token_info {
    /// true: an access token opcore issued, neither revoked nor expired, whose client still
    /// exists.
    pub active: bool,
    /// 200 when active; 401 otherwise.
    pub http_status: u16,
    /// When not active: "missing_api_key" (no token), "invalid_api_key" (not a token opcore
    /// issued, unknown, revoked, or its client is gone) or "token_expired".
    pub error: [c_char; OPC_TOKEN_ERROR_SIZE],
    /// When not active: "No API key provided in the Authorization header.", "The API key
    /// provided is invalid." or "The access token has expired.".
    pub message: [c_char; OPC_TOKEN_TEXT_SIZE],
    /// The client the token was issued to (`OPC_CLIENT_NONE` when not active).
    pub client_type: opc_client_type,
    pub client_id: [c_char; OPC_TOKEN_TEXT_SIZE],
    pub organization_id: [c_char; OPC_TOKEN_TEXT_SIZE],
    /// The client's own project; "" for an organization-level client.
    pub client_project_id: [c_char; OPC_TOKEN_TEXT_SIZE],
    /// The API families the token may be used for, space-separated in the order
    /// `track export insights manage`.
    pub scope: [c_char; OPC_SCOPE_SIZE],
    /// The user an authorization-code token acts for; "" for client credentials.
    pub subject: [c_char; OPC_SUBJECT_SIZE],
    /// When the token was issued, Unix time in seconds.
    pub issued_at: i64,
    /// When the token expires, Unix time in seconds.
    pub expires_at: i64,
}

impl opc_token_info {
    /// Every field false, zero or "".
    pub const EMPTY: opc_token_info = opc_token_info {
        active: false,
        http_status: 0,
        error: [0; OPC_TOKEN_ERROR_SIZE],
        message: [0; OPC_TOKEN_TEXT_SIZE],
        client_type: opc_client_type::OPC_CLIENT_NONE,
        client_id: [0; OPC_TOKEN_TEXT_SIZE],
        organization_id: [0; OPC_TOKEN_TEXT_SIZE],
        client_project_id: [0; OPC_TOKEN_TEXT_SIZE],
        scope: [0; OPC_SCOPE_SIZE],
        subject: [0; OPC_SUBJECT_SIZE],
        issued_at: 0,
        expires_at: 0,
    };

    fn active(info: &TokenInfo) -> FfiResult<opc_token_info> {
        let mut out = opc_token_info::EMPTY;
        out.active = true;
        out.http_status = 200;
        out.client_type = match info.client_type {
            ClientType::Read => opc_client_type::OPC_CLIENT_READ,
            ClientType::Write => opc_client_type::OPC_CLIENT_WRITE,
            ClientType::Root => opc_client_type::OPC_CLIENT_ROOT,
        };
        copy(&mut out.client_id, &info.client_id)?;
        copy(&mut out.organization_id, &info.organization_id)?;
        copy(
            &mut out.client_project_id,
            info.client_project_id.as_deref().unwrap_or(""),
        )?;
        copy(&mut out.scope, &info.scope.to_string())?;
        copy(&mut out.subject, info.subject.as_deref().unwrap_or(""))?;
        out.issued_at = info.issued_at.millis().div_euclid(1000);
        out.expires_at = info.expires_at.millis().div_euclid(1000);
        Ok(out)
    }

    fn refused(e: &AuthError) -> FfiResult<opc_token_info> {
        let error = e.bearer_error_code();
        let mut out = opc_token_info::EMPTY;
        out.http_status = e.status();
        copy(&mut out.error, error)?;
        copy(&mut out.message, &e.to_string())?;
        Ok(out)
    }
}

/// Copies `text` and its NUL into `buffer`; every value copied here fits by construction, so a
/// value that does not is reported as an internal error rather than cut.
fn copy<const N: usize>(buffer: &mut [c_char; N], text: &str) -> FfiResult {
    let bytes = text.as_bytes();
    if bytes.len() >= N || bytes.contains(&0) {
        return Err(Failure::internal(format!(
            "a value does not fit opc_token_info ({} bytes, room for {})",
            bytes.len(),
            N - 1
        )));
    }
    for (slot, &b) in buffer.iter_mut().zip(bytes) {
        *slot = b as c_char;
    }
    buffer[bytes.len()] = 0;
    Ok(())
}

/// Issues an authorization code once the host's user has authenticated and consented, and
/// gives the URL to redirect the user agent to (OAuth 2.0 authorization-code grant with PKCE).
///
/// - `client_id`: the third-party app (an opcore client). Required.
/// - `redirect_uri`: must be exactly one of the client's registered `redirectUris`. Required.
/// - `scope`: space-separated API families (`track export insights manage`); NULL or "" for
///   every family the client's type allows.
/// - `code_challenge`: the app's PKCE challenge, 43 base64url characters. Required.
/// - `code_challenge_method`: must be "S256". Required.
/// - `state`: returned unchanged in the redirect; NULL for none.
/// - `subject`: the user who consented, 1 to 255 characters. Required.
/// - `out_redirect_url`: receives the URL on `OPC_OK` (untouched otherwise). Required.
///
/// `OPC_OK` whenever the user agent is to be redirected: the URL carries `code` (valid for at
/// most 10 minutes, single-use) and `state`; or, when the app's request was wrong in a way the
/// app must learn (method not S256, malformed challenge, scope beyond the client's type),
/// `error`, `error_description` and `state` (RFC 6749 §4.1.2.1).
///
/// Any other status means **do not redirect**; show the user an error page:
/// `OPC_NOT_FOUND` for an unknown client; `OPC_INVALID_INPUT` for a `redirect_uri` that is not
/// registered for the client (a mismatch is never redirected to) or an invalid `subject`;
/// `OPC_NULL_ARGUMENT`, `OPC_INVALID_UTF8`, `OPC_STORAGE`, `OPC_BUSY` as usual.
///
/// Ownership: the caller frees `*out_redirect_url` with `opc_string_free`.
///
/// Thread-safety: any thread, concurrently with any other call on the same store.
///
/// # Safety
/// `store` is NULL or open; strings are NULL or NUL-terminated; `out_redirect_url` is NULL or
/// writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn opc_authorize(
    store: *mut opc_store,
    client_id: *const c_char,
    redirect_uri: *const c_char,
    scope: *const c_char,
    code_challenge: *const c_char,
    code_challenge_method: *const c_char,
    state: *const c_char,
    subject: *const c_char,
    out_redirect_url: *mut *mut c_char,
) -> opc_status {
    ffi_boundary!("opc_authorize", {
        let store = unsafe { store_ref(store) }?;
        let request = AuthorizeRequest {
            client_id: unsafe { required(client_id, "client_id") }?,
            redirect_uri: unsafe { required(redirect_uri, "redirect_uri") }?,
            scope: unsafe { optional(scope, "scope") }?,
            code_challenge: unsafe { required(code_challenge, "code_challenge") }?,
            code_challenge_method: unsafe {
                required(code_challenge_method, "code_challenge_method")
            }?,
            state: unsafe { optional(state, "state") }?,
            subject: unsafe { required(subject, "subject") }?,
        };
        let out = out_param(out_redirect_url, "out_redirect_url")?;
        let url = match store.authorize(&request) {
            Ok(url) => url,
            Err(AuthorizeError::Refused { redirect_url, .. }) => redirect_url,
            Err(AuthorizeError::UnknownClient) => {
                return Err(Failure::new(opc_status::OPC_NOT_FOUND, "unknown client"));
            }
            Err(e @ (AuthorizeError::RedirectUriMismatch | AuthorizeError::InvalidSubject)) => {
                return Err(Failure::new(opc_status::OPC_INVALID_INPUT, e.to_string()));
            }
            Err(AuthorizeError::Storage(e)) => return Err(e.into()),
        };
        let mut bytes = url.into_bytes();
        bytes.push(0);
        out.write(c_string_from_vec(bytes)?);
        Ok(())
    })
}

/// Checks an access token presented as `Authorization: Bearer <token>`: one SHA-256 and one
/// lookup, never argon2. Nothing is counted against any rate limit.
///
/// - `token`: the header's value after `Bearer` (surrounding whitespace is ignored); NULL or ""
///   when the header carried no token.
/// - `out_info`: caller-provided struct, written in full on `OPC_OK`, untouched otherwise.
///   Required.
///
/// Returns `OPC_OK` whenever a decision was made — active or not: check `out_info->active`,
/// and when not active answer with `http_status` and `{"error": error, "message": message}`.
/// A non-OK status means no decision could be made: a NULL `store` or `out_info`, a token that
/// is not UTF-8, or a storage failure (`OPC_STORAGE`, `OPC_BUSY`: answer 500).
///
/// Ownership: nothing is allocated; the token is only read during the call.
///
/// Thread-safety: any thread, concurrently with any other call on the same store.
///
/// # Safety
/// `store` is NULL or open; `token` is NULL or NUL-terminated; `out_info` is NULL or points to
/// writable memory for one `opc_token_info`.
#[no_mangle]
pub unsafe extern "C" fn opc_token_verify(
    store: *mut opc_store,
    token: *const c_char,
    out_info: *mut opc_token_info,
) -> opc_status {
    ffi_boundary!("opc_token_verify", {
        let store = unsafe { store_ref(store) }?;
        let token = unsafe { optional(token, "token") }?.unwrap_or("").trim();
        let out = out_param(out_info, "out_info")?;
        let info = match store.verify_access_token(token) {
            Ok(info) => opc_token_info::active(&info)?,
            Err(AuthError::Storage(e)) => return Err(e.into()),
            Err(refusal) => opc_token_info::refused(&refusal)?,
        };
        out.write(info);
        Ok(())
    })
}
