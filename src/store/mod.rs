//! Storage: what callers pass in (`inputs`), lists and their cursors (`lists`), what the
//! operations return (`outputs`), and the SQLite backend (`sqlite`). Nothing outside `sqlite`
//! writes SQL.

mod inputs;
mod lists;
mod outputs;
pub mod sqlite;

pub use inputs::{
    ClientChanges, NewClient, NewProject, NewReference, Problems, ProjectChanges, ReferenceChanges,
};
pub use lists::{limit_error, ListOptions, Page, MAX_LIMIT};
pub use outputs::{Bootstrap, CreatedClient, CreatedProject, DefaultClient};
pub use sqlite::{
    ClientCredentials, CodeClaim, CodeRecord, Db, NewCode, NewGrant, NewToken, Rotation,
    TokenRecord, TOKEN_RETENTION_MS,
};
