'use strict';

// Secret rotation, expiry and last use (docs/lifecycle.md) through manage().clients and
// admin().clients. The end of a grace at its instant needs an injected clock and is shown by
// the Rust suites; here: both secrets during a grace, a second rotation ending it at once, the
// errors, and the expiry message only for the right secret.

const test = require('node:test');
const assert = require('node:assert/strict');
const { NotFound, Unauthorized, ValidationError } = require('..');
const { withOrg } = require('../testing');

const WRONG = 'sec_0123456789abcdef0123456789abcdef';

function works(store, id, secret) {
  try {
    store.authenticate('export', id, { secret });
    return true;
  } catch (e) {
    assert.ok(e instanceof Unauthorized, `${e.name}: ${e.message}`);
    assert.equal(e.message, 'Invalid client credentials');
    return false;
  }
}

for (const api of ['manage', 'admin']) {
  test(`${api}: rotation with a grace, then without`, (t) => {
    const { store, org, manage } = withOrg(t);
    const clients = api === 'manage' ? manage.clients : store.admin(org.organization.id).clients;
    const created = clients.create({ name: 'Exporter', type: 'read' });
    assert.equal(created.expiresAt, null);
    assert.equal(created.lastUsedAt, null);
    const rotated = clients.rotate(created.id, 3600);
    assert.notEqual(rotated.secret, created.secret);
    assert.equal(rotated.id, created.id);
    assert.notEqual(rotated.previousSecretExpiresAt, null);
    assert.ok(works(store, created.id, created.secret));
    assert.ok(works(store, created.id, rotated.secret));

    const third = clients.rotate(created.id);
    assert.equal(third.previousSecretExpiresAt, null);
    assert.ok(!works(store, created.id, created.secret));
    assert.ok(!works(store, created.id, rotated.secret));
    assert.ok(works(store, created.id, third.secret));
    const read = clients.get(created.id);
    assert.equal(read.secret, undefined);
    assert.notEqual(read.lastUsedAt, null);

    assert.throws(() => clients.rotate(created.id, 2592001), (e) => {
      assert.ok(e instanceof ValidationError, e.name);
      assert.match(e.message + JSON.stringify(e.details || ''), /graceSeconds/);
      return true;
    });
    assert.throws(() => clients.rotate('0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c'), NotFound);
    assert.throws(() => clients.rotate(created.id, '60'), TypeError);
    assert.ok(works(store, created.id, third.secret));
  });

  test(`${api}: rotateAsync`, async (t) => {
    const { store, org, manage } = withOrg(t);
    const clients = api === 'manage' ? manage.clients : store.admin(org.organization.id).clients;
    const created = clients.create({ name: 'Exporter', type: 'read' });
    const rotated = await clients.rotateAsync(created.id, 60);
    assert.notEqual(rotated.secret, created.secret);
    assert.ok(works(store, created.id, rotated.secret));
  });
}

test('expiry: the right secret gets its own message, a wrong one the usual', (t) => {
  const { store, manage } = withOrg(t);
  const c = manage.clients.create({ name: 'Temp', type: 'read', expiresAt: '2999-01-01' });
  assert.equal(c.expiresAt, '2999-01-01T00:00:00.000Z');
  assert.throws(() => manage.clients.create({ name: 'Old', expiresAt: '2000-01-01' }),
    ValidationError);
  assert.equal(manage.clients.update(c.id, { expiresAt: '2000-01-01' }).expiresAt,
    '2000-01-01T00:00:00.000Z');
  assert.throws(() => store.authenticate('export', c.id, { secret: c.secret }), (e) => {
    assert.ok(e instanceof Unauthorized);
    assert.equal(e.message, 'Client credentials expired');
    return true;
  });
  assert.ok(!works(store, c.id, WRONG));
  assert.equal(manage.clients.update(c.id, { expiresAt: null }).expiresAt, null);
  assert.ok(works(store, c.id, c.secret));
});
