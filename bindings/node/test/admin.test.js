'use strict';

// store.admin(): one organization's resources through the direct C functions.

const test = require('node:test');
const assert = require('node:assert/strict');
const { NotFound, StoreError, Unauthorized, ValidationError } = require('..');
const { withOrg } = require('../testing');

test('projects through the direct API', (t) => {
  const { store, manage } = withOrg(t);
  const admin = store.admin('acme');
  const created = admin.projects.create({ name: 'Web', cors: ['https://a.com/'], crossDomain: true });
  assert.equal(created.id, 'web');
  assert.deepEqual(created.cors, ['https://a.com']);
  assert.match(created.client.secret, /^sec_/);
  assert.deepEqual(admin.projects.get('web'), manage.projects.get('web'));
  assert.deepEqual(admin.projects.list().map((p) => p.id), ['web']);
  assert.equal(admin.projects.update('web', { name: 'Renamed' }).name, 'Renamed');
  assert.deepEqual(admin.projects.delete('web'), { success: true });
  assert.notEqual(admin.projects.get('web').deleteAt, null);
  assert.deepEqual(admin.projects.list(), []);
  assert.throws(() => admin.projects.list({ projectId: 'web' }),
    { name: 'TypeError', message: 'projects cannot be filtered by project' });
});

test('a client that ignores CORS and secret', (t) => {
  const { store, manage } = withOrg(t);
  const admin = store.admin('acme');
  admin.projects.create({ name: 'Web' });
  const server = admin.clients.create({ name: 'Server', projectId: 'web', ignoreCorsAndSecret: true });
  assert.equal(server.ignoreCorsAndSecret, true);
  assert.equal(store.authenticate('track', server.id).projectId, 'web');
  // Same-millisecond rows are listed by id (docs/behaviour.md#lists): compare as a set.
  assert.deepEqual(admin.clients.list({ projectId: 'web' }).map((c) => c.name).sort(), ['First client', 'Server']);
  assert.equal(manage.clients.get(server.id).ignoreCorsAndSecret, true);
  assert.equal(admin.clients.update(server.id, { ignoreCorsAndSecret: false }).ignoreCorsAndSecret, false);
  assert.throws(() => store.authenticate('track', server.id), Unauthorized);
  assert.deepEqual(admin.clients.delete(server.id), { success: true });
  assert.throws(() => admin.clients.get(server.id), (e) => e instanceof NotFound &&
    e.code === 'OPC_NOT_FOUND' && e.status === 404 && e.message === 'Client not found');
});

test('references through the direct API', (t) => {
  const { store } = withOrg(t);
  const admin = store.admin('acme');
  admin.projects.create({ name: 'Web' });
  const launch = admin.references.create({ projectId: 'web', title: 'Launch', datetime: '2024-01-15' });
  assert.equal(launch.date, '2024-01-15T00:00:00.000Z');
  assert.equal(admin.references.get(launch.id).title, 'Launch');
  assert.deepEqual(admin.references.list().map((r) => r.id), [launch.id]);
  assert.equal(admin.references.list({ projectId: 'web' })[0].id, launch.id);
  assert.equal(admin.references.update(launch.id, { description: 'v1' }).description, 'v1');
  assert.deepEqual(admin.references.delete(launch.id), { success: true });
  assert.throws(() => admin.references.delete(launch.id), NotFound);
});

test('direct errors carry the C status', (t) => {
  const { store, root } = withOrg(t);
  const admin = store.admin('acme');
  assert.throws(() => admin.projects.create({ name: '', types: ['tv'] }), (e) => {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.code, 'OPC_INVALID_INPUT');
    assert.deepEqual(e.details, []);
    assert.match(e.message, /name: String must contain at least 1 character\(s\)/);
    assert.match(e.message, /types\[0\]: Invalid enum value/);
    return true;
  });
  assert.throws(() => admin.clients.delete(root.id),
    (e) => e instanceof ValidationError && e.code === 'OPC_CONFLICT' && /last root client/.test(e.message));
  assert.throws(() => store.admin('no-such-org').projects.create({ name: 'Web' }),
    (e) => e instanceof NotFound && e.code === 'OPC_NOT_FOUND');
  store.close();
  assert.throws(() => admin.projects.list(), (e) => e instanceof StoreError && e.message === 'the store is closed');
});
