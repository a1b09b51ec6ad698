"""asyncio wrappers: the same calls as :class:`opcore.Store`, awaited on a worker thread so the
event loop stays free while argon2 runs (tens of milliseconds for credentials not seen before).

    import opcore
    from opcore.aio import AsyncStore

    async def main():
        async with await AsyncStore.open("app.db") as store:
            org = await store.create_organization("Acme")
            principal = await store.authenticate("track", client_id, secret)

Each method runs the synchronous call with ``asyncio.to_thread`` (``run_in_executor`` on
Python 3.8): ctypes releases the GIL during the call, so other coroutines run meanwhile. A
failure raises the same exception class, with the same detail, as the synchronous call (the
detail is read on the thread that made the call). Cancelling the awaiting task does not
interrupt a call already running in the library; its result is discarded.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from typing import Any, Awaitable, Callable, Generic, List, Optional, TypeVar, Union, cast

from ._store import (
    Admin,
    AdminCollection,
    Body,
    Collection,
    Family,
    Headers,
    Manage,
    PathLike,
    Principal,
    Response,
    Store,
    TokenInfo,
)
from .types import Bootstrap, Deleted, FamilyName, Organization, RotatedClient

__all__ = ["AsyncStore", "AsyncManage", "AsyncAdmin", "AsyncCollection", "to_thread"]

T = TypeVar("T")
R = TypeVar("R")
C = TypeVar("C")
CI = TypeVar("CI")
UI = TypeVar("UI")


def to_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
    """``asyncio.to_thread`` (Python 3.9+), or its equivalent on 3.8."""
    if sys.version_info >= (3, 9):
        return asyncio.to_thread(function, *args, **kwargs)
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(None, functools.partial(function, *args, **kwargs))


class AsyncStore:
    """An :class:`opcore.Store` with awaitable methods. Open it with ``await
    AsyncStore.open(path, **options)`` or wrap an open store: ``AsyncStore(store)``.
    ``store.sync`` is the wrapped :class:`Store` for synchronous calls."""

    def __init__(self, store: Store) -> None:
        self.sync = store

    @classmethod
    async def open(cls, path: PathLike, **options: Any) -> "AsyncStore":
        """Opens (creating and migrating) a store on a worker thread."""
        return cls(await to_thread(Store, path, **options))

    async def close(self) -> None:
        """Closes the store, after calls in progress have returned."""
        await to_thread(self.sync.close)

    async def __aenter__(self) -> "AsyncStore":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<opcore.aio.AsyncStore {self.sync!r}>"

    async def create_organization(self, name: str) -> Bootstrap:
        return await to_thread(self.sync.create_organization, name)

    async def get_organization(self, organization_id: str) -> Organization:
        return await to_thread(self.sync.get_organization, organization_id)

    async def list_organizations(self) -> List[Organization]:
        return await to_thread(self.sync.list_organizations)

    async def delete_organization(self, organization_id: str) -> None:
        await to_thread(self.sync.delete_organization, organization_id)

    async def purge(self) -> int:
        return await to_thread(self.sync.purge)

    async def increment_events(self, organization_id: str, project_id: str, n: int = 1) -> int:
        return await to_thread(self.sync.increment_events, organization_id, project_id, n)

    async def handle(self, method: str, target: str, headers: Optional[Headers] = None,
                     body: Body = None, *, source: Optional[str] = None) -> Response:
        return await to_thread(self.sync.handle, method, target, headers, body, source=source)

    async def authenticate(self, family: Union[Family, FamilyName, int],
                           client_id: Optional[str], secret: Optional[str] = None,
                           origin: Optional[str] = None, project_id: Optional[str] = None,
                           source: Optional[str] = None) -> Principal:
        return await to_thread(self.sync.authenticate, family, client_id, secret, origin,
                               project_id, source)

    async def authorize(self, *args: Any, **kwargs: Any) -> str:
        return await to_thread(self.sync.authorize, *args, **kwargs)

    async def verify_token(self, token: Optional[str]) -> TokenInfo:
        return await to_thread(self.sync.verify_token, token)

    def manage(self, client_id: str, secret: str, *,
               source: Optional[str] = None) -> "AsyncManage":
        """The Manage API for one root client, awaitable (no call is made here)."""
        return AsyncManage(self.sync.manage(client_id, secret, source=source))

    def admin(self, organization_id: str) -> "AsyncAdmin":
        """One organization's resources through the direct C API, awaitable."""
        return AsyncAdmin(self.sync.admin(organization_id))


class AsyncCollection(Generic[R, C, CI, UI]):
    """A :class:`Collection` or :class:`AdminCollection` with awaitable methods."""

    def __init__(self, collection: Union[Collection[R, C, CI, UI],
                                         AdminCollection[R, C, CI, UI]]) -> None:
        self.sync = collection

    async def list(self, project_id: Optional[str] = None) -> List[R]:
        return await to_thread(self.sync.list, project_id)

    async def get(self, resource_id: str) -> R:
        return await to_thread(self.sync.get, resource_id)

    async def create(self, fields: Optional[CI] = None, **kwargs: Any) -> C:
        return await to_thread(self.sync.create, fields, **kwargs)

    async def update(self, resource_id: str, fields: Optional[UI] = None, **kwargs: Any) -> R:
        return await to_thread(self.sync.update, resource_id, fields, **kwargs)

    async def delete(self, resource_id: str) -> Deleted:
        return await to_thread(self.sync.delete, resource_id)

    async def rotate(self, resource_id: str, grace_seconds: int = 0) -> RotatedClient:
        """Clients only: :meth:`ClientCollection.rotate`, awaitable."""
        rotate = getattr(self.sync, "rotate", None)
        if rotate is None:
            raise AttributeError("only clients can be rotated")
        return cast(RotatedClient, await to_thread(rotate, resource_id, grace_seconds))


class AsyncManage:
    """:class:`Manage` with awaitable collections and :meth:`request`."""

    def __init__(self, manage: Manage) -> None:
        self.sync = manage
        self.projects = AsyncCollection(manage.projects)
        self.clients = AsyncCollection(manage.clients)
        self.references = AsyncCollection(manage.references)

    async def request(self, method: str, path: str, body: Body = None) -> Any:
        return await to_thread(self.sync.request, method, path, body)


class AsyncAdmin:
    """:class:`Admin` with awaitable collections."""

    def __init__(self, admin: Admin) -> None:
        self.sync = admin
        self.projects = AsyncCollection(admin.projects)
        self.clients = AsyncCollection(admin.clients)
        self.references = AsyncCollection(admin.references)
