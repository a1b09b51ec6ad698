//! The rules, with no I/O and no SQLite: slugs, secrets, CORS, validation, deletion, access,
//! and for OAuth: token format, PKCE, redirect URIs, scopes, tiers.

pub mod access;
pub mod clock;
pub mod cors;
pub mod deletion;
pub(crate) mod error_description;
pub mod hashing;
pub(crate) mod hex;
pub mod model;
pub mod pkce;
pub mod redirect;
pub mod scope;
pub mod secret;
pub mod slug;
pub mod tier;
pub mod time;
pub mod token;
pub mod validate;
