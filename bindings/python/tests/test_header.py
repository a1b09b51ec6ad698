"""The ctypes declarations match include/opcore.h: every prototype, the opc_principal layout,
every enum value and the version macro. A change to the header that the bindings do not follow
fails here."""

from __future__ import annotations

import ctypes
import re
from ctypes import POINTER, c_bool, c_char, c_char_p, c_int64, c_size_t, c_uint16, c_uint32
from ctypes import c_uint64, c_void_p
from typing import Dict, List, Optional, Tuple

import pytest

from opcore import _ffi

from conftest import HEADER

# How each C type of the header must be declared, decided here independently of _ffi.
# Library-allocated strings (char ** out, char * to free) travel as void * so that the exact
# pointer can be freed; byte buffers are passed as bytes objects (c_char_p).
C_TO_CTYPES: Dict[str, Optional[type]] = {
    "void": None,
    "opc_status": c_uint32,
    "opc_family": c_uint32,
    "size_t": c_size_t,
    "size_t *": POINTER(c_size_t),
    "int64_t": c_int64,
    "int64_t *": POINTER(c_int64),
    "uint16_t": c_uint16,
    "uint32_t": c_uint32,
    "const char *": c_char_p,
    "const char * const *": POINTER(c_char_p),
    "const char * *": POINTER(c_char_p),
    "char *": c_void_p,
    "char * *": POINTER(c_void_p),
    "const uint8_t *": c_char_p,
    "opc_store *": c_void_p,
    "opc_store * *": POINTER(c_void_p),
    "opc_response *": c_void_p,
    "const opc_response *": c_void_p,
    "opc_response * *": POINTER(c_void_p),
    "opc_principal *": POINTER(_ffi.opc_principal),
    "opc_token_info *": POINTER(_ffi.opc_token_info),
}

FIELD_TYPES: Dict[str, type] = {
    "bool": c_bool,
    "int64_t": c_int64,
    "uint16_t": c_uint16,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "opc_client_type": c_uint32,
    "char": c_char,
}


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def normalize_type(text: str) -> str:
    return " ".join(text.replace("*", " * ").split())


def split_param(param: str) -> str:
    """The type of one parameter without its name: `const char *const *names` becomes
    `const char * const *`."""
    tokens = param.replace("*", " * ").split()
    if len(tokens) > 1 and re.fullmatch(r"\w+", tokens[-1]):
        tokens = tokens[:-1]
    return " ".join(tokens)


def prototypes(header: str) -> Dict[str, Tuple[str, List[str], bool]]:
    """name -> (return type, parameter types, declared only under an #if)."""
    found: Dict[str, Tuple[str, List[str], bool]] = {}
    conditional_depth = 0
    chunks: List[Tuple[str, bool]] = []
    current: List[str] = []
    for line in strip_comments(header).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            chunks.append(("\n".join(current), conditional_depth > 0))
            current = []
            if re.match(r"#\s*if\s+defined\(OPCORE_\w+\)", stripped):
                conditional_depth += 1
            elif re.match(r"#\s*endif", stripped) and conditional_depth:
                conditional_depth -= 1
            continue
        current.append(line)
    chunks.append(("\n".join(current), conditional_depth > 0))
    pattern = re.compile(r"([A-Za-z_][\w\s\*]*?)\b(opc_\w+)\s*\(([^()]*)\)\s*;")
    for text, conditional in chunks:
        for match in pattern.finditer(text):
            restype = normalize_type(match.group(1).split(";")[-1].split("}")[-1])
            params = [p.strip() for p in match.group(3).split(",")]
            if params == ["void"]:
                params = []
            found[match.group(2)] = (restype, [split_param(p) for p in params], conditional)
    return found


def defines(header: str) -> Dict[str, str]:
    return dict(re.findall(r"^#define\s+(\w+)\s+(.+?)\s*$", header, flags=re.M))


def enum_values(header: str, name: str) -> Dict[str, int]:
    body = re.search(r"enum " + name + r"\b[^{]*\{(.*?)\};", strip_comments(header), flags=re.S)
    assert body, f"enum {name} not found in the header"
    return {k: int(v) for k, v in re.findall(r"(OPC_\w+)\s*=\s*(\d+)", body.group(1))}


def principal_fields(header: str, struct: str = "opc_principal") -> List[Tuple[str, type]]:
    body = re.search(r"typedef struct \{([^{}]*?)\}\s*" + struct + ";", strip_comments(header),
                     flags=re.S)
    assert body, f"{struct} not found in the header"
    macros = defines(header)
    fields: List[Tuple[str, type]] = []
    for ctype, name, size in re.findall(r"(\w+)\s+(\w+)(?:\[(\w+)\])?\s*;", body.group(1)):
        base = FIELD_TYPES[ctype]
        if size:
            base = base * int(macros.get(size, size))
        fields.append((name, base))
    return fields


def same_ctype(a: Optional[type], b: Optional[type]) -> bool:
    if a is None or b is None:
        return a is b
    if issubclass(a, ctypes.Array) and issubclass(b, ctypes.Array):
        return a._type_ is b._type_ and a._length_ == b._length_
    return a is b


