'use strict';

// The Promise-returning forms: run on koffi's worker threads, resolve with what the sync
// forms return, reject with the same error classes and the failing call's own detail.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { Store, StoreError, ValidationError, NotFound, Unauthorized } = require('..');
const { FAST, tempDir, withOrg, credentials } = require('../testing');

/** Real argon2 cost, so that one verification lasts long enough to overlap other work. */
const SLOW = { argon2: { m_cost: 4096, t_cost: 3, p_cost: 1 }, synchronous: 'normal' };

test('Store.open and every Store method have a Promise form', async (t) => {
  const file = path.join(tempDir(t), 'a.db');
  const store = await Store.open(file, FAST);
  t.after(() => store.close());
  const org = await store.createOrganizationAsync('Acme');
  assert.equal(org.organization.name, 'Acme');
  assert.deepEqual(await store.getOrganizationAsync(org.organization.id), org.organization);
  assert.deepEqual((await store.listOrganizationsAsync()).map((o) => o.name), ['Acme']);
  const manage = store.manage(org.client.id, org.client.secret);
  const project = await manage.projects.createAsync({ name: 'Website', cors: ['https://acme.com'] });
  assert.equal(project.id, 'website');
  assert.deepEqual((await manage.projects.listAsync()).map((p) => p.id), ['website']);
  assert.equal((await manage.projects.getAsync('website')).name, 'Website');
  assert.equal((await manage.projects.updateAsync('website', { name: 'Site' })).name, 'Site');
  const principal = await store.authenticateAsync('track', project.client.id, {
    origin: 'https://acme.com',
  });
  assert.equal(principal.clientType, 'write');
  assert.equal(principal.projectId, 'website');
  const response = await store.handleAsync('GET', '/manage/projects', credentials(org.client));
  assert.equal(response.status, 200);
  assert.equal(response.json.data.length, 1);
  assert.equal(await store.incrementEventsAsync(org.organization.id, 'website', 3), 3);
  assert.equal(await store.purgeAsync(), 0);
  const admin = store.admin(org.organization.id);
  const server = await admin.clients.createAsync({ name: 'Server', ignoreCorsAndSecret: true });
  assert.equal(server.ignoreCorsAndSecret, true);
  assert.equal((await admin.clients.listAsync({ projectId: null })).length, 3);
  assert.equal((await admin.clients.getAsync(server.id)).name, 'Server');
  assert.equal((await admin.clients.updateAsync(server.id, { name: 'S2' })).name, 'S2');
  assert.deepEqual(await admin.clients.deleteAsync(server.id), { success: true });
  assert.deepEqual(await manage.projects.deleteAsync('website'), { success: true });
  await store.deleteOrganizationAsync(org.organization.id);
  assert.deepEqual(await store.listOrganizationsAsync(), []);
});

test('a failing Promise call rejects with its own detail, on any worker thread', async (t) => {
  const { store, org } = withOrg(t);
  const admin = store.admin(org.organization.id);
  // Many failures with different details at once: each must carry its own.
  const calls = [];
  for (let i = 0; i < 16; i++) {
    calls.push(
      store.getOrganizationAsync(`missing-${i}`).then(
        () => assert.fail('resolved'),
        (e) => ({ i, kind: 'org', e }),
      ),
      admin.projects.createAsync({ name: 'x'.repeat(256 + i) }).then(
        () => assert.fail('resolved'),
        (e) => ({ i, kind: 'project', e }),
      ),
    );
  }
  for (const { i, kind, e } of await Promise.all(calls)) {
    if (kind === 'org') {
      assert.ok(e instanceof NotFound);
      assert.equal(e.code, 'OPC_NOT_FOUND');
      // The sync form reports the same text for the same input.
      assert.throws(() => store.getOrganization(`missing-${i}`), (s) => s.message === e.message);
    } else {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.code, 'OPC_INVALID_INPUT');
      assert.throws(() => admin.projects.create({ name: 'x'.repeat(256 + i) }),
        (s) => s.message === e.message);
    }
    assert.notEqual(e.message, '');
  }
});

test('an open that fails rejects with the reason', async (t) => {
  const file = path.join(tempDir(t), 'not-a-store.db');
  fs.writeFileSync(file, 'this is not an SQLite file'.repeat(100));
  await assert.rejects(Store.open(file), (e) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.code, 'OPC_OPEN_FAILED');
    assert.match(e.message, /not an SQLite|not a database|file is not/i);
    return true;
  });
  await assert.rejects(Store.open(path.join(tempDir(t), 'x.db'), { nope: 1 }), (e) => {
    assert.equal(e.code, 'OPC_INVALID_OPTIONS');
    assert.match(e.message, /nope/);
    return true;
  });
});

test('argument errors reject instead of throwing', async (t) => {
  const { store } = withOrg(t);
  const pending = store.getOrganizationAsync(42);
  assert.ok(pending instanceof Promise);
  await assert.rejects(pending, TypeError);
  await assert.rejects(store.authenticateAsync('nope', null), RangeError);
});

test('refusals reject with the Manage API error', async (t) => {
  const { store, root } = withOrg(t);
  await assert.rejects(store.authenticateAsync('manage', root.id, { secret: 'sec_wrong' }), (e) => {
    assert.ok(e instanceof Unauthorized);
    assert.equal(e.status, 401);
    assert.equal(e.message, 'Invalid client credentials');
    return true;
  });
  const bad = store.manage(root.id, 'sec_wrong');
  await assert.rejects(bad.projects.listAsync(), Unauthorized);
});

test('argon2 runs off the event loop', async (t) => {
  const { store } = withOrg(t, SLOW);
  // Six root clients, each verified once with its right secret: nothing is answered from the
  // cache and every call runs argon2 (a wrong secret is refused by the check value without
  // any argon2, docs/security.md).
  const roots = [];
  for (let i = 0; i < 6; i++) roots.push(store.createOrganization(`Org ${i}`).client);
  let ticks = 0;
  let done = false;
  const ticker = (async () => {
    while (!done) {
      ticks++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const calls = [];
  for (const r of roots) {
    calls.push(store.authenticateAsync('manage', r.id, { secret: r.secret }).catch((e) => e));
  }
  const results = await Promise.all(calls);
  done = true;
  await ticker;
  assert.ok(results.every((p) => !(p instanceof Error)), String(results));
  assert.ok(ticks > 6, `the event loop ran ${ticks} times meanwhile`);
});

test('close() waits for calls in progress, then refuses new ones', async (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const store = new Store(file, SLOW);
  const org = store.createOrganization('Acme');
  const inFlight = store.authenticateAsync('manage', org.client.id, { secret: org.client.secret });
  store.close();
  assert.equal(store.closed, true);
  const principal = await inFlight;
  assert.equal(principal.clientType, 'root');
  await assert.rejects(store.listOrganizationsAsync(), (e) => e.message === 'the store is closed');
});
