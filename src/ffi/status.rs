//! `opc_status`: what every fallible entry point returns.

use std::ffi::{c_char, CStr};

use super::boundary::ffi_boundary;

/// The result of an opc_ call. `OPC_OK` (0) is success; every other value is a failure whose
/// detail is in `opc_last_error_message()`. Values are grouped by hundreds, fixed forever: a
/// value is never renumbered and a retired value is never reused. Stored as a `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum opc_status {
    /// Success.
    OPC_OK = 0,

    /// A required pointer argument was NULL (1–99: the arguments themselves are unusable).
    OPC_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    OPC_INVALID_UTF8 = 2,
    /// An argument was out of range: an unknown enum value, an index past the end, an empty
    /// path, a length too large to be a buffer.
    OPC_INVALID_ARGUMENT = 3,

    /// `options_json` was not valid (100–199: opening a store).
    OPC_INVALID_OPTIONS = 100,
    /// The file cannot be opened as an opcore store: not an SQLite file, an SQLite file that is
    /// not an opcore store, a store from a newer opcore, or a path that cannot be created or
    /// written. The message names the problem; the file is left untouched.
    OPC_OPEN_FAILED = 101,
    /// The store handle was opened by another process: used in a child after `fork()`. Open a
    /// new handle in the child.
    OPC_FORKED = 102,

    /// The resource does not exist in the given organization (or is past its deletion time)
    /// (200–299: refused because of the data).
    OPC_NOT_FOUND = 200,
    /// The input broke one or more rules (a JSON body that is not an object, a field of the
    /// wrong type, a name that is too long, …). The message names every offending field.
    OPC_INVALID_INPUT = 201,
    /// The input is well-formed but refused by the stored state (e.g. deleting the last root
    /// client of an organization).
    OPC_CONFLICT = 202,

    /// SQLite failed (disk full, I/O error, corrupted file) (300–399: storage).
    OPC_STORAGE = 300,
    /// Another connection held the database lock longer than the busy timeout, even after
    /// retries. Retrying later may succeed.
    OPC_BUSY = 301,

    /// A bug in opcore was caught at the boundary (a Rust panic); the operation may or may not
    /// have taken effect (900–999: internal).
    OPC_PANIC = 900,
    /// opcore produced something it could not hand over (a bug, reported instead of a panic).
    OPC_INTERNAL = 901,
}

impl opc_status {
    /// Every status, in value order.
    pub const ALL: [opc_status; 14] = [
        opc_status::OPC_OK,
        opc_status::OPC_NULL_ARGUMENT,
        opc_status::OPC_INVALID_UTF8,
        opc_status::OPC_INVALID_ARGUMENT,
        opc_status::OPC_INVALID_OPTIONS,
        opc_status::OPC_OPEN_FAILED,
        opc_status::OPC_FORKED,
        opc_status::OPC_NOT_FOUND,
        opc_status::OPC_INVALID_INPUT,
        opc_status::OPC_CONFLICT,
        opc_status::OPC_STORAGE,
        opc_status::OPC_BUSY,
        opc_status::OPC_PANIC,
        opc_status::OPC_INTERNAL,
    ];

    /// The status with this numeric value, if there is one.
    pub fn from_u32(value: u32) -> Option<opc_status> {
        opc_status::ALL.into_iter().find(|s| *s as u32 == value)
    }

    /// A short, static description.
    pub fn text(self) -> &'static CStr {
        match self {
            opc_status::OPC_OK => c"ok",
            opc_status::OPC_NULL_ARGUMENT => c"a required argument is NULL",
            opc_status::OPC_INVALID_UTF8 => c"a string argument is not valid UTF-8",
            opc_status::OPC_INVALID_ARGUMENT => c"an argument is out of range",
            opc_status::OPC_INVALID_OPTIONS => c"invalid store options",
            opc_status::OPC_OPEN_FAILED => c"the store cannot be opened",
            opc_status::OPC_FORKED => c"the store handle belongs to the parent process (fork)",
            opc_status::OPC_NOT_FOUND => c"not found",
            opc_status::OPC_INVALID_INPUT => c"invalid input",
            opc_status::OPC_CONFLICT => c"refused by the stored state",
            opc_status::OPC_STORAGE => c"storage failure",
            opc_status::OPC_BUSY => c"the database is busy",
            opc_status::OPC_PANIC => c"internal error (panic caught)",
            opc_status::OPC_INTERNAL => c"internal error",
        }
    }
}

/// A raw `opc_status` value as received from C, where any `uint32_t` can arrive.
pub type opc_status_code = u32;

/// A short, static, English description of `status` ("not found", "invalid input", …);
/// "unknown status" for a value that is not an `opc_status`.
///
/// Ownership: static storage; never free it. Never NULL. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn opc_status_str(status: opc_status_code) -> *const c_char {
    ffi_boundary!("opc_status_str", c"unknown status".as_ptr(), {
        opc_status::from_u32(status)
            .map_or(c"unknown status", opc_status::text)
            .as_ptr()
    })
}
