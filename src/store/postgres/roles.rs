//! The PostgreSQL backend in the roles of `crate::store::roles`: each method is the `PgDb`
//! method of the same name.

use super::PgDb;

crate::store::roles::impl_roles!(PgDb);
