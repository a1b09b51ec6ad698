//! What callers pass to create and update resources: raw values, validated by the store
//! against the rules of docs/behaviour.md (every offending field is reported at once).

use crate::domain::model::{ClientType, ProjectType};
use crate::domain::tier::Tier;
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, FieldError};

/// `POST /projects`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewProject {
    pub name: String,
    pub domain: Option<String>,
    pub cors: Vec<String>,
    pub cross_domain: bool,
    pub types: Vec<String>,
}

/// `PATCH /projects/{id}`: `None` leaves a field unchanged. `domain: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub cors: Option<Vec<String>>,
    pub cross_domain: Option<bool>,
    pub allow_unsafe_revenue_tracking: Option<bool>,
}

/// `POST /clients`. `ignore_cors_and_secret` is settable only here, never through the
/// Manage API.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    pub name: String,
    pub project_id: Option<String>,
    pub client_type: ClientType,
    pub ignore_cors_and_secret: bool,
    /// Redirect URIs for the authorization-code grant (docs/oauth.md); default none.
    pub redirect_uris: Vec<String>,
    /// Rate-limit tier; default none (the per-family limits of docs/security.md).
    pub tier: Option<Tier>,
    /// When the client's credentials stop working, in the format of a reference's `datetime`
    /// (docs/behaviour.md#dates); must be in the future. Default never
    /// (docs/lifecycle.md#expiry).
    pub expires_at: Option<String>,
}

impl Default for NewClient {
    fn default() -> Self {
        NewClient {
            name: String::new(),
            project_id: None,
            client_type: ClientType::Write,
            ignore_cors_and_secret: false,
            redirect_uris: Vec::new(),
            tier: None,
            expires_at: None,
        }
    }
}

/// `PATCH /clients/{id}`. `client_type` and `project_id`, when given, must equal the stored
/// values (clients resend them); changing them needs a new client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub client_type: Option<ClientType>,
    pub project_id: Option<Option<String>>,
    pub ignore_cors_and_secret: Option<bool>,
    /// Replaces the registered redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// `Some(None)` removes the tier.
    pub tier: Option<Option<Tier>>,
    /// `Some(None)`: never expires; `Some(Some(t))`: expires at `t`, which may be in the past
    /// (expiring the client at once; docs/lifecycle.md#expiry).
    pub expires_at: Option<Option<String>>,
}

/// `POST /references`. `datetime` is RFC 3339 with a zone or `YYYY-MM-DD`; default now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewReference {
    pub project_id: String,
    pub title: String,
    pub description: Option<String>,
    pub datetime: Option<String>,
}

/// `PATCH /references/{id}`. `description: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub datetime: Option<String>,
}

/// Collects field errors so a request learns about every problem at once.
#[derive(Default)]
pub(crate) struct Checker(pub Vec<FieldError>);

impl Checker {
    pub fn one<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    pub fn many<T>(&mut self, r: Result<T, Vec<FieldError>>) -> Option<T> {
        r.map_err(|e| self.0.extend(e)).ok()
    }

    pub fn finish(self) -> Result<(), crate::Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Validation(self.0))
        }
    }
}

pub(crate) struct ValidProject {
    pub name: String,
    pub domain: Option<String>,
    pub cors: Vec<String>,
    pub cross_domain: bool,
    pub types: Vec<ProjectType>,
}

impl NewProject {
    pub(crate) fn validate(&self) -> Result<ValidProject, crate::Error> {
        let mut c = Checker::default();
        let name = c.one(validate::text("name", &self.name));
        let domain = c.one(validate::domain(self.domain.as_deref()));
        let cors = c.many(validate::cors(&self.cors));
        let types = c.many(validate::types(&self.types));
        c.finish()?;
        match (name, domain, cors, types) {
            (Some(name), Some(domain), Some(cors), Some(types)) => Ok(ValidProject {
                name,
                domain,
                cors,
                cross_domain: self.cross_domain,
                types,
            }),
            _ => Err(crate::Error::Validation(Vec::new())),
        }
    }
}

pub(crate) struct ValidProjectChanges {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub cors: Option<Vec<String>>,
}

impl ProjectChanges {
    pub(crate) fn validate(&self) -> Result<ValidProjectChanges, crate::Error> {
        let mut c = Checker::default();
        let name = match &self.name {
            Some(n) => c.one(validate::text("name", n)).map(Some),
            None => Some(None),
        };
        let domain = match &self.domain {
            Some(d) => c.one(validate::domain(d.as_deref())).map(Some),
            None => Some(None),
        };
        let cors = match &self.cors {
            Some(list) => c.many(validate::cors(list)).map(Some),
            None => Some(None),
        };
        c.finish()?;
        match (name, domain, cors) {
            (Some(name), Some(domain), Some(cors)) => {
                Ok(ValidProjectChanges { name, domain, cors })
            }
            _ => Err(crate::Error::Validation(Vec::new())),
        }
    }
}

/// The JSON name of a client's expiry.
pub(crate) const EXPIRES_AT: &str = "expiresAt";

