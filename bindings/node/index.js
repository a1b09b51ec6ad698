'use strict';

/**
 * opcore for Node.js: the embedded storage-and-auth core, through its C ABI (koffi).
 *
 * Every call is synchronous: it runs on the calling thread and blocks the event loop until
 * the library returns (microseconds for cached credentials, one argon2 verification — tens of
 * milliseconds with the default parameters — for new ones). A busy server can move opcore
 * calls to `worker_threads`; each worker opens its own `Store` on the same file.
 */

const ffi = require('./ffi');

// ---------------------------------------------------------------------------------------------
// Errors

/** Base class of every opcore failure. */
class OpcoreError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number|null, code?: string|null, headers?: Record<string,string>,
   *   error?: string|null}} [info]
   */
  constructor(message, { status = null, code = null, headers = {}, error = null } = {}) {
    super(message);
    this.name = new.target.name;
    /** The HTTP status of the outcome, or null when a C call failed without a response. */
    this.status = status;
    /** The C status name (`OPC_NOT_FOUND`, `OPC_STORAGE`, …) when a C call failed, else null. */
    this.code = code;
    /** Headers the outcome carries (lowercase names): `x-ratelimit-*`, `retry-after`. */
    this.headers = { ...headers };
    /** The response body's `error` ('Unauthorized', or for bearer tokens 'invalid_api_key',
     * 'token_expired', …), or null. */
    this.error = error;
  }
}

/** The input broke one or more rules (HTTP 400); `details` names every offending field. */
class ValidationError extends OpcoreError {
  constructor(message, { details = [], ...info } = {}) {
    super(message, info);
    /** `[{path: [...], message}]` as in the Manage API's 400 body; [] for a refusal about
     * stored state, and for a direct C call (whose message names every field). */
    this.details = details;
  }
}

/** Missing or invalid credentials, or a client type the API family refuses (HTTP 401). */
class Unauthorized extends OpcoreError {}

/** The client may not reach the requested project (HTTP 403). */
class Forbidden extends OpcoreError {}

/** The resource does not exist in the caller's organization (HTTP 404). */
class NotFound extends OpcoreError {}

/** Too many requests or failed attempts (HTTP 429); `retryAfter` is in seconds. */
class RateLimited extends OpcoreError {
  constructor(message, { retryAfter = null, ...info } = {}) {
    super(message, info);
    /** Seconds until the next request can succeed, or null if the library did not say. */
    this.retryAfter = retryAfter;
  }
}

/**
 * Storage or other failure: SQLite failed or stayed busy, the file cannot be opened as a
 * store, invalid options or arguments, an internal error. `code` is the C status name; for a
 * Manage API 5xx response it is null and `status` is the HTTP status.
 */
class StoreError extends OpcoreError {}

const BY_HTTP_STATUS = { 400: ValidationError, 401: Unauthorized, 403: Forbidden, 404: NotFound };
const BY_C_STATUS = {
  OPC_INVALID_INPUT: [ValidationError, 400],
  OPC_CONFLICT: [ValidationError, 400],
  OPC_NOT_FOUND: [NotFound, 404],
};

function errorFromResponse(status, body, headers, detail = '') {
  const message =
    body && typeof body.message === 'string' ? body.message : `HTTP ${status}`;
  const error = body && typeof body.error === 'string' && body.error ? body.error : null;
  if (status >= 500) {
    return new StoreError(detail ? `${message}: ${detail}` : message, { status, headers, error });
  }
  if (status === 400) {
    const details = body && Array.isArray(body.details) ? body.details : [];
    return new ValidationError(message, { status, headers, details, error });
  }
  if (status === 429) {
    const retry = headers['retry-after'];
    const retryAfter = retry !== undefined && /^\d+$/.test(retry) ? Number(retry) : null;
    return new RateLimited(message, { status, headers, retryAfter, error });
  }
  const Class = BY_HTTP_STATUS[status] || OpcoreError;
  return new Class(message, { status, headers, error });
}

function errorFromStatus(code, message) {
  const [Class, status] = BY_C_STATUS[code] || [StoreError, null];
  return new Class(message || code, { code, status });
}

function check(status) {
  if (status !== 0) throw errorFromStatus(ffi.statusName(status), ffi.lastError());
}

