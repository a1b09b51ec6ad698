"""opcore for Python: the embedded storage-and-auth core, through its C ABI (ctypes).

    import opcore

    with opcore.Store("app.db") as store:
        org = store.create_organization("Acme")
        root = org["client"]
        manage = store.manage(root["id"], root["secret"])
        project = manage.projects.create(name="Web", cors=["https://acme.com"])

The library is loaded from ``OPCORE_LIB`` when set, else from the copy installed inside this
package (``opcore/_lib/``). Calls are synchronous.
"""

from ._store import (
    Admin,
    AdminCollection,
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
    "Store",
    "Manage",
    "Collection",
    "Admin",
    "AdminCollection",
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
