//! [`Store`]: the handle hosts hold. It joins the SQLite resource store ([`Db`]) with the
//! authentication state (credential cache, throttles, rate limiter) that belongs to it.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

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

    /// Authenticates and authorizes one request (SPEC §4).
    pub fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Principal, AuthError> {
        self.auth.authenticate(request)
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