/**
 * Runs the C function `name` with `args` and hands this call's detail (the failure message,
 * or the internal cause of a 5xx response; '' when none) to `finish`, whose result is returned.
 *
 * Synchronously on the calling thread when `isAsync` is false (the detail is this thread's
 * `opc_last_error_message()`, read at once). Otherwise on one of koffi's worker threads via
 * the `_ex` variant, whose `out_error` carries the detail back with the call: the result is a
 * Promise, rejected with the error of a failing status and its own detail. `store` (if any)
 * counts the call in progress, so that `close()` waits for it.
 */
function run(isAsync, store, name, args, finish) {
  const lib = ffi.lib();
  if (!isAsync) {
    check(lib[name](...args));
    return finish(ffi.lastError());
  }
  return new Promise((resolve, reject) => {
    const outError = [null];
    if (store) store._pending++;
    try {
      lib[`${name}_ex`].async(...args, outError, (error, status) => {
        if (store) store._settled();
        if (error) {
          reject(error);
          return;
        }
        let detail;
        try {
          detail = ffi.takeString(outError[0]);
        } catch (e) {
          reject(e);
          return;
        }
        if (status !== 0) {
          reject(errorFromStatus(ffi.statusName(status), detail));
          return;
        }
        try {
          resolve(finish(detail));
        } catch (e) {
          reject(e);
        }
      });
    } catch (e) {
      if (store) store._settled();
      reject(e);
    }
  });
}

