"""Shared fixtures: a fresh store per test, with cheap argon2 parameters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import opcore

#: argon2 parameters that keep each verification well under a millisecond, and no fsync wait
#: per commit.
FAST = {"argon2": {"m_cost": 8, "t_cost": 1, "p_cost": 1}, "synchronous": "normal"}

# The checkout, for the header and the README; OPCORE_REPO names it when the tests run from a
# copy elsewhere (the distribution checks run them against an installed package).
REPO = Path(os.environ.get("OPCORE_REPO") or Path(__file__).resolve().parents[3])
HEADER = REPO / "include" / "opcore.h"
DOCS = REPO / "README.md"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "opcore.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[opcore.Store]:
    with opcore.Store(db_path, **FAST) as s:
        yield s


@pytest.fixture
def org(store: opcore.Store) -> Dict[str, Any]:
    return store.create_organization("Acme")


@pytest.fixture
def manage(store: opcore.Store, org: Dict[str, Any]) -> opcore.Manage:
    return store.manage(org["client"]["id"], org["client"]["secret"])
