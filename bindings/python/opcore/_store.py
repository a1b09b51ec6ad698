"""The Pythonic surface: :class:`Store`, :class:`Manage`, :class:`Admin`, :class:`Response`,
:class:`Principal`."""

from __future__ import annotations

import ctypes
import enum
import json
import os
import threading
import weakref
from contextlib import contextmanager
from ctypes import byref, c_char_p, c_int64, c_size_t, c_void_p
from dataclasses import dataclass, field
from typing import (
    Any,
    cast,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import quote, urlencode

from . import _ffi
from .errors import StoreError, from_response, from_status
from .types import (
    Bootstrap,
    Client,
    ClientCreate,
    ClientUpdate,
    CreatedClient,
    CreatedProject,
    Deleted,
    FamilyName,
    Organization,
    PrincipalClientType,
    Project,
    ProjectCreate,
    ProjectUpdate,
    Reference,
    ReferenceCreate,
    ReferenceUpdate,
    RotatedClient,
)

#: The message of a store used in a child process after ``os.fork()``.
FORKED_MESSAGE = ("this Store was opened by the parent process and cannot be used after "
                  "fork(); open a new Store in this process")

__all__ = [
    "Store",
    "Manage",
    "Collection",
    "ClientCollection",
    "Admin",
    "AdminCollection",
    "AdminClientCollection",
    "Response",
    "Principal",
    "TokenInfo",
    "RateLimit",
    "Family",
    "version",
]

PathLike = Union[str, "os.PathLike[str]"]
Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
Body = Union[bytes, str, Mapping[str, Any], List[Any], None]


def version() -> str:
    """The loaded library's version (``opc_version()``), e.g. ``"0.1.0"``."""
    text: bytes = _ffi.lib().opc_version()
    return text.decode()


class Family(enum.IntEnum):
    """The API family a request belongs to (``opc_family``)."""

    TRACK = 0
    EXPORT = 1
    INSIGHTS = 2
    MANAGE = 3


_CLIENT_TYPES: Dict[int, PrincipalClientType] = {1: "read", 2: "write", 3: "root"}


def _cstr(value: str, what: str) -> bytes:
    """UTF-8 bytes for a C string argument; refuses what C cannot carry."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} contains a NUL character")
    return value.encode("utf-8")


def _optional_cstr(value: Optional[str], what: str) -> Optional[bytes]:
    return None if value is None else _cstr(value, what)


def _check(status: int) -> None:
    if status != 0:
        raise from_status(_ffi.status_name(status), _ffi.last_error())


@dataclass(frozen=True)
class Response:
    """A Manage API response, as an HTTP server would send it.

    Attributes:
        status: the HTTP status (200, 400, 401, 404, 429, …).
        headers: header names (lowercase) to values, in the order a server sends them.
        body: the JSON body as text.
        json: the body parsed (``{"data": …}``, ``{"success": true}`` or an error object).
        internal_error: for a 5xx response, the library's internal cause, for the host's log
            (never sent to clients, never a secret); ``None`` otherwise.
    """

    status: int
    headers: Dict[str, str]
    body: str
    json: Any = field(repr=False)
    internal_error: Optional[str] = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def raise_for_status(self) -> "Response":
        """Raises the :class:`OpcoreError` subclass for an error status; returns self otherwise."""
        if self.status >= 400:
            raise from_response(self.status, self.json, self.headers, self.internal_error or "")
        return self


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit decision for one request: the ``x-ratelimit-*`` header values."""

    limit: int
    remaining: int
    reset: int


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may reach: the outcome of an allowed :meth:`Store.authenticate`.

    Attributes:
        client_id: the client's id (lowercase UUID).
        client_type: ``"read"``, ``"write"`` or ``"root"``.
        organization_id: the client's organization.
        client_project_id: the client's own project, ``None`` for an organization-level client.
        project_id: the project this request may act on (the requested one, else the
            client's own), or ``None``.
        rate_limit: the rate-limit decision to send as headers.
        status: the HTTP status to answer with (200).
    """

    client_id: str
    client_type: PrincipalClientType
    organization_id: str
    client_project_id: Optional[str]
    project_id: Optional[str]
    rate_limit: Optional[RateLimit]
    status: int = 200

    @property
    def headers(self) -> Dict[str, str]:
        """The ``x-ratelimit-*`` headers the host's response must carry."""
        return _rate_headers(self.rate_limit, None)


@dataclass(frozen=True)
class TokenInfo:
    """What an active access token proves: the outcome of :meth:`Store.verify_token`.

    Attributes:
        client_id: the client the token was issued to.
        client_type: ``"read"``, ``"write"`` or ``"root"``.
        organization_id: the client's organization.
        client_project_id: the client's own project, ``None`` for an organization-level client.
        scope: the API families the token may be used for, space-separated
            (``"track export insights manage"`` or part of it).
        subject: the user an authorization-code token acts for; ``None`` for client
            credentials.
        issued_at: Unix time in seconds.
        expires_at: Unix time in seconds.
    """

    client_id: str
    client_type: PrincipalClientType
    organization_id: str
    client_project_id: Optional[str]
    scope: str
    subject: Optional[str]
    issued_at: int
    expires_at: int


def _rate_headers(rate: Optional[RateLimit], retry_after: Optional[int]) -> Dict[str, str]:
    headers: Dict[str, str] = {}
    if rate is not None:
        headers["x-ratelimit-limit"] = str(rate.limit)
        headers["x-ratelimit-remaining"] = str(rate.remaining)
        headers["x-ratelimit-reset"] = str(rate.reset)
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    return headers


def _text(buffer: bytes) -> str:
    return buffer.decode("utf-8", "replace")


class Store:
    """An open opcore store: one SQLite file holding organizations, projects, clients and
    references.

    ``Store(path, **options)`` opens (creating and migrating) the file; ``options`` are the
    keys of ``opc_store_open``'s JSON options, e.g.
    ``Store("app.db", argon2={"m_cost": 19456, "t_cost": 2, "p_cost": 1},
    rate_limits={"manage": {"limit": 20, "window_seconds": 10}})``. Unknown keys raise
    :class:`StoreError` with code ``OPC_INVALID_OPTIONS``; a file that cannot be an opcore
    store raises code ``OPC_OPEN_FAILED``.

    Use it as a context manager, or call :meth:`close`; it is also closed when garbage
    collected. Every call is synchronous and thread-safe: ctypes releases the GIL while the
    library works, and :meth:`close` waits for calls in progress on other threads.
    """

    def __init__(self, path: PathLike, **options: Any) -> None:
        lib = _ffi.lib()
        raw_path = os.fspath(path)
        if isinstance(raw_path, bytes):
            raw_path = os.fsdecode(raw_path)
        encoded_path = _cstr(raw_path, "path")
        options_json = json.dumps(options).encode() if options else None
        handle = c_void_p()
        _check(lib.opc_store_open(encoded_path, options_json, byref(handle)))
        self._handle: Optional[c_void_p] = handle
        self._pid = os.getpid()
        self._path = raw_path
        self._active = 0
        self._state = threading.Condition(threading.Lock())
        self._finalizer = weakref.finalize(self, lib.opc_store_close, handle)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the store; later calls raise :class:`StoreError`. Closing twice is a no-op.

        Waits for calls in progress on other threads to return first. In a child process after
        ``os.fork()`` it only forgets the handle: the parent's connections are left alone.
        """
        if os.getpid() != self._pid:
            self._handle = None
            self._finalizer()  # opc_store_close in a child releases nothing the parent uses
            return
        with self._state:
            if self._handle is None:
                return
            self._handle = None
            while self._active:
                self._state.wait()
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._handle is None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<opcore.Store {self._path!r} {state}>"

    @contextmanager
    def _use(self) -> Iterator[c_void_p]:
        # Checked before taking the lock: another thread of the parent may have held it at
        # the fork, and it would then never be released in the child.
        if os.getpid() != self._pid:
            raise StoreError(FORKED_MESSAGE, code="OPC_FORKED")
        with self._state:
            handle = self._handle
            if handle is None:
                raise StoreError("the store is closed")
            self._active += 1
        try:
            yield handle
        finally:
            with self._state:
                self._active -= 1
                if not self._active:
                    self._state.notify_all()

    def _json_call(self, function: str, *args: Any) -> Any:
        out = c_void_p()
        with self._use() as handle:
            _check(getattr(_ffi.lib(), function)(handle, *args, byref(out)))
            return json.loads(_ffi.take_string(out))

    # -- organizations ----------------------------------------------------------------------

    def create_organization(self, name: str) -> Bootstrap:
        """Bootstrap: creates an organization and its first ``root`` client.

        Returns ``{"organization": {...}, "client": {..., "secret": "sec_..."}}``. This is the
        only time the root client's secret is shown: keep it.

        Raises:
            ValidationError: the name is empty or longer than 255 characters.
        """
        return cast(Bootstrap, self._json_call("opc_organization_create", _cstr(name, "name")))

    def get_organization(self, organization_id: str) -> Organization:
        """One organization: ``{"id", "name", "createdAt", "updatedAt"}``.

        Raises:
            NotFound: no such organization.
        """
        return cast(Organization, self._json_call(
            "opc_organization_get", _cstr(organization_id, "organization_id")))

    def list_organizations(self) -> List[Organization]:
        """Every organization in the store, oldest first."""
        return cast(List[Organization], self._json_call("opc_organization_list"))

    def delete_organization(self, organization_id: str) -> None:
        """Removes an organization with everything in it; its clients lose access at once.

        Raises:
            NotFound: no such organization.
        """
        with self._use() as handle:
            _check(_ffi.lib().opc_organization_delete(
                handle, _cstr(organization_id, "organization_id")))

    def purge(self) -> int:
        """Removes projects past their deletion time (also done on open); returns how many."""
        count = c_size_t()
        with self._use() as handle:
            _check(_ffi.lib().opc_purge(handle, byref(count)))
        return count.value

    def increment_events(self, organization_id: str, project_id: str, n: int = 1) -> int:
        """Adds ``n`` to the project's ``eventsCount`` atomically; returns the new count.

        Raises:
            NotFound: the project is not a live project of the organization.
        """
        total = c_int64()
        with self._use() as handle:
            _check(_ffi.lib().opc_project_events_increment(
                handle, _cstr(organization_id, "organization_id"),
                _cstr(project_id, "project_id"), c_int64(n), byref(total)))
        return total.value

    # -- the Manage API ---------------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Optional[Headers] = None,
        body: Body = None,
        *,
        source: Optional[str] = None,
    ) -> Response:
        """Serves one raw Manage API request exactly as the HTTP server does.

        Args:
            method: ``"GET"``, ``"POST"``, ``"PATCH"`` or ``"DELETE"``.
            target: path and optional query, e.g. ``"/manage/clients?projectId=web"``.
            headers: request headers (a mapping or ``(name, value)`` pairs), including
                ``openpanel-client-id`` and ``openpanel-client-secret``.
            body: ``bytes`` or ``str`` sent as is; a dict or list is sent as JSON.
            source: the caller's network address, for the failed-attempt throttle.

        Returns:
            The :class:`Response`, whatever its status (4xx and 5xx included; see
            :meth:`Response.raise_for_status`).
        """
        method_b = _cstr(method, "method")
        target_b = _cstr(target, "target")
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        count = len(pairs)
        names = (c_char_p * count)(*(_cstr(n, "header name") for n, _ in pairs))
        values = (c_char_p * count)(*(_cstr(v, "header value") for _, v in pairs))
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        elif isinstance(body, (Mapping, list)):
            payload = json.dumps(body).encode("utf-8")
        else:
            raise TypeError(f"body must be bytes, str, dict or list, not {type(body).__name__}")
        source_b = _optional_cstr(source, "source")
        lib = _ffi.lib()
        out = c_void_p()
        with self._use() as handle:
            if source_b is None:
                status = lib.opc_handle(handle, method_b, target_b, names, values, count,
                                        payload, len(payload), byref(out))
            else:
                status = lib.opc_handle_from(handle, source_b, method_b, target_b, names,
                                             values, count, payload, len(payload), byref(out))
            _check(status)
        try:
            return _read_response(lib, out)
        finally:
            lib.opc_response_free(out)

    def manage(self, client_id: str, secret: str, *, source: Optional[str] = None) -> "Manage":
        """The Manage API as a root client: ``.projects``, ``.clients`` and ``.references``.

        Every call goes through :meth:`handle`, so authentication, rate limits, validation and
        error messages are exactly the HTTP API's.
        """
        return Manage(self, client_id, secret, source=source)

    def admin(self, organization_id: str) -> "Admin":
        """Direct access to one organization's ``.projects``, ``.clients`` and ``.references``,
        with the same methods as :meth:`manage` but no credentials and no rate limit (the
        ``opc_project_*``, ``opc_client_*`` and ``opc_reference_*`` C functions). For the host
        itself, e.g. to create a client with ``ignoreCorsAndSecret``, which only this API
        accepts. Validation errors carry their fields in the message (``details`` is empty).
        """
        return Admin(self, _cstr(organization_id, "organization_id"))

    # -- authentication for the host's own APIs -----------------------------------------------

    def authenticate(
        self,
        family: Union[Family, FamilyName, int],
        client_id: Optional[str],
        secret: Optional[str] = None,
        origin: Optional[str] = None,
        project_id: Optional[str] = None,
        source: Optional[str] = None,
    ) -> Principal:
        """Authenticates and authorizes one request of ``family`` and counts it against the
        client's rate limit.

        Args:
            family: ``"track"``, ``"export"``, ``"insights"``, ``"manage"`` or a :class:`Family`.
            client_id: the ``openpanel-client-id`` header (``None`` = absent).
            secret: the ``openpanel-client-secret`` header (``None`` = absent; Track requests
                may omit it when ``origin`` matches the project's CORS list).
            origin: the request's ``Origin`` header.
            project_id: the project the request is about (``None`` = the client's own).
            source: the caller's network address, for the failed-attempt throttle.

        Returns:
            The :class:`Principal` when the request may be served.

        Raises:
            Unauthorized: bad or missing credentials, or a client type the family refuses.
            Forbidden: a project outside the client's scope.
            RateLimited: rate limit exceeded, or too many failed attempts (``retry_after``).
            StoreError: no decision could be made (storage failure).
        """
        code = _family_code(family)
        out = _ffi.opc_principal()
        args = (
            _optional_cstr(client_id, "client_id"),
            _optional_cstr(secret, "secret"),
            _optional_cstr(origin, "origin"),
            _optional_cstr(project_id, "project_id"),
            _optional_cstr(source, "source"),
        )
        with self._use() as handle:
            _check(_ffi.lib().opc_authenticate(handle, code, *args, byref(out)))
        rate = (RateLimit(out.rate_limit, out.rate_remaining, out.rate_reset_seconds)
                if out.has_rate_limit else None)
        if not out.allowed:
            retry_after = out.retry_after_seconds if out.has_retry_after else None
            raise from_response(out.http_status, {"message": _text(out.message)},
                                _rate_headers(rate, retry_after))
        return Principal(
            client_id=_text(out.client_id),
            client_type=_CLIENT_TYPES.get(out.client_type, "none"),
            organization_id=_text(out.organization_id),
            client_project_id=_text(out.client_project_id) or None,
            project_id=_text(out.project_id) or None,
            rate_limit=rate,
            status=out.http_status,
        )


    # -- OAuth 2.0 ---------------------------------------------------------------------------

    def authorize(
        self,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        subject: str,
        *,
        scope: Optional[str] = None,
        state: Optional[str] = None,
        code_challenge_method: str = "S256",
    ) -> str:
        """Issues an authorization code once the host's user has consented, and returns the
        URL to redirect the user agent to (``opc_authorize``).

        The URL carries ``code`` (valid at most 10 minutes, single-use) and ``state``; or,
        when the app's request was wrong in a way it must learn (method not ``S256``,
        malformed challenge, scope beyond the client's type), ``error``,
        ``error_description`` and ``state``. Redirect to it in both cases.

        Args:
            client_id: the third-party app (an opcore client).
            redirect_uri: exactly one of the client's registered ``redirectUris``.
            code_challenge: the app's PKCE S256 challenge (43 base64url characters).
            subject: the user who consented (1 to 255 characters).
            scope: space-separated API families; ``None`` for all the client's type allows.
            state: returned unchanged in the redirect.
            code_challenge_method: must be ``"S256"``.

        Raises:
            NotFound: unknown client — show an error, do not redirect.
            ValidationError: ``redirect_uri`` not registered for the client, or an invalid
                ``subject`` — show an error, do not redirect.
        """
        out = c_void_p()
        args = (
            _cstr(client_id, "client_id"),
            _cstr(redirect_uri, "redirect_uri"),
            _optional_cstr(scope, "scope"),
            _cstr(code_challenge, "code_challenge"),
            _cstr(code_challenge_method, "code_challenge_method"),
            _optional_cstr(state, "state"),
            _cstr(subject, "subject"),
        )
        with self._use() as handle:
            _check(_ffi.lib().opc_authorize(handle, *args, byref(out)))
            return _ffi.take_string(out)

    def verify_token(self, token: Optional[str]) -> TokenInfo:
        """Checks an access token presented as ``Authorization: Bearer <token>``, without
        argon2 and without counting it against any rate limit (``opc_token_verify``).

        Args:
            token: the header's value after ``Bearer``; ``None`` or ``""`` when it carried
                none.

        Raises:
            Unauthorized: with ``error`` ``"missing_api_key"``, ``"invalid_api_key"`` (not a
                token opcore issued, unknown, revoked, or its client is gone) or
                ``"token_expired"``, and the matching ``message``.
        """
        out = _ffi.opc_token_info()
        with self._use() as handle:
            _check(_ffi.lib().opc_token_verify(handle, _optional_cstr(token, "token"),
                                               byref(out)))
        if not out.active:
            raise from_response(out.http_status,
                                {"error": _text(out.error), "message": _text(out.message)}, {})
        return TokenInfo(
            client_id=_text(out.client_id),
            client_type=_CLIENT_TYPES.get(out.client_type, "none"),
            organization_id=_text(out.organization_id),
            client_project_id=_text(out.client_project_id) or None,
            scope=_text(out.scope),
            subject=_text(out.subject) or None,
            issued_at=out.issued_at,
            expires_at=out.expires_at,
        )


def _family_code(family: Union[Family, str, int]) -> int:
    if isinstance(family, str):
        try:
            return Family[family.upper()].value
        except KeyError:
            raise ValueError(
                f"unknown family {family!r}: use track, export, insights or manage") from None
    if isinstance(family, int):
        return int(family)
    raise TypeError(f"family must be a Family or str, not {type(family).__name__}")


def _read_response(lib: ctypes.CDLL, response: c_void_p) -> Response:
    status = lib.opc_response_status(response)
    # Read before any other call that returns a status replaces it.
    internal_error = (_ffi.last_error() or None) if status >= 500 else None
    raw = lib.opc_response_body(response) or b""
    headers: Dict[str, str] = {}
    name, value = c_char_p(), c_char_p()
    for index in range(lib.opc_response_header_count(response)):
        _check(lib.opc_response_header_at(response, index, byref(name), byref(value)))
        headers[_text(name.value or b"")] = _text(value.value or b"")
    body = raw.decode("utf-8")
    parsed = json.loads(body) if body else None
    return Response(status=status, headers=headers, body=body, json=parsed,
                    internal_error=internal_error)


class Manage:
    """The Manage API for one root client; see :meth:`Store.manage`.

    Attributes:
        projects: ``/manage/projects``.
        clients: ``/manage/clients``.
        references: ``/manage/references``.
    """

    def __init__(self, store: Store, client_id: str, secret: str, *,
                 source: Optional[str] = None) -> None:
        self._store = store
        self._headers = [("openpanel-client-id", client_id),
                         ("openpanel-client-secret", secret)]
        self._source = source
        self.projects: Collection[Project, CreatedProject, ProjectCreate, ProjectUpdate] = \
            Collection(self, "projects", filters=False)
        self.clients: ClientCollection = ClientCollection(self, "clients", filters=True)
        self.references: Collection[Reference, Reference, ReferenceCreate, ReferenceUpdate] = \
            Collection(self, "references", filters=True)

    def __repr__(self) -> str:
        return f"<opcore.Manage client {self._headers[0][1]!r}>"

    def request(self, method: str, path: str, body: Body = None) -> Any:
        """Sends ``method`` to ``/manage{path}``; returns the parsed body of a 2xx response.

        Raises the :class:`OpcoreError` subclass of any other status.
        """
        response = self._store.handle(method, "/manage" + path, self._headers, body,
                                      source=self._source)
        return response.raise_for_status().json


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _fields(fields: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    merged = dict(fields or {})
    merged.update({_camel(k): v for k, v in kwargs.items()})
    return merged


R = TypeVar("R")
C = TypeVar("C")
CI = TypeVar("CI")
UI = TypeVar("UI")


class Collection(Generic[R, C, CI, UI]):
    """One Manage API collection (projects, clients or references).

    Field names are the API's (``projectId``, ``crossDomain``, …); keyword arguments may also
    be written in snake_case (``project_id=...``) and are sent in camelCase.
    """

    def __init__(self, manage: Manage, name: str, *, filters: bool) -> None:
        self._manage = manage
        self._name = name
        self._filters = filters

    def __repr__(self) -> str:
        return f"<opcore.Collection /manage/{self._name}>"

    def _item(self, resource_id: str) -> str:
        if not isinstance(resource_id, str):
            raise TypeError(f"id must be a str, not {type(resource_id).__name__}")
        return f"/{self._name}/{quote(resource_id, safe='')}"

    def list(self, project_id: Optional[str] = None) -> List[R]:
        """Every item, newest first; for clients and references, only those of ``project_id``
        when given."""
        path = f"/{self._name}"
        if project_id is not None:
            if not self._filters:
                raise TypeError(f"{self._name} cannot be filtered by project")
            path += "?" + urlencode({"projectId": project_id})
        return cast(List[R], self._manage.request("GET", path)["data"])

    def get(self, resource_id: str) -> R:
        """One item by id.

        Raises:
            NotFound: no such item in the organization.
        """
        return cast(R, self._manage.request("GET", self._item(resource_id))["data"])

    def create(self, fields: Optional[CI] = None, **kwargs: Any) -> C:
        """Creates an item from ``fields`` and/or keyword arguments; returns it (a created
        project or client includes its secret, shown this once).

        Raises:
            ValidationError: ``details`` names every offending field.
        """
        created = self._manage.request("POST", f"/{self._name}",
                                       _fields(cast(Optional[Mapping[str, Any]], fields), kwargs))
        return cast(C, created["data"])

    def update(self, resource_id: str, fields: Optional[UI] = None, **kwargs: Any) -> R:
        """Changes the given fields of an item; returns the updated item.

        Raises:
            NotFound: no such item.
            ValidationError: ``details`` names every offending field.
        """
        updated = self._manage.request("PATCH", self._item(resource_id),
                                       _fields(cast(Optional[Mapping[str, Any]], fields), kwargs))
        return cast(R, updated["data"])

    def delete(self, resource_id: str) -> Deleted:
        """Deletes an item (a project is scheduled for deletion); returns ``{"success": True}``.

        Raises:
            NotFound: no such item.
            ValidationError: the organization's last root client cannot be deleted.
        """
        return cast(Deleted, self._manage.request("DELETE", self._item(resource_id)))


def _grace_body(grace_seconds: int) -> Dict[str, Any]:
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int):
        raise TypeError(f"grace_seconds must be an int, not {type(grace_seconds).__name__}")
    return {"graceSeconds": grace_seconds}


class ClientCollection(Collection[Client, CreatedClient, ClientCreate, ClientUpdate]):
    """``/manage/clients``: a :class:`Collection` that can also rotate a client's secret."""

    def rotate(self, resource_id: str, grace_seconds: int = 0) -> RotatedClient:
        """Replaces the client's secret (``POST /manage/clients/{id}/rotate``); returns the
        client with its new ``secret`` (shown only this once) and ``previousSecretExpiresAt``.
        The old secret keeps working for ``grace_seconds`` (0 to 2592000; 0: it stops at once)
        and rotating again ends any earlier grace at once (docs/lifecycle.md).

        Raises:
            NotFound: no such client.
            ValidationError: ``grace_seconds`` out of range.
        """
        rotated = self._manage.request("POST", self._item(resource_id) + "/rotate",
                                       _grace_body(grace_seconds))
        return cast(RotatedClient, rotated["data"])



class Admin:
    """One organization's resources through the direct C API; see :meth:`Store.admin`.

    Attributes:
        projects: ``opc_project_*``.
        clients: ``opc_client_*``.
        references: ``opc_reference_*``.
    """

    def __init__(self, store: Store, organization_id: bytes) -> None:
        self._store = store
        self._organization = organization_id
        self.projects: AdminCollection[Project, CreatedProject, ProjectCreate, ProjectUpdate] = \
            AdminCollection(self, "project", filters=False)
        self.clients: AdminClientCollection = AdminClientCollection(self, "client", filters=True)
        self.references: AdminCollection[Reference, Reference, ReferenceCreate,
                                         ReferenceUpdate] = \
            AdminCollection(self, "reference", filters=True)

    def __repr__(self) -> str:
        return f"<opcore.Admin organization {self._organization.decode()!r}>"


class AdminCollection(Generic[R, C, CI, UI]):
    """Projects, clients or references of one organization, without the HTTP layer.

    Same methods, arguments and results as :class:`Collection`.
    """

    def __init__(self, admin: Admin, noun: str, *, filters: bool) -> None:
        self._admin = admin
        self._noun = noun
        self._filters = filters

    def __repr__(self) -> str:
        return f"<opcore.AdminCollection {self._noun}s>"

    def _call(self, verb: str, *args: Optional[bytes]) -> Any:
        store = self._admin._store
        return store._json_call(f"opc_{self._noun}_{verb}", self._admin._organization, *args)

    def list(self, project_id: Optional[str] = None) -> List[R]:
        """Every item, newest first (live projects only); clients and references of
        ``project_id`` when given."""
        if not self._filters:
            if project_id is not None:
                raise TypeError(f"{self._noun}s cannot be filtered by project")
            return cast(List[R], self._call("list"))
        return cast(List[R], self._call("list", _optional_cstr(project_id, "project_id")))

    def get(self, resource_id: str) -> R:
        """One item by id. Raises :class:`NotFound`."""
        return cast(R, self._call("get", _cstr(resource_id, "id")))

    def create(self, fields: Optional[CI] = None, **kwargs: Any) -> C:
        """Creates an item (a project or client includes its secret, shown this once)."""
        body = json.dumps(_fields(cast(Optional[Mapping[str, Any]], fields), kwargs)).encode()
        return cast(C, self._call("create", body))

    def update(self, resource_id: str, fields: Optional[UI] = None, **kwargs: Any) -> R:
        """Changes the given fields of an item; returns the updated item."""
        body = json.dumps(_fields(cast(Optional[Mapping[str, Any]], fields), kwargs)).encode()
        return cast(R, self._call("update", _cstr(resource_id, "id"), body))

    def delete(self, resource_id: str) -> Deleted:
        """Deletes an item (a project is scheduled for deletion); returns ``{"success": True}``,
        as the Manage API does."""
        store = self._admin._store
        with store._use() as handle:
            function = getattr(_ffi.lib(), f"opc_{self._noun}_delete")
            _check(function(handle, self._admin._organization, _cstr(resource_id, "id")))
        return Deleted(success=True)


class AdminClientCollection(AdminCollection[Client, CreatedClient, ClientCreate, ClientUpdate]):
    """``opc_client_*``: an :class:`AdminCollection` that can also rotate a client's secret
    (``opc_client_rotate``)."""

    def rotate(self, resource_id: str, grace_seconds: int = 0) -> RotatedClient:
        """As :meth:`ClientCollection.rotate`."""
        body = json.dumps(_grace_body(grace_seconds)).encode()
        return cast(RotatedClient, self._call("rotate", _cstr(resource_id, "id"), body))
