"""Store: opening, options, lifetime (close, context manager, garbage collection), organizations,
purge, event counts, and storage failures."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import opcore
from opcore import NotFound, StoreError, Unauthorized, ValidationError

from conftest import FAST


def open_fds_on(path: Path) -> int:
    """How many of this process's file descriptors point at ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            pass
    return count


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/fd")


def test_version_is_the_library_version() -> None:
    assert opcore.version() == "0.1.0"
    assert opcore.__version__ == opcore.version()


def test_open_accepts_str_and_pathlike(tmp_path: Path) -> None:
    with opcore.Store(str(tmp_path / "a.db"), **FAST) as a:
        assert a.create_organization("A")["organization"]["id"] == "a"
    with opcore.Store(tmp_path / "a.db", **FAST) as b:
        assert [o["name"] for o in b.list_organizations()] == ["A"]


@linux_only
def test_context_manager_closes_the_file(db_path: Path) -> None:
    with opcore.Store(db_path, **FAST) as store:
        assert open_fds_on(db_path) >= 1
        assert not store.closed
    assert store.closed
    assert open_fds_on(db_path) == 0
    assert repr(store) == f"<opcore.Store {str(db_path)!r} closed>"


@linux_only
def test_garbage_collection_closes_the_file(db_path: Path) -> None:
    store = opcore.Store(db_path, **FAST)
    assert open_fds_on(db_path) >= 1
    del store
    gc.collect()
    assert open_fds_on(db_path) == 0


def test_close_is_idempotent_and_later_calls_raise(db_path: Path) -> None:
    store = opcore.Store(db_path, **FAST)
    store.close()
    store.close()
    with pytest.raises(StoreError) as e:
        store.create_organization("Late")
    assert e.value.message == "the store is closed"
    assert e.value.code is None
    with pytest.raises(StoreError):
        store.handle("GET", "/manage/projects")


def test_options_are_applied(db_path: Path) -> None:
    with opcore.Store(db_path, rate_limits={"manage": {"limit": 7, "window_seconds": 5}},
                      **FAST) as store:
        root = store.create_organization("Acme")["client"]
        response = store.handle("GET", "/manage/projects",
                                {"openpanel-client-id": root["id"],
                                 "openpanel-client-secret": root["secret"]})
        assert response.headers["x-ratelimit-limit"] == "7"
        assert response.headers["x-ratelimit-remaining"] == "6"


def test_unknown_option_is_invalid_options(db_path: Path) -> None:
    with pytest.raises(StoreError) as e:
        opcore.Store(db_path, bogus=1)
    assert e.value.code == "OPC_INVALID_OPTIONS"
    assert "unknown field `bogus`" in e.value.message
    assert str(e.value).startswith("OPC_INVALID_OPTIONS: invalid options:")


def test_a_file_that_is_not_a_store_is_open_failed_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database, just some text " * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError) as e:
        opcore.Store(path, **FAST)
    assert e.value.code == "OPC_OPEN_FAILED"
    assert "cannot open store" in e.value.message
    assert path.read_bytes() == before


