"""opcore.types: the TypedDicts name exactly the fields the library returns, and the Literal
families list exactly the values it accepts or returns."""

from __future__ import annotations

import typing
from typing import Any, Dict, get_args

import pytest

import opcore
from opcore import types


def keys(cls: Any) -> set:
    return set(typing.get_type_hints(cls))


def test_resources_match_their_typed_dicts(store: opcore.Store, org: Dict[str, Any],
                                           manage: opcore.Manage) -> None:
    assert set(org) == keys(types.Bootstrap)
    assert set(org["organization"]) == keys(types.Organization)
    assert set(org["client"]) == keys(types.CreatedClient)
    project = manage.projects.create(name="Web")
    assert set(project) == keys(types.CreatedProject)
    assert set(project["client"]) == keys(types.ProjectClient)
    assert set(manage.projects.get(project["id"])) == keys(types.Project)
    client = manage.clients.create(name="Reader", projectId=project["id"], type="read")
    assert set(client) == keys(types.CreatedClient)
    assert set(manage.clients.get(client["id"])) == keys(types.Client)
    reference = manage.references.create(projectId=project["id"], title="Launch")
    assert set(reference) == keys(types.Reference)
    assert manage.references.delete(reference["id"]) == {"success": True}
    admin = store.admin(org["organization"]["id"])
    assert admin.projects.delete(project["id"]) == {"success": True}
    assert set(store.get_organization(org["organization"]["id"])) == keys(types.Organization)


def test_literal_families() -> None:
    assert get_args(types.FamilyName) == ("track", "export", "insights", "manage")
    assert [f.name.lower() for f in opcore.Family] == list(get_args(types.FamilyName))
    assert get_args(types.ClientType) == ("read", "write", "root")
    assert get_args(types.Tier) == ("free", "pro", "enterprise")


@pytest.mark.parametrize("family", get_args(types.FamilyName))
def test_every_family_name_is_accepted(store: opcore.Store, org: Dict[str, Any],
                                       family: str) -> None:
    root = org["client"]
    principal = store.authenticate(family, root["id"], root["secret"])
    assert principal.client_type in get_args(types.PrincipalClientType)
    assert principal.client_type == "root"


def test_create_inputs_are_typed() -> None:
    hints = typing.get_type_hints(types.ClientCreate)
    assert hints["type"] == types.ClientType
    assert types.ProjectCreate.__required_keys__ == frozenset({"name"})
    assert types.ReferenceCreate.__required_keys__ == frozenset({"projectId", "title"})
    assert types.ClientUpdate.__required_keys__ == frozenset()