/// The most `graceSeconds` a rotation accepts: 30 days (docs/lifecycle.md#rotation).
pub const MAX_GRACE_SECONDS: u64 = 2_592_000;

/// Why a rotation's `graceSeconds` is refused.
pub(crate) fn grace_seconds_error() -> FieldError {
    FieldError::new(
        "graceSeconds",
        format!("Expected an integer from 0 to {MAX_GRACE_SECONDS} (seconds)"),
    )
}

/// Why a new client's `expiresAt` is refused: it is not in the future.
pub(crate) fn past_expiry_error() -> FieldError {
    FieldError::new(
        EXPIRES_AT,
        "Must be in the future; to expire an existing client now, PATCH its expiresAt",
    )
}

pub(crate) struct ValidClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

impl NewClient {
    pub(crate) fn validate(&self) -> Result<ValidClient, crate::Error> {
        let mut c = Checker::default();
        let name = c.one(validate::text("name", &self.name));
        let redirect_uris = c.many(validate::redirect_uris(&self.redirect_uris));
        let expires_at = match &self.expires_at {
            Some(t) => c.one(validate::datetime_field(EXPIRES_AT, t)).map(Some),
            None => Some(None),
        };
        c.finish()?;
        match (name, redirect_uris, expires_at) {
            (Some(name), Some(redirect_uris), Some(expires_at)) => Ok(ValidClient {
                name,
                redirect_uris,
                expires_at,
            }),
            _ => Err(crate::Error::Validation(Vec::new())),
        }
    }
}

/// [`ClientChanges`] checked against its own field rules. The errors are kept rather than
/// returned: the update adds the ones only the stored client can tell (a changed type or
/// project), so every offending field is named at once.
pub(crate) struct CheckedClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    /// `Some(None)`: clear the expiry.
    pub expires_at: Option<Option<Timestamp>>,
    pub errors: Vec<FieldError>,
}

impl ClientChanges {
    pub(crate) fn check(&self) -> CheckedClientChanges {
        let mut c = Checker::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| c.one(validate::text("name", n)));
        let redirect_uris = self
            .redirect_uris
            .as_deref()
            .and_then(|uris| c.many(validate::redirect_uris(uris)));
        let expires_at = match &self.expires_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(t)) => c.one(validate::datetime_field(EXPIRES_AT, t)).map(Some),
        };
        CheckedClientChanges {
            name,
            redirect_uris,
            expires_at,
            errors: c.0,
        }
    }
}

pub(crate) struct ValidReference {
    pub title: String,
    pub description: Option<String>,
    pub date: Option<Timestamp>,
}

impl NewReference {
    pub(crate) fn validate(&self) -> Result<ValidReference, crate::Error> {
        let mut c = Checker::default();
        let title = c.one(validate::text("title", &self.title));
        let date = match &self.datetime {
            Some(d) => c.one(validate::datetime(d)).map(Some),
            None => Some(None),
        };
        c.finish()?;
        match (title, date) {
            (Some(title), Some(date)) => Ok(ValidReference {
                title,
                description: validate::description(self.description.as_deref()),
                date,
            }),
            _ => Err(crate::Error::Validation(Vec::new())),
        }
    }
}

pub(crate) struct ValidReferenceChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub date: Option<Timestamp>,
}

impl ReferenceChanges {
    pub(crate) fn validate(&self) -> Result<ValidReferenceChanges, crate::Error> {
        let mut c = Checker::default();
        let title = match &self.title {
            Some(t) => c.one(validate::text("title", t)).map(Some),
            None => Some(None),
        };
        let date = match &self.datetime {
            Some(d) => c.one(validate::datetime(d)).map(Some),
            None => Some(None),
        };
        c.finish()?;
        match (title, date) {
            (Some(title), Some(date)) => Ok(ValidReferenceChanges {
                title,
                description: self
                    .description
                    .as_ref()
                    .map(|d| validate::description(d.as_deref())),
                date,
            }),
            _ => Err(crate::Error::Validation(Vec::new())),
        }
    }
}

/// Every rule an input breaks, without touching the store.
pub trait Problems {
    fn problems(&self) -> Vec<FieldError>;
}

fn problems_of<T>(r: Result<T, crate::Error>) -> Vec<FieldError> {
    match r {
        Err(crate::Error::Validation(errors)) => errors,
        _ => Vec::new(),
    }
}

impl Problems for NewProject {
    fn problems(&self) -> Vec<FieldError> {
        problems_of(self.validate())
    }
}

impl Problems for ProjectChanges {
    fn problems(&self) -> Vec<FieldError> {
        problems_of(self.validate())
    }
}

impl Problems for NewClient {
    fn problems(&self) -> Vec<FieldError> {
        problems_of(self.validate())
    }
}

impl Problems for ClientChanges {
    fn problems(&self) -> Vec<FieldError> {
        self.check().errors
    }
}

impl Problems for NewReference {
    fn problems(&self) -> Vec<FieldError> {
        problems_of(self.validate())
    }
}

impl Problems for ReferenceChanges {
    fn problems(&self) -> Vec<FieldError> {
        problems_of(self.validate())
    }
}
