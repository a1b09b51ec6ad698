'use strict';

// store.manage(): projects, clients and references over the Manage API, and its errors.

const test = require('node:test');
const assert = require('node:assert/strict');
const { NotFound, RateLimited, Unauthorized, ValidationError, OpcoreError } = require('..');
const { withOrg } = require('../testing');

function throwsWith(fn, Class, check) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Class, `${e.name}: ${e.message}`);
    assert.ok(e instanceof OpcoreError);
    check(e);
    return true;
  });
}

test('projects: create, list, get, update, delete', (t) => {
  const { manage } = withOrg(t);
  const created = manage.projects.create({
    name: 'Web Site', domain: 'HTTPS://Example.com/', cors: ['https://a.com', 'https://a.com/'],
    crossDomain: true, types: ['website', 'app'],
  });
  assert.equal(created.id, 'web-site');
  // Stored as sent, trailing slashes removed; entries are never merged.
  assert.equal(created.domain, 'HTTPS://Example.com');
  assert.deepEqual(created.cors, ['https://a.com', 'https://a.com']);
  assert.equal(created.crossDomain, true);
  assert.match(created.client.secret, /^sec_/);
  const app = manage.projects.create({ name: 'App' });
  // Newest first; same-millisecond rows by id, descending (docs/behaviour.md#lists).
  const newestFirst = (rows) => rows.every((r, i) => i === 0 ||
    [rows[i - 1].createdAt, rows[i - 1].id].join(' ') > [r.createdAt, r.id].join(' '));
  const listed = manage.projects.list();
  assert.deepEqual(listed.map((p) => p.id).sort(), [app.id, 'web-site'].sort());
  assert.ok(newestFirst(listed));
  const fetched = manage.projects.get('web-site');
  assert.equal(fetched.client, undefined);
  assert.equal(fetched.name, 'Web Site');
  const updated = manage.projects.update('web-site', { name: 'Renamed', allowUnsafeRevenueTracking: true });
  assert.equal(updated.name, 'Renamed');
  assert.equal(updated.allowUnsafeRevenueTracking, true);
  assert.deepEqual(manage.projects.delete('web-site'), { success: true });
  assert.notEqual(manage.projects.get('web-site').deleteAt, null);
  assert.deepEqual(manage.projects.list().map((p) => p.id), ['app']);
  assert.equal(manage.projects.update('web-site', { name: 'Back' }).deleteAt, null);
  assert.equal(manage.projects.list().length, 2);
});

test('clients: create, list, get, update, delete', (t) => {
  const { store, manage, root } = withOrg(t);
  const project = manage.projects.create({ name: 'Web' });
  const reader = manage.clients.create({ name: 'Reader', projectId: 'web', type: 'read' });
  assert.equal(reader.type, 'read');
  assert.equal(reader.projectId, 'web');
  assert.match(reader.secret, /^sec_/);
  const every = manage.clients.list();
  // Newest first; same-millisecond rows by id, descending (docs/behaviour.md#lists).
  const ordered = (rows) => rows.every((r, i) => i === 0 ||
    [rows[i - 1].createdAt, rows[i - 1].id].join(' ') > [r.createdAt, r.id].join(' '));
  assert.deepEqual(every.map((c) => c.id).sort(), [reader.id, project.client.id, root.id].sort());
  assert.ok(ordered(every));
  assert.ok(every.every((c) => !('secret' in c)));
  const inWeb = manage.clients.list({ projectId: 'web' });
  assert.deepEqual(inWeb.map((c) => c.name).sort(), ['First client', 'Reader']);
  assert.ok(ordered(inWeb));
  assert.equal(manage.clients.get(reader.id).secret, undefined);
  assert.equal(manage.clients.update(reader.id, { name: 'Dashboard', type: 'read' }).name, 'Dashboard');
  assert.deepEqual(manage.clients.delete(reader.id), { success: true });
  throwsWith(() => manage.clients.get(reader.id), NotFound,
    (e) => assert.equal(e.message, 'Client not found'));
  assert.throws(() => store.authenticate('export', reader.id, { secret: reader.secret }), Unauthorized);
});