/** `fn(...args)` as a Promise: an argument error rejects instead of throwing. */
function promised(fn) {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments

function cstr(value, what) {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, not ${value === null ? 'null' : typeof value}`);
  }
  if (value.includes('\0')) throw new TypeError(`${what} contains a NUL character`);
  return value;
}

function optionalCstr(value, what) {
  return value === undefined || value === null ? null : cstr(value, what);
}

function bodyBytes(body) {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (typeof body === 'object') return Buffer.from(JSON.stringify(body), 'utf8');
  throw new TypeError(`body must be a Buffer, string or object, not ${typeof body}`);
}

function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([name, value]) => [cstr(name, 'header name'), cstr(value, 'header value')]);
}

// ---------------------------------------------------------------------------------------------
// Response and Principal

/** A Manage API response, as an HTTP server would send it. */
class Response {
  constructor(status, headers, body, internalError) {
    /** The HTTP status (200, 400, 401, 404, 429, …). */
    this.status = status;
    /** Header names (lowercase) to values, in the order a server sends them. */
    this.headers = headers;
    /** The JSON body as text. */
    this.body = body;
    /** The body parsed. */
    this.json = body ? JSON.parse(body) : null;
    /** For a 5xx response, the library's internal cause for the host's log (never a secret). */
    this.internalError = internalError;
  }

  /** True for a 2xx status. */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** Throws the OpcoreError subclass of an error status; returns this otherwise. */
  raiseForStatus() {
    if (this.status >= 400) {
      throw errorFromResponse(this.status, this.json, this.headers, this.internalError || '');
    }
    return this;
  }
}

/** The API families, for `Store#authenticate`. */
const Family = Object.freeze({ TRACK: 0, EXPORT: 1, INSIGHTS: 2, MANAGE: 3 });

const CLIENT_TYPES = { 1: 'read', 2: 'write', 3: 'root' };

function rateHeaders(rateLimit, retryAfter) {
  const headers = {};
  if (rateLimit) {
    headers['x-ratelimit-limit'] = String(rateLimit.limit);
    headers['x-ratelimit-remaining'] = String(rateLimit.remaining);
    headers['x-ratelimit-reset'] = String(rateLimit.reset);
  }
  if (retryAfter !== null && retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return headers;
}

/** Who is calling and what they may reach: an allowed `Store#authenticate`. */
class Principal {
  constructor(fields) {
    /** The client's id (lowercase UUID). */
    this.clientId = fields.clientId;
    /** 'read', 'write' or 'root'. */
    this.clientType = fields.clientType;
    /** The client's organization. */
    this.organizationId = fields.organizationId;
    /** The client's own project; null for an organization-level client. */
    this.clientProjectId = fields.clientProjectId;
    /** The project this request may act on (the requested one, else the client's own). */
    this.projectId = fields.projectId;
    /** `{limit, remaining, reset}`: the rate-limit decision, or null. */
    this.rateLimit = fields.rateLimit;
    /** The HTTP status to answer with (200). */
    this.status = fields.status;
  }

  /** The `x-ratelimit-*` headers the host's response must carry. */
  get headers() {
    return rateHeaders(this.rateLimit, null);
  }
}

/** What an active access token proves: the outcome of `Store#verifyToken`. */
class TokenInfo {
  constructor(fields) {
    /** The client the token was issued to. */
    this.clientId = fields.clientId;
    /** 'read', 'write' or 'root'. */
    this.clientType = fields.clientType;
    /** The client's organization. */
    this.organizationId = fields.organizationId;
    /** The client's own project; null for an organization-level client. */
    this.clientProjectId = fields.clientProjectId;
    /** The API families the token may be used for, space-separated. */
    this.scope = fields.scope;
    /** The user an authorization-code token acts for; null for client credentials. */
    this.subject = fields.subject;
    /** Unix time in seconds. */
    this.issuedAt = fields.issuedAt;
    /** Unix time in seconds. */
    this.expiresAt = fields.expiresAt;
  }
}

function familyCode(family) {
  if (typeof family === 'string') {
    const code = Family[family.toUpperCase()];
    if (code === undefined) {
      throw new RangeError(
        `unknown family ${JSON.stringify(family)}: use track, export, insights or manage`,
      );
    }
    return code;
  }
  if (Number.isInteger(family) && family >= 0 && family <= 0xffffffff) return family;
  throw new TypeError('family must be one of Family, or a string');
}

// ---------------------------------------------------------------------------------------------
// Store

const finalizer = new FinalizationRegistry((handle) => ffi.lib().opc_store_close(handle));

/**
 * An open opcore store: one SQLite file holding organizations, projects, clients and
 * references. Close it with `close()` (also closed when garbage collected).
 */
class Store {
  /**
   * Opens (creating and migrating) the store at `path`.
   * @param {string} path
   * @param {object} [options] the keys of opc_store_open's JSON options, e.g.
   *   `{argon2: {m_cost, t_cost, p_cost}, rate_limits: {manage: {limit, window_seconds}}}`.
   */
  constructor(path, options = undefined) {
    const out = [null];
    run(false, null, 'opc_store_open', openArgs(path, options, out), () => null);
    this._init(out[0], path);
  }

  /**
   * Opens the store on a worker thread (opening migrates and purges, which may take a while).
   * @returns {Promise<Store>}
   */
  static open(path, options = undefined) {
    return promised(() => {
      const out = [null];
      return run(true, null, 'opc_store_open', openArgs(path, options, out), () => {
        const store = Object.create(Store.prototype);
        store._init(out[0], path);
        return store;
      });
    });
  }

  _init(handle, path) {
    this._handle = handle;
    this._path = path;
    this._token = {};
    /** Promise-returning calls in progress on worker threads. */
    this._pending = 0;
    /** The handle, once `close()` was called while calls were in progress. */
    this._closing = null;
    finalizer.register(this, handle, this._token);
  }

  /**
   * Closes the store; later calls throw StoreError. Closing twice does nothing. Calls in
   * progress on worker threads finish first: the handle is released when the last returns.
   */
  close() {
    if (this._handle === null) return;
    const handle = this._handle;
    this._handle = null;
    finalizer.unregister(this._token);
    if (this._pending > 0) {
      this._closing = handle;
      return;
    }
    ffi.lib().opc_store_close(handle);
  }

  _settled() {
    this._pending--;
    if (this._pending === 0 && this._closing !== null) {
      const handle = this._closing;
      this._closing = null;
      ffi.lib().opc_store_close(handle);
    }
  }

  /** For `using store = new Store(...)` where explicit resource management exists. */
  [Symbol.dispose || Symbol.for('Symbol.dispose')]() {
    this.close();
  }

  /** True once `close()` has run. */
  get closed() {
    return this._handle === null;
  }

  _live() {
    if (this._handle === null) throw new StoreError('the store is closed');
    return this._handle;
  }

  /** Calls `fn(store, ...args, out_json)` and parses the JSON it returns. */
  _json(isAsync, fn, ...args) {
    const out = [null];
    return run(isAsync, this, fn, [this._live(), ...args, out], () =>
      JSON.parse(ffi.takeString(out[0])),
    );
  }

  /**
   * Bootstrap: creates an organization and its first root client. Returns
   * `{organization, client}`; `client.secret` is shown this once.
   */
  createOrganization(name) {
    return this._json(false, 'opc_organization_create', cstr(name, 'name'));
  }

  /** One organization: `{id, name, createdAt, updatedAt}`. Throws NotFound. */
  getOrganization(organizationId) {
    return this._json(false, 'opc_organization_get', cstr(organizationId, 'organizationId'));
  }

  /** Every organization, oldest first. */
  listOrganizations() {
    return this._json(false, 'opc_organization_list');
  }

  /** Removes an organization with everything in it. Throws NotFound. */
  deleteOrganization(organizationId) {
    this._delete(false, organizationId);
  }

  _delete(isAsync, organizationId) {
    return run(isAsync, this, 'opc_organization_delete',
      [this._live(), cstr(organizationId, 'organizationId')], () => undefined);
  }

  /** Removes projects past their deletion time (also done on open); returns how many. */
  purge() {
    return this._purge(false);
  }

  _purge(isAsync) {
    const count = [0];
    return run(isAsync, this, 'opc_purge', [this._live(), count], () => Number(count[0]));
  }

  /** Adds `n` to the project's eventsCount atomically; returns the new count. */
  incrementEvents(organizationId, projectId, n = 1) {
    return this._increment(false, organizationId, projectId, n);
  }

  _increment(isAsync, organizationId, projectId, n = 1) {
    if (!Number.isSafeInteger(n)) throw new TypeError('n must be a safe integer');
    const total = [0];
    const args = [
      this._live(), cstr(organizationId, 'organizationId'), cstr(projectId, 'projectId'), n,
      total,
    ];
    return run(isAsync, this, 'opc_project_events_increment', args, () => Number(total[0]));
  }

  /**
   * Serves one raw Manage API request exactly as the HTTP server does.
   * @param {string} method 'GET', 'POST', 'PATCH' or 'DELETE'
   * @param {string} target path and optional query, e.g. '/manage/clients?projectId=web'
   * @param {Record<string,string>|Array<[string,string]>} [headers]
   * @param {Buffer|Uint8Array|string|object} [body] an object is sent as JSON
   * @param {{source?: string}} [options] source: the caller's address (failed-attempt throttle)
   * @returns {Response} whatever its status (see `raiseForStatus()`)
   */
  handle(method, target, headers = undefined, body = undefined, { source } = {}) {
    return this._handle_(false, method, target, headers, body, source);
  }

  _handle_(isAsync, method, target, headers, body, source) {
    const m = cstr(method, 'method');
    const t = cstr(target, 'target');
    const pairs = headerPairs(headers);
    const names = pairs.map(([n]) => n);
    const values = pairs.map(([, v]) => v);
    const payload = bodyBytes(body);
    const src = optionalCstr(source, 'source');
    const handle = this._live();
    const out = [null];
    const rest = [m, t, names, values, pairs.length, payload, payload.length, out];
    const [name, args] =
      src === null ? ['opc_handle', [handle, ...rest]] : ['opc_handle_from', [handle, src, ...rest]];
    return run(isAsync, this, name, args, (detail) => readResponse(out[0], detail));
  }

  /**
   * The Manage API as a root client: `.projects`, `.clients`, `.references`. Every call goes
   * through `handle()`, so semantics are exactly the HTTP API's.
   */
  manage(clientId, secret, { source } = {}) {
    return new Manage(this, clientId, secret, source);
  }

  /**
   * Direct access to one organization's `.projects`, `.clients` and `.references`, with the
   * same methods as `manage()` but no credentials and no rate limit (the opc_project_*,
   * opc_client_* and opc_reference_* C functions). For the host itself, e.g. to create a
   * client with `ignoreCorsAndSecret`, which only this API accepts. Validation errors carry
   * their fields in the message (`details` is empty).
   */
  admin(organizationId) {
    return new Admin(this, cstr(organizationId, 'organizationId'));
  }

  /**
   * Authenticates and authorizes one request of `family`, counting it against the client's
   * rate limit. Returns a Principal; throws Unauthorized, Forbidden or RateLimited when the
   * request is refused (with `headers` to send), StoreError when no decision could be made.
   * @param {'track'|'export'|'insights'|'manage'|number} family
   * @param {string|null} clientId the openpanel-client-id header (null = absent)
   * @param {{secret?: string, origin?: string, projectId?: string, source?: string}} [options]
   */
  authenticate(family, clientId, options = {}) {
    return this._authenticate(false, family, clientId, options);
  }

  _authenticate(isAsync, family, clientId, { secret, origin, projectId, source } = {}) {
    const code = familyCode(family);
    const out = {};
    const args = [
      this._live(),
      code,
      optionalCstr(clientId, 'clientId'),
      optionalCstr(secret, 'secret'),
      optionalCstr(origin, 'origin'),
      optionalCstr(projectId, 'projectId'),
      optionalCstr(source, 'source'),
      out,
    ];
    return run(isAsync, this, 'opc_authenticate', args, () => principalFrom(out));
  }

  /**
   * Issues an authorization code once the host's user has consented, and returns the URL to
   * redirect the user agent to (`opc_authorize`). The URL carries `code` (valid at most 10
   * minutes, single-use) and `state`; or, when the app's request was wrong in a way it must
   * learn (method not S256, malformed challenge, scope beyond the client's type), `error`,
   * `error_description` and `state`. Redirect to it in both cases.
   *
   * Throws NotFound for an unknown client and ValidationError for a `redirectUri` not
   * registered for the client or an invalid `subject`: show an error, do not redirect.
   * @param {string} clientId the third-party app (an opcore client)
   * @param {string} redirectUri exactly one of the client's registered `redirectUris`
   * @param {string} codeChallenge the app's PKCE S256 challenge
   * @param {string} subject the user who consented (1 to 255 characters)
   * @param {{scope?: string|null, state?: string|null, codeChallengeMethod?: string}} [options]
   */
  authorize(clientId, redirectUri, codeChallenge, subject, options = {}) {
    return this._authorize(false, clientId, redirectUri, codeChallenge, subject, options);
  }

  _authorize(isAsync, clientId, redirectUri, codeChallenge, subject,
    { scope = null, state = null, codeChallengeMethod = 'S256' } = {}) {
    const out = [null];
    const args = [
      this._live(),
      cstr(clientId, 'clientId'),
      cstr(redirectUri, 'redirectUri'),
      optionalCstr(scope, 'scope'),
      cstr(codeChallenge, 'codeChallenge'),
      cstr(codeChallengeMethod, 'codeChallengeMethod'),
      optionalCstr(state, 'state'),
      cstr(subject, 'subject'),
      out,
    ];
    return run(isAsync, this, 'opc_authorize', args, () => ffi.takeString(out[0]));
  }

  /**
   * Checks an access token presented as `Authorization: Bearer <token>`, without argon2 and
   * without counting it against any rate limit (`opc_token_verify`). Throws Unauthorized
   * whose `error` is 'missing_api_key', 'invalid_api_key' or 'token_expired'.
   * @param {string|null} token the header's value after `Bearer` (null or '' = none)
   */
  verifyToken(token) {
    return this._verifyToken(false, token);
  }

  _verifyToken(isAsync, token) {
    const out = {};
    return run(isAsync, this, 'opc_token_verify',
      [this._live(), optionalCstr(token, 'token'), out], () => tokenInfoFrom(out));
  }

  // -- Promise-returning forms: the same calls on a worker thread (koffi's async calls), so
  // -- the event loop stays free while argon2 runs; failures reject with the same errors.

  /** `createOrganization` on a worker thread. */
  createOrganizationAsync(name) {
    return promised(() => this._json(true, 'opc_organization_create', cstr(name, 'name')));
  }

  /** `getOrganization` on a worker thread. */
  getOrganizationAsync(organizationId) {
    return promised(() =>
      this._json(true, 'opc_organization_get', cstr(organizationId, 'organizationId')));
  }

  /** `listOrganizations` on a worker thread. */
  listOrganizationsAsync() {
    return promised(() => this._json(true, 'opc_organization_list'));
  }

  /** `deleteOrganization` on a worker thread. */
  deleteOrganizationAsync(organizationId) {
    return promised(() => this._delete(true, organizationId));
  }

  /** `purge` on a worker thread. */
  purgeAsync() {
    return promised(() => this._purge(true));
  }

  /** `incrementEvents` on a worker thread. */
  incrementEventsAsync(organizationId, projectId, n = 1) {
    return promised(() => this._increment(true, organizationId, projectId, n));
  }

  /** `handle` on a worker thread; a 5xx response's `internalError` is this call's own. */
  handleAsync(method, target, headers = undefined, body = undefined, { source } = {}) {
    return promised(() => this._handle_(true, method, target, headers, body, source));
  }

  /** `authenticate` on a worker thread (argon2 runs there for credentials not yet cached). */
  authenticateAsync(family, clientId, options = {}) {
    return promised(() => this._authenticate(true, family, clientId, options));
  }

  /** `authorize` on a worker thread. */
  authorizeAsync(clientId, redirectUri, codeChallenge, subject, options = {}) {
    return promised(() =>
      this._authorize(true, clientId, redirectUri, codeChallenge, subject, options));
  }

  /** `verifyToken` on a worker thread. */
  verifyTokenAsync(token) {
    return promised(() => this._verifyToken(true, token));
  }
}

function openArgs(path, options, out) {
  const json =
    options === undefined || options === null || Object.keys(options).length === 0
      ? null
      : JSON.stringify(options);
  return [cstr(path, 'path'), json, out];
}

/** Copies a response out of the library and frees it; `detail` is the call's own detail. */
function readResponse(response, detail) {
  const lib = ffi.lib();
  try {
    const code = lib.opc_response_status(response);
    const internalError = code >= 500 ? detail || null : null;
    const responseHeaders = {};
    const count = Number(lib.opc_response_header_count(response));
    const name = [null];
    const value = [null];
    for (let i = 0; i < count; i++) {
      check(lib.opc_response_header_at(response, i, name, value));
      responseHeaders[name[0]] = value[0];
    }
    return new Response(code, responseHeaders, lib.opc_response_body(response) || '',
      internalError);
  } finally {
    lib.opc_response_free(response);
  }
}

function principalFrom(out) {
  const rateLimit = out.has_rate_limit
    ? { limit: out.rate_limit, remaining: out.rate_remaining, reset: Number(out.rate_reset_seconds) }
    : null;
  if (!out.allowed) {
    const retryAfter = out.has_retry_after ? Number(out.retry_after_seconds) : null;
    throw errorFromResponse(out.http_status, { message: out.message },
      rateHeaders(rateLimit, retryAfter));
  }
  return new Principal({
    clientId: out.client_id,
    clientType: CLIENT_TYPES[out.client_type] || String(out.client_type),
    organizationId: out.organization_id,
    clientProjectId: out.client_project_id || null,
    projectId: out.project_id || null,
    rateLimit,
    status: out.http_status,
  });
}

function tokenInfoFrom(out) {
  if (!out.active) {
    throw errorFromResponse(out.http_status, { error: out.error, message: out.message }, {});
  }
  return new TokenInfo({
    clientId: out.client_id,
    clientType: CLIENT_TYPES[out.client_type] || String(out.client_type),
    organizationId: out.organization_id,
    clientProjectId: out.client_project_id || null,
    scope: out.scope,
    subject: out.subject || null,
    issuedAt: Number(out.issued_at),
    expiresAt: Number(out.expires_at),
  });
}

// ---------------------------------------------------------------------------------------------
// Manage

/** The Manage API for one root client; see `Store#manage`. */
class Manage {
  constructor(store, clientId, secret, source) {
    this._store = store;
    this._headers = [
      ['openpanel-client-id', cstr(clientId, 'clientId')],
      ['openpanel-client-secret', cstr(secret, 'secret')],
    ];
    this._source = source;
    /** `/manage/projects` */
    this.projects = new Collection(this, 'projects', false);
    /** `/manage/clients` */
    this.clients = new ClientCollection(this, 'clients', true);
    /** `/manage/references` */
    this.references = new Collection(this, 'references', true);
  }

  /** Sends `method` to `/manage${path}`; returns the parsed body of a 2xx response. */
  request(method, path, body = undefined) {
    return this._store
      .handle(method, `/manage${path}`, this._headers, body, { source: this._source })
      .raiseForStatus().json;
  }

  /** `request` on a worker thread. */
  requestAsync(method, path, body = undefined) {
    return this._store
      .handleAsync(method, `/manage${path}`, this._headers, body, { source: this._source })
      .then((response) => response.raiseForStatus().json);
  }
}

/** One Manage API collection; field names are the API's (`projectId`, `crossDomain`, …). */
class Collection {
  constructor(manage, name, filters) {
    this._manage = manage;
    this._name = name;
    this._filters = filters;
  }

  _item(id) {
    return `/${this._name}/${encodeURIComponent(cstr(id, 'id'))}`;
  }

  _listPath({ projectId } = {}) {
    let path = `/${this._name}`;
    if (projectId !== undefined && projectId !== null) {
      if (!this._filters) throw new TypeError(`${this._name} cannot be filtered by project`);
      path += `?${new URLSearchParams({ projectId: cstr(projectId, 'projectId') })}`;
    }
    return path;
  }

  /** Every item, newest first; clients and references accept `{projectId}` to filter. */
  list(filter = {}) {
    return this._manage.request('GET', this._listPath(filter)).data;
  }

  /** `list` on a worker thread. */
  listAsync(filter = {}) {
    return promised(() => this._manage.requestAsync('GET', this._listPath(filter)))
      .then((body) => body.data);
  }

  /** `get` on a worker thread. */
  getAsync(id) {
    return promised(() => this._manage.requestAsync('GET', this._item(id))).then((b) => b.data);
  }

  /** `create` on a worker thread. */
  createAsync(fields = {}) {
    return this._manage.requestAsync('POST', `/${this._name}`, fields).then((b) => b.data);
  }

  /** `update` on a worker thread. */
  updateAsync(id, fields = {}) {
    return promised(() => this._manage.requestAsync('PATCH', this._item(id), fields))
      .then((b) => b.data);
  }

  /** `delete` on a worker thread. */
  deleteAsync(id) {
    return promised(() => this._manage.requestAsync('DELETE', this._item(id)));
  }

  /** One item by id. Throws NotFound. */
  get(id) {
    return this._manage.request('GET', this._item(id)).data;
  }

  /** Creates an item; a created project or client includes its secret, shown this once. */
  create(fields = {}) {
    return this._manage.request('POST', `/${this._name}`, fields).data;
  }

  /** Changes the given fields of an item; returns the updated item. */
  update(id, fields = {}) {
    return this._manage.request('PATCH', this._item(id), fields).data;
  }

  /** Deletes an item (a project is scheduled for deletion); returns `{success: true}`. */
  delete(id) {
    return this._manage.request('DELETE', this._item(id));
  }
}

/** The body of a rotation: `{graceSeconds}` (an integer; the library checks its range). */
function graceBody(graceSeconds) {
  if (!Number.isInteger(graceSeconds)) {
    throw new TypeError(`graceSeconds must be an integer, not ${typeof graceSeconds}`);
  }
  return { graceSeconds };
}

/** `/manage/clients`: a Collection that can also rotate a client's secret. */
class ClientCollection extends Collection {
  /**
   * Replaces the client's secret (`POST /manage/clients/{id}/rotate`); returns the client with
   * its new `secret` (shown this once) and `previousSecretExpiresAt`. The old secret keeps
   * working for `graceSeconds` (0 to 2592000; 0: it stops at once); rotating again ends any
   * earlier grace at once (docs/lifecycle.md). Throws NotFound, ValidationError.
   */
  rotate(id, graceSeconds = 0) {
    return this._manage.request('POST', `${this._item(id)}/rotate`, graceBody(graceSeconds)).data;
  }

  /** `rotate` on a worker thread. */
  rotateAsync(id, graceSeconds = 0) {
    return promised(() =>
      this._manage.requestAsync('POST', `${this._item(id)}/rotate`, graceBody(graceSeconds)))
      .then((b) => b.data);
  }
}

// ---------------------------------------------------------------------------------------------
// Admin

/** One organization's resources through the direct C API; see `Store#admin`. */
class Admin {
  constructor(store, organizationId) {
    this._store = store;
    this._organizationId = organizationId;
    /** opc_project_* */
    this.projects = new AdminCollection(this, 'project', false);
    /** opc_client_* */
    this.clients = new AdminClientCollection(this, 'client', true);
    /** opc_reference_* */
    this.references = new AdminCollection(this, 'reference', true);
  }
}

/** Projects, clients or references without the HTTP layer; same methods as Collection. */
class AdminCollection {
  constructor(admin, noun, filters) {
    this._admin = admin;
    this._noun = noun;
    this._filters = filters;
  }

  _call(isAsync, verb, ...args) {
    return this._admin._store._json(
      isAsync, `opc_${this._noun}_${verb}`, this._admin._organizationId, ...args);
  }

  _list(isAsync, { projectId } = {}) {
    if (!this._filters) {
      if (projectId !== undefined && projectId !== null) {
        throw new TypeError(`${this._noun}s cannot be filtered by project`);
      }
      return this._call(isAsync, 'list');
    }
    return this._call(isAsync, 'list', optionalCstr(projectId, 'projectId'));
  }

  _delete(isAsync, id) {
    const store = this._admin._store;
    const args = [store._live(), this._admin._organizationId, cstr(id, 'id')];
    return run(isAsync, store, `opc_${this._noun}_delete`, args, () => ({ success: true }));
  }

  /** Every item, newest first (live projects only); clients and references accept `{projectId}`. */
  list(filter = {}) {
    return this._list(false, filter);
  }

  /** One item by id. Throws NotFound. */
  get(id) {
    return this._call(false, 'get', cstr(id, 'id'));
  }

  /** Creates an item; a project or client includes its secret, shown this once. */
  create(fields = {}) {
    return this._call(false, 'create', JSON.stringify(fields));
  }

  /** Changes the given fields of an item; returns the updated item. */
  update(id, fields = {}) {
    return this._call(false, 'update', cstr(id, 'id'), JSON.stringify(fields));
  }

  /** Deletes an item (a project is scheduled for deletion); returns `{success: true}`. */
  delete(id) {
    return this._delete(false, id);
  }

  /** `list` on a worker thread. */
  listAsync(filter = {}) {
    return promised(() => this._list(true, filter));
  }

  /** `get` on a worker thread. */
  getAsync(id) {
    return promised(() => this._call(true, 'get', cstr(id, 'id')));
  }

  /** `create` on a worker thread. */
  createAsync(fields = {}) {
    return promised(() => this._call(true, 'create', JSON.stringify(fields)));
  }

  /** `update` on a worker thread. */
  updateAsync(id, fields = {}) {
    return promised(() => this._call(true, 'update', cstr(id, 'id'), JSON.stringify(fields)));
  }

  /** `delete` on a worker thread. */
  deleteAsync(id) {
    return promised(() => this._delete(true, id));
  }
}

/** opc_client_*: an AdminCollection that can also rotate a secret (opc_client_rotate). */
class AdminClientCollection extends AdminCollection {
  /** As `ClientCollection#rotate`. */
  rotate(id, graceSeconds = 0) {
    return this._call(false, 'rotate', cstr(id, 'id'), JSON.stringify(graceBody(graceSeconds)));
  }

  /** `rotate` on a worker thread. */
  rotateAsync(id, graceSeconds = 0) {
    return promised(() =>
      this._call(true, 'rotate', cstr(id, 'id'), JSON.stringify(graceBody(graceSeconds))));
  }
}

/** The loaded library's version, e.g. '0.1.0'. */
function version() {
  return ffi.lib().opc_version();
}

module.exports = {
  Store,
  Manage,
  Collection,
  ClientCollection,
  Admin,
  AdminCollection,
  AdminClientCollection,
  Response,
  Principal,
  TokenInfo,
  Family,
  version,
  OpcoreError,
  ValidationError,
  Unauthorized,
  Forbidden,
  NotFound,
  RateLimited,
  StoreError,
};
