'use strict';

// store.handle(): raw HTTP-shaped requests and the Response object.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { NotFound, OpcoreError, RateLimited, ValidationError } = require('..');
const { withOrg, openStore, credentials } = require('../testing');

test('GET returns status, headers and json', (t) => {
  const { store, root } = withOrg(t);
  const response = store.handle('GET', '/manage/clients', credentials(root));
  assert.equal(response.status, 200);
  assert.equal(response.ok, true);
  assert.deepEqual(Object.keys(response.headers),
    ['content-type', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']);
  assert.equal(response.headers['content-type'], 'application/json');
  assert.equal(response.headers['x-ratelimit-remaining'], '19');
  const { secret, lastUsedAt, ...read } = root;
  assert.match(secret, /^sec_/);
  // The call itself is the root client's first use (docs/lifecycle.md#last-use).
  assert.equal(lastUsedAt, null);
  const { lastUsedAt: used, ...listed } = response.json.data[0];
  assert.match(used, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual({ data: [listed] }, { data: [read] });
  assert.equal(response.json.data.length, 1);
  assert.deepEqual(JSON.parse(response.body), response.json);
  assert.equal(response.raiseForStatus(), response);
  assert.equal(response.internalError, null);
});

test('bodies as object, string, Buffer and Uint8Array; headers as pairs', (t) => {
  const { store, root } = withOrg(t);
  const pairs = [['OpenPanel-Client-Id', root.id], ['OPENPANEL-CLIENT-SECRET', root.secret]];
  const made = [
    store.handle('POST', '/manage/projects', pairs, { name: 'From object' }),
    store.handle('POST', '/api/manage/projects', pairs, '{"name": "From string"}'),
    store.handle('POST', '/manage/projects/', pairs, Buffer.from('{"name": "From buffer"}')),
    store.handle('POST', '/manage/projects', pairs, new TextEncoder().encode('{"name": "From bytes"}')),
  ];
  assert.deepEqual(made.map((r) => r.status), [200, 200, 200, 200]);
  assert.deepEqual(made.map((r) => r.json.data.id), ['from-object', 'from-string', 'from-buffer', 'from-bytes']);
});

test('query strings reach the API', (t) => {
  const { store, root } = withOrg(t);
  const headers = credentials(root);
  store.handle('POST', '/manage/projects', headers, { name: 'Web' });
  store.handle('POST', '/manage/clients', headers, { name: 'Org-wide' });
  const filtered = store.handle('GET', '/manage/clients?projectId=web', headers);
  assert.deepEqual(filtered.json.data.map((c) => c.name), ['First client']);
});

test('error responses are returned, and raise on request', (t) => {
  const { store, root } = withOrg(t);
  const headers = credentials(root);
  const bad = store.handle('POST', '/manage/projects', headers, Buffer.from('[1, 2]'));
  assert.equal(bad.status, 400);
  assert.equal(bad.ok, false);
  assert.throws(() => bad.raiseForStatus(), ValidationError);
  assert.equal(store.handle('POST', '/manage/projects', headers, Buffer.from([0xff, 0xfe])).status, 400);
  const missing = store.handle('GET', '/manage/nothing', headers);
  assert.deepEqual(missing.json, { error: 'Not Found', message: 'Route not found' });
  assert.throws(() => missing.raiseForStatus(), (e) => e instanceof NotFound && e.message === 'Route not found');
});

test('other statuses throw the base class', (t) => {
  const { store, root } = withOrg(t);
  const headers = credentials(root);
  const put = store.handle('PUT', '/manage/projects', headers);
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, 'GET, HEAD, POST');
  assert.throws(() => put.raiseForStatus(), (e) => {
    assert.equal(e.constructor, OpcoreError);
    assert.deepEqual([e.status, e.message], [405, 'Method PUT is not allowed on this route']);
    return true;
  });
  const huge = store.handle('POST', '/manage/projects', headers, Buffer.alloc(1024 * 1024 + 1, 32));
  assert.equal(huge.status, 413);
  assert.throws(() => huge.raiseForStatus(), (e) => e.constructor === OpcoreError &&
    e.message === 'Request body exceeds 1048576 bytes');
});

test('the OpenAPI document is served without credentials', (t) => {
  const { store } = openStore(t);
  const response = store.handle('GET', '/manage/openapi.json');
  assert.equal(response.status, 200);
  assert.match(response.json.openapi, /^3\.1/);
});

test('source feeds the failed-attempt throttle', (t) => {
  const { store, root } = withOrg(t);
  const attempt = (source) => store.handle('GET', '/manage/projects', {
    'openpanel-client-id': crypto.randomUUID(),
    'openpanel-client-secret': `sec_${'1'.repeat(32)}`,
  }, undefined, { source });
  const statuses = Array.from({ length: 100 }, () => attempt('203.0.113.7').status);
  assert.deepEqual(statuses, Array(100).fill(401));
  const throttled = attempt('203.0.113.7');
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers['retry-after']) > 0);
  assert.throws(() => throttled.raiseForStatus(), (e) => e instanceof RateLimited &&
    e.retryAfter === Number(throttled.headers['retry-after']));
  assert.equal(attempt('198.51.100.1').status, 401);
  assert.equal(store.handle('GET', '/manage/projects', credentials(root)).status, 200);
});

test('arguments C cannot carry are refused', (t) => {
  const { store } = openStore(t);
  assert.throws(() => store.handle('GET', '/manage/projects', { 'openpanel-client-id': 'a\0b' }),
    { name: 'TypeError', message: 'header value contains a NUL character' });
  assert.throws(() => store.handle(1, '/manage/projects'), { name: 'TypeError', message: 'method must be a string, not number' });
  assert.throws(() => store.handle('POST', '/manage/projects', null, 42),
    { name: 'TypeError', message: 'body must be a Buffer, string or object, not number' });
});
