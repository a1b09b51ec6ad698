'use strict';

// OAuth 2.0: store.authorize(), the token endpoint through store.handle(), store.verifyToken().

const test = require('node:test');
const assert = require('node:assert/strict');
const { NotFound, TokenInfo, Unauthorized, ValidationError } = require('..');
const { withOrg } = require('../testing');

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const REDIRECT = 'https://app.example.com/cb';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A store, its organization, and a third-party app: a root client with a redirect URI. */
function withApp(t) {
  const ctx = withOrg(t);
  const app = ctx.store.admin(ctx.org.organization.id).clients.create({
    name: 'App', type: 'root', redirectUris: [REDIRECT],
  });
  return { ...ctx, app };
}

function codeGrant(store, app, scope) {
  const url = new URL(store.authorize(app.id, REDIRECT, CHALLENGE, 'user-42', { scope, state: 'st 1' }));
  assert.equal(`${url.origin}${url.pathname}`, REDIRECT);
  assert.equal(url.searchParams.get('state'), 'st 1');
  const code = url.searchParams.get('code');
  assert.match(code, /^opac_[0-9a-f]{72}$/);
  const response = store.handle('POST', '/oauth/token', FORM, new URLSearchParams({
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER,
    client_id: app.id, client_secret: app.secret,
  }).toString());
  assert.equal(response.status, 200, response.body);
  assert.equal(response.headers['cache-control'], 'no-store');
  return [response.json.access_token, response.json.refresh_token];
}

test('a code becomes a token that verifies', (t) => {
  const { store, org, app } = withApp(t);
  assert.deepEqual(app.redirectUris, [REDIRECT]);
  assert.equal(app.tier, null);
  const [access, refresh] = codeGrant(store, app, 'manage track');
  assert.match(access, /^opat_/);
  assert.match(refresh, /^oprt_/);
  const info = store.verifyToken(access);
  assert.ok(info instanceof TokenInfo);
  assert.deepEqual({ ...info }, {
    clientId: app.id, clientType: 'root', organizationId: org.organization.id,
    clientProjectId: null, scope: 'track manage', subject: 'user-42',
    issuedAt: info.issuedAt, expiresAt: info.issuedAt + 3600,
  });
  const response = store.handle('GET', '/manage/projects', { authorization: `Bearer ${access}` });
  assert.equal(response.status, 200);
  assert.deepEqual(response.json, { data: [] });
});

test('inactive tokens throw Unauthorized with the seed error', (t) => {
  const { store, app, root } = withApp(t);
  const [revoked] = codeGrant(store, app, 'track');
  store.handle('POST', '/oauth/revoke', FORM, new URLSearchParams({
    token: revoked, client_id: app.id, client_secret: app.secret,
  }).toString());
  const cases = [
    [null, 'missing_api_key', 'No API key provided in the Authorization header.'],
    ['', 'missing_api_key', 'No API key provided in the Authorization header.'],
    ['opat_nope', 'invalid_api_key', 'The API key provided is invalid.'],
    [revoked, 'invalid_api_key', 'The API key provided is invalid.'],
    [root.secret, 'invalid_api_key', 'The API key provided is invalid.'],
  ];
  for (const [token, error, message] of cases) {
    assert.throws(() => store.verifyToken(token), (e) => {
      assert.ok(e instanceof Unauthorized);
      assert.deepEqual([e.status, e.error, e.message], [401, error, message]);
      assert.ok(!String(e).includes(root.secret.slice(4)));
      return true;
    });
  }
});

test('authorize refusals', (t) => {
  const { store, app, root } = withApp(t);
  // The app's own mistake comes back to it by redirect.
  assert.equal(
    store.authorize(app.id, REDIRECT, CHALLENGE, 'user-42', { state: 'xyz', codeChallengeMethod: 'plain' }),
    `${REDIRECT}?error=invalid_request&error_description=code_challenge_method+must+be+S256&state=xyz`,
  );
  // A redirect URI that is not registered, or an unknown client: no URL at all.
  assert.throws(() => store.authorize(app.id, `${REDIRECT}/`, CHALLENGE, 'user-42'),
    (e) => e instanceof ValidationError && e.message === 'redirect_uri is not registered for this client');
  assert.throws(() => store.authorize(root.id, REDIRECT, CHALLENGE, 'user-42'), ValidationError);
  assert.throws(
    () => store.authorize('00000000-0000-4000-8000-000000000000', REDIRECT, CHALLENGE, 'u'),
    NotFound,
  );
  assert.throws(() => store.authorize(app.id, REDIRECT, CHALLENGE, ''),
    (e) => e instanceof ValidationError && e.message === 'subject must be 1 to 255 characters');
  assert.throws(() => store.authorize(app.id, REDIRECT, CHALLENGE, 'a\0b'), TypeError);
});