def drift(header: str, signatures: Dict[str, Tuple[Optional[type], List[type]]],
          optional: frozenset) -> List[str]:
    """Every disagreement between the header's prototypes and the declared signatures."""
    problems: List[str] = []
    declared = prototypes(header)
    for name, (restype, params, conditional) in declared.items():
        if name not in signatures:
            problems.append(f"{name}: in the header, no binding")
            continue
        bound_restype, bound_args = signatures[name]
        if restype not in C_TO_CTYPES:
            problems.append(f"{name}: no ctypes mapping for return type {restype!r}")
        elif not same_ctype(C_TO_CTYPES[restype], bound_restype):
            problems.append(f"{name}: returns {restype}, bound as {bound_restype}")
        if len(params) != len(bound_args):
            problems.append(f"{name}: {len(params)} parameters, bound with {len(bound_args)}")
        for index, (param, bound) in enumerate(zip(params, bound_args)):
            if param not in C_TO_CTYPES:
                problems.append(f"{name}: no ctypes mapping for parameter type {param!r}")
            elif not same_ctype(C_TO_CTYPES[param], bound):
                problems.append(f"{name}: parameter {index} is {param}, bound as {bound}")
        if conditional != (name in optional):
            problems.append(f"{name}: conditional in the header is {conditional}, "
                            f"optional in the binding is {name in optional}")
    for name in signatures:
        if name not in declared:
            problems.append(f"{name}: bound, but not in the header")
    return problems


@pytest.fixture(scope="module")
def header() -> str:
    return HEADER.read_text()


def test_every_prototype_matches_its_binding(header: str) -> None:
    assert len(prototypes(header)) >= 37
    assert drift(header, _ffi.SIGNATURES, _ffi.OPTIONAL) == []


def test_the_drift_check_catches_each_kind_of_drift(header: str) -> None:
    added = header.replace("const char *opc_version(void);",
                           "const char *opc_version(void);\nvoid opc_new_thing(int64_t n);")
    assert drift(added, _ffi.SIGNATURES, _ffi.OPTIONAL) == [
        "opc_new_thing: in the header, no binding"]
    removed = header.replace("opc_status opc_purge(opc_store *store, size_t *out_count);", "")
    assert drift(removed, _ffi.SIGNATURES, _ffi.OPTIONAL) == [
        "opc_purge: bound, but not in the header"]
    arity = header.replace("opc_status opc_purge(opc_store *store, size_t *out_count);",
                           "opc_status opc_purge(opc_store *store);")
    assert drift(arity, _ffi.SIGNATURES, _ffi.OPTIONAL) == [
        "opc_purge: 1 parameters, bound with 2"]
    retyped = header.replace("int64_t n,", "uint16_t n,", 1)
    assert drift(retyped, _ffi.SIGNATURES, _ffi.OPTIONAL) == [
        f"opc_project_events_increment: parameter 3 is uint16_t, bound as {c_int64}"]
    returns = header.replace("uint16_t opc_response_status(", "size_t opc_response_status(")
    assert drift(returns, _ffi.SIGNATURES, _ffi.OPTIONAL) == [
        f"opc_response_status: returns size_t, bound as {c_uint16}"]


def test_the_loaded_library_has_every_declaration_applied() -> None:
    lib = _ffi.lib()
    for name, (restype, argtypes) in _ffi.SIGNATURES.items():
        if name in _ffi.OPTIONAL and not hasattr(lib, name):
            continue
        function = getattr(lib, name)
        assert function.restype is restype, name
        assert list(function.argtypes) == argtypes, name


def test_principal_layout_matches_the_header(header: str) -> None:
    fields = principal_fields(header)
    bound = list(_ffi.opc_principal._fields_)
    assert [n for n, _ in fields] == [n for n, _ in bound]
    for (name, expected), (_, actual) in zip(fields, bound):
        assert same_ctype(expected, actual), name


def test_token_info_layout_matches_the_header(header: str) -> None:
    fields = principal_fields(header, "opc_token_info")
    bound = list(_ffi.opc_token_info._fields_)
    assert [n for n, _ in fields] == [n for n, _ in bound]
    for (name, expected), (_, actual) in zip(fields, bound):
        assert same_ctype(expected, actual), name


def test_enum_values_match_the_header(header: str) -> None:
    assert enum_values(header, "opc_status") == _ffi.STATUS
    assert enum_values(header, "opc_family") == _ffi.FAMILY
    assert enum_values(header, "opc_client_type") == _ffi.CLIENT_TYPE


def test_version_and_sizes_match_the_header(header: str) -> None:
    macros = defines(header)
    assert macros["OPCORE_VERSION"] == f'"{_ffi.HEADER_VERSION}"'
    assert int(macros["OPC_ID_SIZE"]) == _ffi.ID_SIZE
    assert int(macros["OPC_MESSAGE_SIZE"]) == _ffi.MESSAGE_SIZE
    assert int(macros["OPC_TOKEN_ERROR_SIZE"]) == _ffi.TOKEN_ERROR_SIZE
    assert int(macros["OPC_SCOPE_SIZE"]) == _ffi.SCOPE_SIZE
    assert int(macros["OPC_SUBJECT_SIZE"]) == _ffi.SUBJECT_SIZE
    assert int(macros["OPC_TOKEN_TEXT_SIZE"]) == _ffi.TOKEN_TEXT_SIZE


def test_status_strings_come_from_the_library() -> None:
    lib = _ffi.lib()
    assert lib.opc_status_str(_ffi.STATUS["OPC_NOT_FOUND"]) == b"not found"
    assert lib.opc_status_str(_ffi.STATUS["OPC_INVALID_INPUT"]) == b"invalid input"
    assert lib.opc_status_str(12345) == b"unknown status"
    assert _ffi.status_name(200) == "OPC_NOT_FOUND"
    assert _ffi.status_name(12345) == "OPC_STATUS_12345"
