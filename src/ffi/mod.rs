//! The C ABI: `include/opcore.h` is generated from this module by cbindgen (see build.rs).
//!
//! This module converts and calls; it holds no business rule. Conventions (docs/c-api.md, "C API
//! conventions", for hosts):
//! - every entry point runs inside `ffi_boundary!`, so no panic crosses into C;
//! - every pointer is checked for NULL and every string for UTF-8 before any work is done;
//! - out-parameters are written only on success;
//! - failures return an [`opc_status`] and leave a thread-local detail for
//!   [`opc_last_error_message`] that never contains a secret; the `_ex` variants (module
//!   `detail`) also hand that detail back through their own `out_error`;
//! - handles are opaque: `opc_store` is a boxed `Store` plus the process that opened it (the store itself is shared and
//!   thread-safe), `opc_response` a `Box` holding NUL-terminated strings; strings returned
//!   through `char **` are `CString`s freed by [`opc_string_free`].
//!
//! The functions are `unsafe extern "C"` and can be called from Rust too (the tests do), with
//! the same contract as from C.

#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)] // C names: opc_store, opc_status, …

mod boundary;

// Declared in the order the header presents them; the blank lines keep rustfmt from sorting.
mod store;

mod handle;

mod auth;

mod oauth;

mod resources;

mod lists;

mod strings;

mod status;

mod last_error;

mod detail;

mod version;

pub use auth::{
    opc_authenticate, opc_client_type, opc_family, opc_family_code, opc_principal, OPC_ID_SIZE,
    OPC_MESSAGE_SIZE,
};
pub use detail::*;
pub use handle::{
    opc_handle, opc_handle_from, opc_response, opc_response_body, opc_response_body_len,
    opc_response_free, opc_response_header, opc_response_header_at, opc_response_header_count,
    opc_response_status,
};
pub use last_error::opc_last_error_message;
pub use lists::{
    opc_client_list_page, opc_client_list_page_ex, opc_project_list_page, opc_project_list_page_ex,
    opc_reference_list_page, opc_reference_list_page_ex,
};
pub use oauth::{
    opc_authorize, opc_token_info, opc_token_verify, OPC_SCOPE_SIZE, OPC_SUBJECT_SIZE,
    OPC_TOKEN_ERROR_SIZE, OPC_TOKEN_TEXT_SIZE,
};
pub use resources::{
    opc_client_create, opc_client_delete, opc_client_get, opc_client_list, opc_client_rotate,
    opc_client_update, opc_project_create, opc_project_delete, opc_project_get, opc_project_list,
    opc_project_update, opc_reference_create, opc_reference_delete, opc_reference_get,
    opc_reference_list, opc_reference_update,
};
pub use status::{opc_status, opc_status_code, opc_status_str};
pub use store::{
    opc_organization_create, opc_organization_delete, opc_organization_get, opc_organization_list,
    opc_project_events_increment, opc_purge, opc_store, opc_store_close, opc_store_open,
};
pub use strings::opc_string_free;
#[cfg(feature = "test-panic")]
pub use version::opc_test_panic;
pub use version::{opc_sqlite_version, opc_version};
