"""opcore for Python: the embedded storage-and-auth core, through its C ABI (ctypes).

    import opcore

    with opcore.Store("app.db") as store:
        org = store.create_organization("Acme")
        root = org["client"]
        manage = store.manage(root["id"], root["secret"])
        project = manage.projects.create(name="Web", cors=["https://acme.com"])

The library is loaded from ``OPCORE_LIB`` when set, else from the copy installed inside this
package (``opcore/_lib/``), else (an editable install in a checkout) from the checkout's
``target/release`` or ``target/debug``. Calls are synchronous; :mod:`opcore.aio` has the same
calls as coroutines. Result shapes are in :mod:`opcore.types`. A store used in a child process
after ``os.fork()`` raises :class:`StoreError` with code ``OPC_FORKED``.
"""

from ._store import (
    Admin,
    AdminClientCollection,
    AdminCollection,
    ClientCollection,
    Collection,
    Family,
    Manage,
    Principal,
    RateLimit,
    Response,
    Store,
    TokenInfo,
    version,
)
from . import aio, types
from .errors import (
    Forbidden,
    NotFound,
    OpcoreError,
    RateLimited,
    StoreError,
    Unauthorized,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "aio",
    "types",
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
    "OpcoreError",
    "ValidationError",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "StoreError",
]
