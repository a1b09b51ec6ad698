"""The C ABI of libopcore as ctypes declarations (one entry per function of include/opcore.h).

Everything here mirrors the header; ``tests/test_header.py`` parses the header and fails when
a prototype, the ``opc_principal`` layout or a status value drifts from what is declared here.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: The header version these declarations were written against (``OPCORE_VERSION``).
HEADER_VERSION = "0.1.0"

#: ``OPC_ID_SIZE`` and ``OPC_MESSAGE_SIZE``.
ID_SIZE = 128
MESSAGE_SIZE = 128
#: ``OPC_TOKEN_ERROR_SIZE``, ``OPC_SCOPE_SIZE``, ``OPC_SUBJECT_SIZE``, ``OPC_TOKEN_TEXT_SIZE``.
TOKEN_ERROR_SIZE = 32
SCOPE_SIZE = 64
SUBJECT_SIZE = 1024
TOKEN_TEXT_SIZE = 128

#: ``opc_status`` values by name.
STATUS: Dict[str, int] = {
    "OPC_OK": 0,
    "OPC_NULL_ARGUMENT": 1,
    "OPC_INVALID_UTF8": 2,
    "OPC_INVALID_ARGUMENT": 3,
    "OPC_INVALID_OPTIONS": 100,
    "OPC_OPEN_FAILED": 101,
    "OPC_FORKED": 102,
    "OPC_NOT_FOUND": 200,
    "OPC_INVALID_INPUT": 201,
    "OPC_CONFLICT": 202,
    "OPC_STORAGE": 300,
    "OPC_BUSY": 301,
    "OPC_PANIC": 900,
    "OPC_INTERNAL": 901,
}
STATUS_NAMES: Dict[int, str] = {value: name for name, value in STATUS.items()}

#: ``opc_family`` values by name.
FAMILY: Dict[str, int] = {
    "OPC_FAMILY_TRACK": 0,
    "OPC_FAMILY_EXPORT": 1,
    "OPC_FAMILY_INSIGHTS": 2,
    "OPC_FAMILY_MANAGE": 3,
}

#: ``opc_client_type`` values by name.
CLIENT_TYPE: Dict[str, int] = {
    "OPC_CLIENT_NONE": 0,
    "OPC_CLIENT_READ": 1,
    "OPC_CLIENT_WRITE": 2,
    "OPC_CLIENT_ROOT": 3,
}


class opc_principal(Structure):
    """``opc_principal``: the outcome of ``opc_authenticate``, filled in by the library."""

    _fields_ = [
        ("allowed", c_bool),
        ("http_status", c_uint16),
        ("message", c_char * MESSAGE_SIZE),
        ("client_type", c_uint32),
        ("client_id", c_char * ID_SIZE),
        ("organization_id", c_char * ID_SIZE),
        ("client_project_id", c_char * ID_SIZE),
        ("project_id", c_char * ID_SIZE),
        ("has_rate_limit", c_bool),
        ("rate_limit", c_uint32),
        ("rate_remaining", c_uint32),
        ("rate_reset_seconds", c_uint64),
        ("has_retry_after", c_bool),
        ("retry_after_seconds", c_uint64),
    ]


class opc_token_info(Structure):
    """``opc_token_info``: the outcome of ``opc_token_verify``, filled in by the library."""

    _fields_ = [
        ("active", c_bool),
        ("http_status", c_uint16),
        ("error", c_char * TOKEN_ERROR_SIZE),
        ("message", c_char * TOKEN_TEXT_SIZE),
        ("client_type", c_uint32),
        ("client_id", c_char * TOKEN_TEXT_SIZE),
        ("organization_id", c_char * TOKEN_TEXT_SIZE),
        ("client_project_id", c_char * TOKEN_TEXT_SIZE),
        ("scope", c_char * SCOPE_SIZE),
        ("subject", c_char * SUBJECT_SIZE),
        ("issued_at", c_int64),
        ("expires_at", c_int64),
    ]


# C types as ctypes. Strings the library allocates (``char **`` out-parameters, freed with
# opc_string_free) travel as ``void *`` so the exact pointer can be handed back; strings the
# library owns (static or owned by a response) are ``c_char_p``. Opaque handles are ``void *``.
_status = c_uint32
_handle = c_void_p
_out_handle = POINTER(c_void_p)
_str = c_char_p
_out_owned_str = POINTER(c_void_p)
_bytes = c_char_p  # const uint8_t *: a bytes object is passed as is (may contain NUL)

#: name -> (restype, argtypes), in header order.
SIGNATURES: Dict[str, Tuple[Optional[type], List[type]]] = {
    "opc_store_open": (_status, [_str, _str, _out_handle]),
    "opc_store_close": (None, [_handle]),
    "opc_organization_create": (_status, [_handle, _str, _out_owned_str]),
    "opc_organization_get": (_status, [_handle, _str, _out_owned_str]),
    "opc_organization_list": (_status, [_handle, _out_owned_str]),
    "opc_organization_delete": (_status, [_handle, _str]),
    "opc_purge": (_status, [_handle, POINTER(c_size_t)]),
    "opc_project_events_increment": (
        _status,
        [_handle, _str, _str, c_int64, POINTER(c_int64)],
    ),
    "opc_handle": (
        _status,
        [_handle, _str, _str, POINTER(c_char_p), POINTER(c_char_p), c_size_t, _bytes,
         c_size_t, _out_handle],
    ),
    "opc_handle_from": (
        _status,
        [_handle, _str, _str, _str, POINTER(c_char_p), POINTER(c_char_p), c_size_t, _bytes,
         c_size_t, _out_handle],
    ),
    "opc_response_status": (c_uint16, [_handle]),
    "opc_response_body": (c_char_p, [_handle]),
    "opc_response_body_len": (c_size_t, [_handle]),
    "opc_response_header": (c_char_p, [_handle, _str]),
    "opc_response_header_count": (c_size_t, [_handle]),
    "opc_response_header_at": (
        _status,
        [_handle, c_size_t, POINTER(c_char_p), POINTER(c_char_p)],
    ),
    "opc_response_free": (None, [_handle]),
    "opc_authenticate": (
        _status,
        [_handle, c_uint32, _str, _str, _str, _str, _str, POINTER(opc_principal)],
    ),
    "opc_authorize": (
        _status,
        [_handle, _str, _str, _str, _str, _str, _str, _str, _out_owned_str],
    ),
    "opc_token_verify": (_status, [_handle, _str, POINTER(opc_token_info)]),
    "opc_project_create": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_project_get": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_project_list": (_status, [_handle, _str, _out_owned_str]),
    "opc_project_update": (_status, [_handle, _str, _str, _str, _out_owned_str]),
    "opc_project_delete": (_status, [_handle, _str, _str]),
    "opc_client_create": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_client_get": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_client_list": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_client_update": (_status, [_handle, _str, _str, _str, _out_owned_str]),
    "opc_client_delete": (_status, [_handle, _str, _str]),
    "opc_client_rotate": (_status, [_handle, _str, _str, _str, _out_owned_str]),
    "opc_reference_create": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_reference_get": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_reference_list": (_status, [_handle, _str, _str, _out_owned_str]),
    "opc_reference_update": (_status, [_handle, _str, _str, _str, _out_owned_str]),
    "opc_reference_delete": (_status, [_handle, _str, _str]),
    "opc_project_list_page": (_status, [_handle, _str, c_uint32, _str, _out_owned_str]),
    "opc_client_list_page": (_status, [_handle, _str, _str, c_uint32, _str, _out_owned_str]),
    "opc_reference_list_page": (_status, [_handle, _str, _str, c_uint32, _str, _out_owned_str]),
    "opc_string_free": (None, [c_void_p]),
    "opc_status_str": (c_char_p, [_status]),
    "opc_last_error_message": (c_char_p, []),
    "opc_version": (c_char_p, []),
    "opc_sqlite_version": (c_char_p, []),
    "opc_test_panic": (_status, []),
}

#: The ``_ex`` variants: the same arguments followed by ``char **out_error``, which receives the
#: call's own failure detail (freed with opc_string_free) whichever thread reads it.
EX_VARIANTS = (
    "opc_store_open", "opc_organization_create", "opc_organization_get", "opc_organization_list",
    "opc_organization_delete", "opc_purge", "opc_project_events_increment", "opc_handle",
    "opc_handle_from", "opc_authenticate", "opc_authorize", "opc_token_verify",
    "opc_project_create", "opc_project_get", "opc_project_list", "opc_project_update",
    "opc_project_delete", "opc_client_create", "opc_client_get", "opc_client_list",
    "opc_client_update", "opc_client_delete", "opc_client_rotate", "opc_reference_create",
    "opc_reference_get", "opc_reference_list", "opc_reference_update", "opc_reference_delete",
    "opc_project_list_page", "opc_client_list_page", "opc_reference_list_page",
)
for _name in EX_VARIANTS:
    _restype, _argtypes = SIGNATURES[_name]
    SIGNATURES[_name + "_ex"] = (_restype, _argtypes + [_out_owned_str])
del _name, _restype, _argtypes

#: Functions the header declares only under a build flag; bound when the library has them.
OPTIONAL = frozenset({"opc_test_panic"})


def library_names() -> List[str]:
    """The library's file names on this platform, most likely first."""
    if sys.platform == "darwin":
        return ["libopcore.dylib"]
    if sys.platform == "win32":
        return ["opcore.dll", "libopcore.dll"]
    return ["libopcore.so"]


