//! The schema, versioned with `PRAGMA user_version` and tagged with `PRAGMA application_id`.

/// `opco` in ASCII: marks a file as an opcore store.
pub(crate) const APPLICATION_ID: i32 = 0x6f70_636f;

/// Each entry migrates from version `index` to `index + 1`. Never edit a shipped entry; append.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    r#"
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Every id ever issued, per namespace ('project', 'organization'); never deleted, so an id is
-- never issued twice, even after its resource is purged.
CREATE TABLE issued_ids (
    namespace   TEXT NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
-- The next suffix to try for a base, so choosing an id costs the same for the 2nd and the
-- 10,000th project of one name.
CREATE TABLE id_counters (
    namespace   TEXT NOT NULL,
    base        TEXT NOT NULL,
    next        INTEGER NOT NULL,
    PRIMARY KEY (namespace, base)
) WITHOUT ROWID;
CREATE TABLE projects (
    id                              TEXT PRIMARY KEY,
    organization_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                            TEXT NOT NULL,
    domain                          TEXT,
    cors                            TEXT NOT NULL DEFAULT '[]',
    cross_domain                    INTEGER NOT NULL DEFAULT 0,
    allow_unsafe_revenue_tracking   INTEGER NOT NULL DEFAULT 0,
    filters                         TEXT NOT NULL DEFAULT '[]',
    types                           TEXT NOT NULL DEFAULT '[]',
    events_count                    INTEGER NOT NULL DEFAULT 0,
    created_at                      INTEGER NOT NULL,
    updated_at                      INTEGER NOT NULL,
    delete_at                       INTEGER
);
CREATE INDEX projects_by_org ON projects (organization_id, created_at);
CREATE INDEX projects_by_delete_at ON projects (delete_at) WHERE delete_at IS NOT NULL;
CREATE TABLE clients (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    project_id              TEXT REFERENCES projects(id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    type                    TEXT NOT NULL CHECK (type IN ('read', 'write', 'root')),
    secret_hash             TEXT NOT NULL,
    ignore_cors_and_secret  INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX clients_by_org ON clients (organization_id, created_at);
CREATE INDEX clients_by_project ON clients (project_id);
CREATE TABLE project_references (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT,
    date        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX references_by_project ON project_references (project_id, created_at);
-- auth_revision: bumped by every change that can revoke access (client deleted, project
-- scheduled for deletion or purged), so other processes can drop cached credentials.
CREATE TABLE meta (
    key     TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('auth_revision', 0);
"#,
    // 1 -> 2: OAuth 2.0 (docs/oauth.md). Tokens and codes are stored only as SHA-256 digests.
    r#"
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN tier TEXT CHECK (tier IS NULL OR tier IN ('free', 'pro', 'enterprise'));
-- One grant per client-credentials issuance or redeemed authorization code: the family of
-- tokens revoked together (a replayed code, a superseded refresh token, a revoked refresh
-- token). expires_at: the latest expiry of its tokens, for pruning.
CREATE TABLE oauth_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    subject     TEXT,
    scope       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
-- used_at: first redemption attempt (codes are single-use); replayed_at: a later attempt;
-- grant_id: the grant the code was redeemed for, revoked if the code is replayed.
CREATE TABLE oauth_codes (
    digest          BLOB PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    replayed_at     INTEGER,
    grant_id        TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX oauth_codes_by_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_by_grant ON oauth_codes (grant_id);
CREATE INDEX oauth_codes_unredeemed_by_expiry ON oauth_codes (expires_at) WHERE grant_id IS NULL;
-- rotated_at: a refresh token that was exchanged (presenting it again revokes its grant).
CREATE TABLE oauth_tokens (
    digest      BLOB PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id    TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    rotated_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
"#,
    // 2 -> 3: concurrent refresh (docs/oauth.md). reused_at: a rotated refresh token that was
    // presented once more within `refresh_reuse_grace_seconds` and got a sibling pair.
    r#"
ALTER TABLE oauth_tokens ADD COLUMN reused_at INTEGER;
"#,
    // 3 -> 4: keyset pagination of the lists (docs/behaviour.md#lists). Every list reads an
    // index in its own order, `(created_at, id)` within its scope, so a page costs the same
    // wherever it starts. References carry their project's organization (projects never move)
    // so the organization-wide list has such an index too.
    r#"
ALTER TABLE project_references ADD COLUMN organization_id TEXT;
UPDATE project_references SET organization_id =
    (SELECT p.organization_id FROM projects p WHERE p.id = project_references.project_id);
CREATE INDEX projects_list ON projects (organization_id, created_at, id) WHERE delete_at IS NULL;
CREATE INDEX clients_list ON clients (organization_id, created_at, id);
CREATE INDEX clients_list_by_project ON clients (project_id, created_at, id);
CREATE INDEX references_list ON project_references (organization_id, created_at, id);
CREATE INDEX references_list_by_project ON project_references (project_id, created_at, id);
DROP INDEX clients_by_org;
DROP INDEX clients_by_project;
DROP INDEX references_by_project;
"#,
    // 4 -> 5: cheap refusal of wrong secrets (docs/security.md). secret_check holds 32 bits of
    // HMAC-SHA-256 of the client id and secret under the store's check key; NULL for a hash
    // made before this version, filled in at that secret's next successful verification. The
    // key comes from SQLite's randomblob() (its ChaCha20 generator, seeded from the OS).
    r#"
ALTER TABLE clients ADD COLUMN secret_check INTEGER;
CREATE TABLE store_keys (
    name    TEXT PRIMARY KEY,
    key     BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO store_keys (name, key) VALUES ('secret_check', randomblob(32));
"#,
    // 5 -> 6: the credential lifecycle (docs/lifecycle.md). A client has at most two valid
    // secrets: the current one and, during a rotation's grace, the previous one until
    // previous_secret_expires_at (NULL: none). expires_at: the client's own expiry (NULL: never).
    // last_used_at: the last successful authentication, written in batches. audit_log: one row
    // per successful change, written in the change's transaction; seq orders entries written in
    // the same millisecond. No foreign keys: an entry outlives the resource it names, and is
    // pruned by age (audit_retention_days) or with its organization. data_revision: bumped by
    // every write transaction, so a cached read result is known current when it has not moved
    // (docs/server.md#the-page-cache).
    r#"
INSERT INTO meta (key, value) VALUES ('data_revision', 0);
ALTER TABLE clients ADD COLUMN expires_at INTEGER;
ALTER TABLE clients ADD COLUMN last_used_at INTEGER;
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_check INTEGER;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
CREATE TABLE audit_log (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    organization_id     TEXT NOT NULL,
    at                  INTEGER NOT NULL,
    actor_client_id     TEXT,
    action              TEXT NOT NULL,
    resource_type       TEXT NOT NULL,
    resource_id         TEXT NOT NULL,
    project_id          TEXT,
    changes             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_list ON audit_log (organization_id, seq);
CREATE INDEX audit_by_resource ON audit_log (organization_id, resource_id, seq);
CREATE INDEX audit_by_age ON audit_log (at);
"#,
    // 6 -> 7: the audit log costs its change's commit fewer pages. `seq` is a plain rowid (an
    // entry gets one more than the largest kept, so entries still sort in commit order within
    // each organization; no AUTOINCREMENT counter row to rewrite on every change), the entry id
    // has no index of its own (entries are found by organization and by resource, never by
    // id), and pruning walks the log in `seq` order instead of an index on `at`.
    r#"
CREATE TABLE audit_log_7 (
    seq                 INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL,
    organization_id     TEXT NOT NULL,
    at                  INTEGER NOT NULL,
    actor_client_id     TEXT,
    action              TEXT NOT NULL,
    resource_type       TEXT NOT NULL,
    resource_id         TEXT NOT NULL,
    project_id          TEXT,
    changes             TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO audit_log_7 (seq, id, organization_id, at, actor_client_id, action, resource_type,
                         resource_id, project_id, changes)
    SELECT seq, id, organization_id, at, actor_client_id, action, resource_type, resource_id,
           project_id, changes FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_7 RENAME TO audit_log;
CREATE INDEX audit_list ON audit_log (organization_id, seq);
CREATE INDEX audit_by_resource ON audit_log (organization_id, resource_id, seq);
"#,
];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
