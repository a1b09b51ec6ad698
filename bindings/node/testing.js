'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Store } = require('.');

/** argon2 parameters that keep each verification well under a millisecond; no fsync wait. */
const FAST = Object.freeze({ argon2: { m_cost: 8, t_cost: 1, p_cost: 1 }, synchronous: 'normal' });

// The checkout, for the header and the README; OPCORE_REPO names it when the tests run from an
// installed copy of the package (the distribution checks do).
const REPO = process.env.OPCORE_REPO || path.resolve(__dirname, '..', '..');
const HEADER = path.join(REPO, 'include', 'opcore.h');
const DOCS = path.join(REPO, 'README.md');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opcore-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh store (closed after the test), with extra options merged over FAST. */
function openStore(t, extra = {}) {
  const file = path.join(tempDir(t), 'opcore.db');
  const store = new Store(file, { ...FAST, ...extra });
  t.after(() => store.close());
  return { store, file };
}

/** A store with one organization and its root client's Manage API. */
function withOrg(t, extra = {}) {
  const { store, file } = openStore(t, extra);
  const org = store.createOrganization('Acme');
  const manage = store.manage(org.client.id, org.client.secret);
  return { store, file, org, manage, root: org.client };
}

function credentials(root) {
  return { 'openpanel-client-id': root.id, 'openpanel-client-secret': root.secret };
}

module.exports = { FAST, REPO, HEADER, DOCS, tempDir, openStore, withOrg, credentials };