test('references: create, list, get, update, delete', (t) => {
  const { manage } = withOrg(t);
  manage.projects.create({ name: 'Web' });
  manage.projects.create({ name: 'App' });
  const launch = manage.references.create({
    projectId: 'web', title: 'Launch', description: 'v1 is out', datetime: '2024-01-15',
  });
  assert.equal(launch.date, '2024-01-15T00:00:00.000Z');
  const beta = manage.references.create({ projectId: 'app', title: 'Beta' });
  const refs = manage.references.list();
  assert.deepEqual(refs.map((r) => r.id).sort(), [beta.id, launch.id].sort());
  assert.ok(refs.every((r, i) => i === 0 ||
    [refs[i - 1].createdAt, refs[i - 1].id].join(' ') > [r.createdAt, r.id].join(' ')));
  assert.deepEqual(manage.references.list({ projectId: 'web' }).map((r) => r.title), ['Launch']);
  assert.equal(manage.references.get(launch.id).title, 'Launch');
  const updated = manage.references.update(launch.id, {
    description: null, datetime: '2024-02-01T12:00:00+02:00',
  });
  assert.equal(updated.description, null);
  assert.equal(updated.date, '2024-02-01T10:00:00.000Z');
  assert.deepEqual(manage.references.delete(launch.id), { success: true });
  throwsWith(() => manage.references.delete(launch.id), NotFound,
    (e) => assert.equal(e.message, 'Reference not found'));
  throwsWith(() => manage.references.list({ projectId: 'nope' }), NotFound,
    (e) => assert.equal(e.message, 'Project not found'));
});

test('ValidationError carries every offending field', (t) => {
  const { manage } = withOrg(t);
  throwsWith(() => manage.projects.create({ name: '', cors: ['https://ok.com', 'no spaces'], types: ['tv'] }),
    ValidationError, (e) => {
      assert.equal(e.status, 400);
      assert.equal(e.code, null);
      assert.equal(e.message, 'Invalid request body');
      assert.deepEqual(e.details, [
        { path: ['name'], message: 'String must contain at least 1 character(s)' },
        { path: ['cors', 1], message: 'Invalid CORS origin: spaces and control characters are not allowed' },
        { path: ['types', 0], message: "Invalid enum value. Expected 'website' | 'app' | 'backend', received 'tv'" },
      ]);
      assert.equal(e.headers['x-ratelimit-limit'], '20');
    });
});

test('deleting the last root client is refused', (t) => {
  const { manage, root } = withOrg(t);
  throwsWith(() => manage.clients.delete(root.id), ValidationError, (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.details, []);
    assert.match(e.message, /last root client/);
  });
  assert.equal(manage.clients.get(root.id).type, 'root');
});

test('not found, and ids that look like paths', (t) => {
  const { manage } = withOrg(t);
  throwsWith(() => manage.projects.get('missing'), NotFound,
    (e) => assert.deepEqual([e.status, e.message], [404, 'Project not found']));
  throwsWith(() => manage.projects.get('web/../clients'), NotFound,
    (e) => assert.equal(e.message, 'Project not found'));
  throwsWith(() => manage.clients.update('not-a-uuid', { name: 'x' }), NotFound,
    (e) => assert.equal(e.message, 'Client not found'));
});

test('wrong secrets and non-root clients are Unauthorized', (t) => {
  const { store, manage, root } = withOrg(t);
  throwsWith(() => store.manage(root.id, `sec_${'0'.repeat(32)}`).projects.list(), Unauthorized,
    (e) => assert.deepEqual([e.status, e.message], [401, 'Invalid client credentials']));
  const writer = manage.projects.create({ name: 'Web' }).client;
  throwsWith(() => store.manage(writer.id, writer.secret).clients.list(), Unauthorized,
    (e) => assert.equal(e.message, 'Manage: Only root clients are allowed to manage resources'));
});

test('RateLimited carries retryAfter', (t) => {
  const { manage } = withOrg(t, { rate_limits: { manage: { limit: 2, window_seconds: 60 } } });
  manage.projects.list();
  manage.projects.list();
  throwsWith(() => manage.projects.list(), RateLimited, (e) => {
    assert.deepEqual([e.status, e.message], [429, 'Rate limit exceeded']);
    // The limiter counts in buckets of 1/20 window: at most one window plus one bucket.
    assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter > 0 && e.retryAfter <= 63);
    assert.equal(e.headers['retry-after'], String(e.retryAfter));
    assert.equal(e.headers['x-ratelimit-remaining'], '0');
  });
});

test('projects cannot be filtered by project', (t) => {
  const { manage } = withOrg(t);
  assert.throws(() => manage.projects.list({ projectId: 'web' }),
    { name: 'TypeError', message: 'projects cannot be filtered by project' });
  assert.throws(() => manage.projects.get(3), { name: 'TypeError', message: 'id must be a string, not number' });
});
