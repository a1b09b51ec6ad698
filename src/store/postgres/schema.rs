//! The PostgreSQL schema, versioned in the table `opcore_schema` with the same version numbers
//! as the SQLite schema (src/store/sqlite/schema.rs): a new database is created directly at
//! [`BASELINE_VERSION`], the SQLite schema's version 6, and every later SQLite step gets its
//! PostgreSQL twin appended to [`MIGRATIONS`] (docs/scale-out.md#postgresql-backend).
//!
//! Differences from SQLite, none of them visible through `Store`: booleans are `BOOLEAN`, token
//! digests `BYTEA`, ids are compared byte-wise (`COLLATE "C"`, as SQLite compares text), and
//! organizations carry `seq` for their insertion order (SQLite's `rowid`).

/// The version the baseline creates: the SQLite schema's version 6.
pub(super) const BASELINE_VERSION: i64 = 6;

/// The whole schema at [`BASELINE_VERSION`], created in one transaction.
pub(super) const BASELINE: &str = r#"
CREATE TABLE organizations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    seq         BIGSERIAL NOT NULL
);
CREATE INDEX organizations_list ON organizations (created_at, seq);
-- Every id ever issued, per namespace ('project', 'organization'); never deleted, so an id is
-- never issued twice, even after its resource is purged.
CREATE TABLE issued_ids (
    namespace   TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (namespace, id)
);
-- The next suffix to try for a base; its row is locked while a suffixed id is chosen.
CREATE TABLE id_counters (
    namespace   TEXT COLLATE "C" NOT NULL,
    base        TEXT COLLATE "C" NOT NULL,
    next        BIGINT NOT NULL,
    PRIMARY KEY (namespace, base)
);
CREATE TABLE projects (
    id                              TEXT COLLATE "C" PRIMARY KEY,
    organization_id                 TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                            TEXT NOT NULL,
    domain                          TEXT,
    cors                            TEXT NOT NULL DEFAULT '[]',
    cross_domain                    BOOLEAN NOT NULL DEFAULT FALSE,
    allow_unsafe_revenue_tracking   BOOLEAN NOT NULL DEFAULT FALSE,
    filters                         TEXT NOT NULL DEFAULT '[]',
    types                           TEXT NOT NULL DEFAULT '[]',
    events_count                    BIGINT NOT NULL DEFAULT 0,
    created_at                      BIGINT NOT NULL,
    updated_at                      BIGINT NOT NULL,
    delete_at                       BIGINT
);
CREATE INDEX projects_list ON projects (organization_id, created_at, id) WHERE delete_at IS NULL;
CREATE INDEX projects_by_delete_at ON projects (delete_at) WHERE delete_at IS NOT NULL;
CREATE TABLE clients (
    id                          TEXT COLLATE "C" PRIMARY KEY,
    organization_id             TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    project_id                  TEXT COLLATE "C" REFERENCES projects(id) ON DELETE CASCADE,
    name                        TEXT NOT NULL,
    type                        TEXT NOT NULL CHECK (type IN ('read', 'write', 'root')),
    secret_hash                 TEXT NOT NULL,
    ignore_cors_and_secret      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    redirect_uris               TEXT NOT NULL DEFAULT '[]',
    tier                        TEXT CHECK (tier IS NULL OR tier IN ('free', 'pro', 'enterprise')),
    secret_check                BIGINT,
    expires_at                  BIGINT,
    last_used_at                BIGINT,
    previous_secret_hash        TEXT,
    previous_secret_check       BIGINT,
    previous_secret_expires_at  BIGINT
);
CREATE INDEX clients_list ON clients (organization_id, created_at, id);
CREATE INDEX clients_list_by_project ON clients (project_id, created_at, id);
CREATE TABLE project_references (
    id              TEXT COLLATE "C" PRIMARY KEY,
    project_id      TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    description     TEXT,
    date            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    organization_id TEXT COLLATE "C"
);
CREATE INDEX references_list ON project_references (organization_id, created_at, id);
CREATE INDEX references_list_by_project ON project_references (project_id, created_at, id);
-- auth_revision: bumped by every change that can revoke access; each bump also notifies
-- channel opcore_access so other nodes drop cached credentials. data_revision: kept as SQLite
-- has it (opcore migrate copies it); the PostgreSQL backend reads its data revision from the
-- transaction snapshot instead (docs/scale-out.md).
CREATE TABLE meta (
    key     TEXT COLLATE "C" PRIMARY KEY,
    value   BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('auth_revision', 0);
INSERT INTO meta (key, value) VALUES ('data_revision', 0);
CREATE TABLE oauth_grants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    client_id   TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    subject     TEXT,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
CREATE TABLE oauth_codes (
    digest          BYTEA PRIMARY KEY,
    client_id       TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    replayed_at     BIGINT,
    grant_id        TEXT COLLATE "C" REFERENCES oauth_grants(id) ON DELETE CASCADE
);
CREATE INDEX oauth_codes_by_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_by_grant ON oauth_codes (grant_id);
CREATE INDEX oauth_codes_unredeemed_by_expiry ON oauth_codes (expires_at) WHERE grant_id IS NULL;
CREATE TABLE oauth_tokens (
    digest      BYTEA PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id    TEXT COLLATE "C" NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    rotated_at  BIGINT,
    reused_at   BIGINT
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
CREATE TABLE store_keys (
    name    TEXT COLLATE "C" PRIMARY KEY,
    key     BYTEA NOT NULL
);
CREATE TABLE audit_log (
    seq                 BIGSERIAL PRIMARY KEY,
    id                  TEXT COLLATE "C" NOT NULL UNIQUE,
    organization_id     TEXT COLLATE "C" NOT NULL,
    at                  BIGINT NOT NULL,
    actor_client_id     TEXT COLLATE "C",
    action              TEXT NOT NULL,
    resource_type       TEXT NOT NULL,
    resource_id         TEXT COLLATE "C" NOT NULL,
    project_id          TEXT COLLATE "C",
    changes             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_list ON audit_log (organization_id, seq);
CREATE INDEX audit_by_resource ON audit_log (organization_id, resource_id, seq);
CREATE INDEX audit_by_age ON audit_log (at);
"#;

/// Each entry migrates from version `BASELINE_VERSION + index` to the next. Never edit a shipped
/// entry; append (the twin of each SQLite step after version 6).
pub(super) const MIGRATIONS: &[&str] = &[
    // 6 -> 7, the twin of SQLite's: the entry id loses its unique index and the log its index
    // on `at` (pruning walks `seq`), two fewer index updates per audited change.
    r#"
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_id_key;
DROP INDEX IF EXISTS audit_by_age;
"#,
];

/// The schema version this build writes.
pub(super) fn current_version() -> i64 {
    BASELINE_VERSION + MIGRATIONS.len() as i64
}
