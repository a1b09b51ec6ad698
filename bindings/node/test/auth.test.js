'use strict';

// store.authenticate(): the Principal, and each refusal as its error.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Family, Forbidden, RateLimited, StoreError, Unauthorized, Principal } = require('..');
const { withOrg } = require('../testing');

function withProject(t, extra) {
  const ctx = withOrg(t, extra);
  return { ...ctx, web: ctx.manage.projects.create({ name: 'Web', cors: ['https://acme.com'] }) };
}

test('a write client may track its project', (t) => {
  const { store, web } = withProject(t);
  const principal = store.authenticate('track', web.client.id, { secret: web.client.secret });
  assert.ok(principal instanceof Principal);
  assert.deepEqual({ ...principal }, {
    clientId: web.client.id, clientType: 'write', organizationId: 'acme', clientProjectId: 'web',
    projectId: 'web', rateLimit: { limit: 1000, remaining: 999, reset: principal.rateLimit.reset },
    status: 200,
  });
  assert.deepEqual(principal.headers, {
    'x-ratelimit-limit': '1000', 'x-ratelimit-remaining': '999',
    'x-ratelimit-reset': String(principal.rateLimit.reset),
  });
});

test('track without secret from an allowed origin', (t) => {
  const { store, web } = withProject(t);
  assert.equal(store.authenticate(Family.TRACK, web.client.id, { origin: 'https://acme.com' }).projectId, 'web');
  assert.throws(() => store.authenticate(Family.TRACK, web.client.id, { origin: 'https://evil.com' }),
    (e) => e instanceof Unauthorized && e.message === 'Invalid client credentials');
});

test('root clients reach any project of their organization', (t) => {
  const { store, root } = withProject(t);
  const principal = store.authenticate(Family.EXPORT, root.id, { secret: root.secret, projectId: 'web' });
  assert.deepEqual([principal.clientType, principal.clientProjectId, principal.projectId], ['root', null, 'web']);
  assert.equal(store.authenticate('MANAGE', root.id, { secret: root.secret }).projectId, null);
});

test('Unauthorized messages', (t) => {
  const { store, web } = withProject(t);
  const cases = [
    [null, undefined, 'Invalid client credentials'],
    ['not-a-uuid', web.client.secret, 'Malformed client ID (must be a valid UUIDv4)'],
    [web.client.id, `sec_${'0'.repeat(32)}`, 'Invalid client credentials'],
    [web.client.id, null, 'Invalid client credentials'],
  ];
  for (const [clientId, secret, message] of cases) {
    assert.throws(() => store.authenticate('track', clientId, { secret }), (e) => {
      assert.ok(e instanceof Unauthorized);
      assert.deepEqual([e.status, e.message, e.headers], [401, message, {}]);
      return true;
    });
  }
  assert.throws(() => store.authenticate('export', web.client.id, { secret: web.client.secret }),
    { name: 'Unauthorized', message: 'Export: Client is not allowed to export' });
});

test('Forbidden outside the client\'s project', (t) => {
  const { store, manage } = withProject(t);
  manage.projects.create({ name: 'Other' });
  const reader = manage.clients.create({ name: 'Reader', projectId: 'web', type: 'read' });
  assert.equal(store.authenticate('insights', reader.id, { secret: reader.secret }).projectId, 'web');
  assert.throws(() => store.authenticate('insights', reader.id, { secret: reader.secret, projectId: 'other' }),
    (e) => e instanceof Forbidden && e.status === 403 &&
      e.message === 'You do not have access to this project');
});

test('RateLimited with headers', (t) => {
  const { store, root } = withOrg(t, { rate_limits: { track: { limit: 1, window_seconds: 30 } } });
  store.authenticate('track', root.id, { secret: root.secret });
  assert.throws(() => store.authenticate('track', root.id, { secret: root.secret }), (e) => {
    assert.ok(e instanceof RateLimited);
    assert.deepEqual([e.status, e.message], [429, 'Rate limit exceeded']);
    // The limiter counts in buckets of 1/20 window: at most one window plus one bucket.
    assert.ok(e.retryAfter > 0 && e.retryAfter <= 32);
    assert.deepEqual(e.headers, {
      'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': e.headers['x-ratelimit-reset'], 'retry-after': String(e.retryAfter),
    });
    return true;
  });
});

test('failed attempts are throttled per client and source', (t) => {
  const { store, web } = withProject(t);
  for (let i = 0; i < 10; i++) {
    assert.throws(() => store.authenticate('track', web.client.id,
      { secret: `sec_${'0'.repeat(32)}`, source: '192.0.2.1' }), Unauthorized);
  }
  assert.throws(() => store.authenticate('track', web.client.id,
    { secret: `sec_${'0'.repeat(32)}`, source: '192.0.2.1' }), (e) => {
    assert.ok(e instanceof RateLimited);
    assert.ok(e.retryAfter > 0);
    assert.deepEqual(Object.keys(e.headers), ['retry-after']);
    return true;
  });
  // The throttle never refuses the right secret (docs/security.md).
  store.authenticate('track', web.client.id, { secret: web.client.secret, source: '192.0.2.1' });
});

test('the family must be known', (t) => {
  const { store, root } = withOrg(t);
  assert.throws(() => store.authenticate('ingest', root.id, { secret: root.secret }),
    { name: 'RangeError', message: 'unknown family "ingest": use track, export, insights or manage' });
  assert.throws(() => store.authenticate(7, root.id, { secret: root.secret }), (e) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.code, 'OPC_INVALID_ARGUMENT');
    assert.match(e.message, /family 7 is not an opc_family/);
    return true;
  });
  assert.throws(() => store.authenticate(null, root.id), TypeError);
});
