//! [`Store`]: the handle hosts hold. It joins the SQLite resource store ([`Db`]) with the
//! authentication state (credential cache, throttles, rate limiter) that belongs to it.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::auth::oauth::{AuthorizeError, AuthorizeRequest};
use crate::auth::tokens::{BearerRequest, TokenInfo};
use crate::auth::{AuthError, AuthRequest, Authenticator, Principal};
use crate::error::Result;
use crate::options::Options;
use crate::store::Db;

/// An open opcore store. Cheap to clone (clones share everything); `Send + Sync`, so one handle
/// serves every thread of a process. Resource operations (`create_project`, `list_clients`,
/// …) come from [`Db`] through `Deref`.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    auth: Arc<Authenticator>,
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `path`, then purges projects
    /// past their deletion time.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        let db = Db::open(path, &options)?;
        let auth = Arc::new(Authenticator::new(db.clone(), &options));
        Ok(Store { db, auth })
    }

    /// Authenticates and authorizes one request (docs/security.md).
    pub fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        self.auth.authenticate(request)
    }

    /// Whether [`Store::authenticate`] may run an argon2 verification for these credentials
    /// (a well-formed id and secret not in the credential cache). Lets an event-loop host run
    /// only those requests on a blocking thread.
    pub fn may_verify_secret(&self, client_id: Option<&str>, client_secret: Option<&str>) -> bool {
        self.auth.may_verify_secret(client_id, client_secret)
    }

    /// Authenticates and authorizes one request made with `Authorization: Bearer` (docs/oauth.md).
    /// Runs no argon2.
    pub fn authenticate_bearer(&self, request: &BearerRequest<'_>) -> Result<Principal, AuthError> {
        self.auth.authenticate_bearer(request)
    }

    /// Checks an access token without counting it against any limit: what it proves, or
    /// `MissingToken` / `InvalidToken` / `TokenExpired`.
    pub fn verify_access_token(&self, token: &str) -> Result<TokenInfo, AuthError> {
        self.auth.verify_access_token(token)
    }

    /// Issues an authorization code once the host's user has consented, and returns the
    /// redirect URL carrying `code` and `state` (docs/oauth.md). The redirect URI must be registered
    /// for the client and match exactly; otherwise the error must be shown to the user, never
    /// redirected.
    ///
    /// ```no_run
    /// # let store = opcore::Store::open("opcore.db", opcore::Options::default())?;
    /// use opcore::auth::oauth::AuthorizeRequest;
    /// let url = store.authorize(&AuthorizeRequest {
    ///     client_id: "0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c",
    ///     redirect_uri: "https://app.example.com/callback",
    ///     scope: Some("manage"),
    ///     code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    ///     code_challenge_method: "S256",
    ///     state: Some("xyz"),
    ///     subject: "user-42",
    /// });
    /// # Ok::<(), opcore::Error>(())
    /// ```
    pub fn authorize(&self, request: &AuthorizeRequest<'_>) -> Result<String, AuthorizeError> {
        self.auth.authorize(request)
    }

    /// This handle, acting for the client `principal` authenticated: every write made through
    /// the result checks, inside its own transaction, that the client still exists, and fails
    /// with [`crate::Error::Unauthenticated`] otherwise (see [`Db::acting_as`]). The Manage API
    /// makes every call through such a handle.
    pub fn acting_as(&self, principal: &Principal) -> Store {
        Store {
            db: self.db.acting_as(&principal.client_id),
            auth: self.auth.clone(),
        }
    }

    /// The authentication state (cache size and the like).
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl Deref for Store {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}
