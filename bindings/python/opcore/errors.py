"""Exceptions raised by opcore: one class per outcome, all under :class:`OpcoreError`.

A Manage API response with an error status and a refused :meth:`Store.authenticate` raise the
class of their HTTP status; a failed C call raises the class of its ``opc_status``:

=========================  ===========  =======================================================
class                      HTTP status  C status
=========================  ===========  =======================================================
:class:`ValidationError`   400          ``OPC_INVALID_INPUT``, ``OPC_CONFLICT``
:class:`Unauthorized`      401
:class:`Forbidden`         403
:class:`NotFound`          404          ``OPC_NOT_FOUND``
:class:`RateLimited`       429
:class:`StoreError`        5xx          every other status (``OPC_STORAGE``, ``OPC_BUSY``,
                                        ``OPC_OPEN_FAILED``, ``OPC_INVALID_OPTIONS``, …)
:class:`OpcoreError`       405, 413
=========================  ===========  =======================================================

No message ever contains a secret.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type


class OpcoreError(Exception):
    """Base class of every opcore failure.

    Attributes:
        message: what went wrong, in English (the response body's ``message``, or the
            library's ``opc_last_error_message()``).
        status: the HTTP status of the outcome (400, 401, …), or ``None`` when a C call failed
            without a response.
        code: the C status name (``"OPC_NOT_FOUND"``, ``"OPC_STORAGE"``, …) when a C call
            failed, else ``None``.
        headers: the response headers the outcome carries (lowercase names), e.g. the
            ``x-ratelimit-*`` headers and ``retry-after``; empty when there are none.
        error: the response body's ``error`` (``"Unauthorized"``, or for bearer tokens
            ``"invalid_api_key"``, ``"token_expired"``, …), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        error: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.headers: Dict[str, str] = dict(headers or {})
        self.error = error

    def __str__(self) -> str:
        prefix = f"{self.code}: " if self.code else (f"{self.status}: " if self.status else "")
        return prefix + self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
                f"code={self.code!r})")


class ValidationError(OpcoreError):
    """The input broke one or more rules (HTTP 400).

    Attributes:
        details: one ``{"path": [...], "message": "..."}`` per offending field, as in the
            Manage API's 400 body; empty when the refusal is about stored state rather than a
            field (e.g. deleting an organization's last root client), and when the failure
            came from a direct C call (:meth:`Store.create_organization`), whose message then
            names every offending field.
    """

    def __init__(self, message: str, *, details: Optional[List[Dict[str, Any]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.details: List[Dict[str, Any]] = list(details or [])

    def __str__(self) -> str:
        text = super().__str__()
        if self.details:
            text += " (" + "; ".join(_describe(d) for d in self.details) + ")"
        return text


def _describe(detail: Dict[str, Any]) -> str:
    """``cors[2]: Invalid CORS origin …``, as the library's own messages print a field."""
    path = ""
    for index, segment in enumerate(detail.get("path", [])):
        if isinstance(segment, int):
            path += f"[{segment}]"
        else:
            path += f".{segment}" if index else str(segment)
    message = str(detail.get("message", ""))
    return f"{path}: {message}" if path else message


class Unauthorized(OpcoreError):
    """Missing or invalid credentials, or a client type the API family refuses (HTTP 401)."""


class Forbidden(OpcoreError):
    """The client may not reach the requested project (HTTP 403)."""


class NotFound(OpcoreError):
    """The resource does not exist in the caller's organization (HTTP 404)."""


class RateLimited(OpcoreError):
    """Too many requests, or too many failed attempts (HTTP 429).

    Attributes:
        retry_after: seconds until the next request can succeed (the ``retry-after`` header),
            or ``None`` if the library did not say.
    """

    def __init__(self, message: str, *, retry_after: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class StoreError(OpcoreError):
    """Storage or other failure: SQLite failed or stayed busy, the file cannot be opened as a
    store, the options are invalid, an argument was refused, or an internal error. ``code``
    holds the C status name (``"OPC_STORAGE"``, ``"OPC_BUSY"``, ``"OPC_OPEN_FAILED"``,
    ``"OPC_INVALID_OPTIONS"``, …); for a Manage API 5xx response it is ``None`` and ``status``
    is the HTTP status.
    """


_BY_HTTP_STATUS: Dict[int, Type[OpcoreError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}

_BY_C_STATUS: Dict[str, Type[OpcoreError]] = {
    "OPC_INVALID_INPUT": ValidationError,
    "OPC_CONFLICT": ValidationError,
    "OPC_NOT_FOUND": NotFound,
}

_C_STATUS_HTTP = {"OPC_INVALID_INPUT": 400, "OPC_CONFLICT": 400, "OPC_NOT_FOUND": 404}


def from_response(status: int, body: Any, headers: Mapping[str, str],
                  detail: str = "") -> OpcoreError:
    """The exception for an error response of the Manage API (``status`` >= 400).

    ``detail`` is the library's internal cause of a 5xx response, appended to the message
    for logs (it never contains a secret).
    """
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = f"HTTP {status}"
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, str) and error else None
    if status >= 500:
        text = f"{message}: {detail}" if detail else message
        return StoreError(text, status=status, headers=headers, error=error)
    cls = _BY_HTTP_STATUS.get(status, OpcoreError)
    if cls is ValidationError:
        details = body.get("details") if isinstance(body, dict) else None
        return ValidationError(message, status=status, headers=headers, error=error,
                               details=details if isinstance(details, list) else [])
    if cls is RateLimited:
        return RateLimited(message, status=status, headers=headers, error=error,
                           retry_after=_int_or_none(headers.get("retry-after")))
    return cls(message, status=status, headers=headers, error=error)


def from_status(code: str, message: str) -> OpcoreError:
    """The exception for a C call that returned the non-OK status named ``code``."""
    cls = _BY_C_STATUS.get(code, StoreError)
    return cls(message or code, code=code, status=_C_STATUS_HTTP.get(code))


def _int_or_none(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
