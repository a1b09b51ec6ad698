//! The SQLite backend in the roles of `crate::store::roles`: each method is the `Db` method of
//! the same name.

use super::Db;

crate::store::roles::impl_roles!(Db);