def test_path_with_nul_is_refused_before_the_call(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path contains a NUL character"):
        opcore.Store(str(tmp_path / "a\0b.db"))


def test_create_organization_returns_the_root_client_with_its_secret(store: opcore.Store) -> None:
    created = store.create_organization("  Acme Corp ")
    organization, client = created["organization"], created["client"]
    assert organization["id"] == "acme-corp"
    assert organization["name"] == "  Acme Corp "  # stored as sent; the id is slugged from it trimmed
    assert client["type"] == "root"
    assert client["organizationId"] == "acme-corp"
    assert client["projectId"] is None
    assert re.fullmatch(r"sec_[0-9a-f]{32}", client["secret"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        client["id"])


def test_create_organization_with_a_blank_name_is_a_validation_error(store: opcore.Store) -> None:
    with pytest.raises(ValidationError) as e:
        store.create_organization("   ")
    assert e.value.code == "OPC_INVALID_INPUT"
    assert e.value.status == 400
    assert e.value.message == "invalid input: name: String must contain a visible character (not only whitespace or invisible characters)"
    assert e.value.details == []


def test_get_list_and_delete_organizations(store: opcore.Store) -> None:
    first = store.create_organization("First")
    second = store.create_organization("Second")
    assert store.get_organization("first") == first["organization"]
    assert [o["id"] for o in store.list_organizations()] == ["first", "second"]
    store.delete_organization("first")
    assert [o["id"] for o in store.list_organizations()] == ["second"]
    with pytest.raises(NotFound) as e:
        store.get_organization("first")
    assert (e.value.code, e.value.status, e.value.message) == (
        "OPC_NOT_FOUND", 404, "Organization not found")
    with pytest.raises(NotFound):
        store.delete_organization("first")
    root = first["client"]
    with pytest.raises(Unauthorized):
        store.manage(root["id"], root["secret"]).projects.list()
    assert second["organization"]["id"] == "second"


def test_purge_removes_projects_past_their_deletion_time(db_path: Path) -> None:
    with opcore.Store(db_path, deletion_grace_seconds=0, **FAST) as store:
        root = store.create_organization("Acme")["client"]
        manage = store.manage(root["id"], root["secret"])
        project = manage.projects.create(name="Old")
        manage.projects.create(name="Kept")
        assert manage.projects.delete(project["id"]) == {"success": True}
        assert store.purge() == 1
        assert store.purge() == 0
        assert [p["id"] for p in manage.projects.list()] == ["kept"]


def test_increment_events_counts_atomically(store: opcore.Store, manage: opcore.Manage) -> None:
    project = manage.projects.create(name="Web")
    org_id = project["organizationId"]
    assert store.increment_events(org_id, "web") == 1
    assert store.increment_events(org_id, "web", 4) == 5

    threads = [threading.Thread(target=lambda: [store.increment_events(org_id, "web")
                                                 for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert manage.projects.get("web")["eventsCount"] == 205
    with pytest.raises(NotFound) as e:
        store.increment_events(org_id, "missing")
    assert e.value.message == "Project not found"


def test_calls_from_many_threads_share_one_store(store: opcore.Store,
                                                 org: dict) -> None:
    root = org["client"]
    headers = {"openpanel-client-id": root["id"], "openpanel-client-secret": root["secret"]}
    statuses = []

    def work() -> None:
        for _ in range(4):
            statuses.append(store.handle("GET", "/manage/clients", headers).status)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16


LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


def test_a_locked_database_is_a_busy_store_error(db_path: Path) -> None:
    with opcore.Store(db_path, busy_timeout_ms=50, **FAST) as store:
        root = store.create_organization("Acme")["client"]
        manage = store.manage(root["id"], root["secret"])
        manage.projects.list()  # credentials verified and cached before the lock
        # Another process holds the write lock (POSIX locks are per process, so a second
        # SQLite inside this process would not be seen).
        other = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert other.stdout is not None and other.stdout.readline() == "locked\n"
        try:
            with pytest.raises(StoreError) as direct:
                store.create_organization("Blocked")
            assert direct.value.code == "OPC_BUSY"
            assert "database is busy" in direct.value.message

            with pytest.raises(StoreError) as http:
                manage.projects.create(name="Blocked")
            assert http.value.code is None
            assert http.value.status == 500
            assert http.value.message.startswith("Internal server error: ")
            assert "busy" in http.value.message

            response = store.handle("POST", "/manage/projects",
                                    {"openpanel-client-id": root["id"],
                                     "openpanel-client-secret": root["secret"]},
                                    {"name": "Blocked"})
            assert response.status == 500
            assert response.json == {"error": "Internal Server Error",
                                     "message": "Internal server error"}
            assert response.internal_error and "busy" in response.internal_error
        finally:
            other.communicate("")
        assert other.returncode == 0
        assert manage.projects.create(name="Unblocked")["id"] == "unblocked"