def checkout_libraries() -> List[Path]:
    """Where a checkout's build puts the library, for a package used from its source folder
    (an editable install): ``$CARGO_TARGET_DIR`` or the checkout's ``target``, release first,
    then debug. Empty when this package is not inside an opcore checkout."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "Cargo.toml").is_file() or not (root / "include" / "opcore.h").is_file():
        return []
    target = Path(os.environ.get("CARGO_TARGET_DIR") or root / "target")
    if not target.is_absolute():
        target = root / target
    return [target / profile / name for profile in ("release", "debug")
            for name in library_names()]


def library_path() -> str:
    """Where the library is loaded from, in this order: ``OPCORE_LIB`` if set; the copy
    installed in the package (``opcore/_lib``); in a checkout (an editable install), the
    library its build left in ``target/release`` or ``target/debug``. Raises ``OSError``
    naming the places looked at when none holds a library.
    """
    env = os.environ.get("OPCORE_LIB")
    if env:
        if not os.path.isfile(env):
            raise OSError(f"OPCORE_LIB={env!r} is not a file")
        return env
    bundled = Path(__file__).resolve().parent / "_lib"
    candidates = [bundled / name for name in library_names()] + checkout_libraries()
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    raise OSError(
        "libopcore not found: set OPCORE_LIB to the library's path, install a wheel that "
        "carries it, or build it (cargo build --release --no-default-features --lib); looked "
        "at " + ", ".join(str(c) for c in candidates)
    )


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """The loaded library with every prototype declared (loaded once, on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            loaded = ctypes.CDLL(library_path())
            for name, (restype, argtypes) in SIGNATURES.items():
                try:
                    function = getattr(loaded, name)
                except AttributeError:
                    if name in OPTIONAL:
                        continue
                    raise OSError(
                        f"{loaded._name} has no {name}: it is not the libopcore "
                        f"{HEADER_VERSION} these bindings were written for"
                    ) from None
                function.restype = restype
                function.argtypes = argtypes
            _check_version(loaded)
            _lib = loaded
    return _lib


def _check_version(loaded: ctypes.CDLL) -> None:
    version = loaded.opc_version().decode()
    if _compatible_part(version) != _compatible_part(HEADER_VERSION):
        raise OSError(
            f"{loaded._name} is libopcore {version}; these bindings need {HEADER_VERSION} "
            "(same major version, and same minor version before 1.0)"
        )


def _compatible_part(version: str) -> Tuple[str, ...]:
    parts = tuple(version.split(".")[:2])
    return parts if parts[:1] == ("0",) else parts[:1]


def last_error() -> str:
    """This thread's ``opc_last_error_message()``."""
    message: bytes = lib().opc_last_error_message()
    return message.decode("utf-8", "replace")


def status_name(code: int) -> str:
    """``OPC_NOT_FOUND`` for 200, …; ``OPC_STATUS_<n>`` for a value this binding lacks."""
    return STATUS_NAMES.get(code, f"OPC_STATUS_{code}")


def take_string(pointer: c_void_p) -> str:
    """Copies a library-allocated string, then frees it (wiping it) with opc_string_free."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        lib().opc_string_free(pointer)
