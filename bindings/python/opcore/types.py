"""Typed shapes of what the bindings return and accept: the Manage API's resources as
``TypedDict`` classes (the dicts are plain ``dict`` objects at run time) and the ``Literal``
families of names the API uses.

    from opcore.types import Project, ClientType

Field names are the API's (camelCase), exactly as in ``openapi.json``.
"""

from __future__ import annotations

import sys
from typing import List, Optional

if sys.version_info >= (3, 8):
    from typing import Literal, TypedDict
else:  # pragma: no cover - Python 3.8 is the minimum
    raise ImportError("opcore needs Python 3.8 or newer")

__all__ = [
    "FamilyName",
    "ClientType",
    "PrincipalClientType",
    "Tier",
    "Organization",
    "Project",
    "ProjectClient",
    "CreatedProject",
    "Client",
    "CreatedClient",
    "RotatedClient",
    "Reference",
    "Bootstrap",
    "Deleted",
    "ProjectCreate",
    "ProjectUpdate",
    "ClientCreate",
    "ClientUpdate",
    "ReferenceCreate",
    "ReferenceUpdate",
]

#: The API families ``authenticate()`` accepts by name (``Family`` is the enum).
FamilyName = Literal["track", "export", "insights", "manage"]
#: A client's access level.
ClientType = Literal["read", "write", "root"]
#: ``Principal.client_type``: a client's level, or ``"none"`` when the request was refused.
PrincipalClientType = Literal["none", "read", "write", "root"]
#: A client's tier (``None`` when unset).
Tier = Literal["free", "pro", "enterprise"]


class Organization(TypedDict):
    id: str
    name: str
    createdAt: str
    updatedAt: str


class Project(TypedDict):
    id: str
    name: str
    organizationId: str
    domain: Optional[str]
    cors: List[str]
    crossDomain: bool
    allowUnsafeRevenueTracking: bool
    filters: List[object]
    types: List[str]
    eventsCount: int
    createdAt: str
    updatedAt: str
    deleteAt: Optional[str]


class ProjectClient(TypedDict):
    """The default ``write`` client a project create returns, with its secret (shown once)."""

    id: str
    secret: str


class CreatedProject(Project):
    client: ProjectClient


class Client(TypedDict):
    id: str
    name: str
    type: ClientType
    projectId: Optional[str]
    organizationId: str
    ignoreCorsAndSecret: bool
    redirectUris: List[str]
    tier: Optional[Tier]
    expiresAt: Optional[str]
    lastUsedAt: Optional[str]
    createdAt: str
    updatedAt: str


class CreatedClient(Client):
    secret: str


class RotatedClient(CreatedClient):
    """``clients.rotate()``: the client, its new secret (shown only this once) and when the
    previous secret stops working (``None``: it already has)."""

    previousSecretExpiresAt: Optional[str]


class Reference(TypedDict):
    id: str
    projectId: str
    title: str
    description: Optional[str]
    date: str
    createdAt: str
    updatedAt: str


class Bootstrap(TypedDict):
    """``create_organization()``: the organization and its first ``root`` client, whose secret
    is shown only this once."""

    organization: Organization
    client: CreatedClient


class Deleted(TypedDict):
    success: bool


class _ProjectCreateRequired(TypedDict):
    name: str


class ProjectCreate(_ProjectCreateRequired, total=False):
    domain: Optional[str]
    cors: List[str]
    crossDomain: bool
    types: List[str]


class ProjectUpdate(TypedDict, total=False):
    name: str
    domain: Optional[str]
    cors: List[str]
    crossDomain: bool
    allowUnsafeRevenueTracking: bool


class _ClientCreateRequired(TypedDict):
    name: str


class ClientCreate(_ClientCreateRequired, total=False):
    projectId: Optional[str]
    type: ClientType
    redirectUris: List[str]
    tier: Optional[Tier]
    expiresAt: Optional[str]


class ClientUpdate(TypedDict, total=False):
    name: str
    type: ClientType
    projectId: Optional[str]
    redirectUris: List[str]
    tier: Optional[Tier]
    expiresAt: Optional[str]


class _ReferenceCreateRequired(TypedDict):
    projectId: str
    title: str


class ReferenceCreate(_ReferenceCreateRequired, total=False):
    description: Optional[str]
    datetime: str


class ReferenceUpdate(TypedDict, total=False):
    title: str
    description: Optional[str]
    datetime: str
