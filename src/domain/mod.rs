//! The rules, with no I/O and no SQLite: slugs, secrets, CORS, validation, deletion, access.

pub mod access;
pub mod cors;
pub mod deletion;
pub mod model;
pub mod secret;
pub mod slug;
pub mod time;
pub mod validate;
