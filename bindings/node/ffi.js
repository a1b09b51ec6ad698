'use strict';

// The C ABI of libopcore as koffi declarations: one prototype per function of
// include/opcore.h. test/header.test.js parses the header and fails when a prototype, the
// opc_principal layout or an enum value drifts from what is declared here.

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

/** The header version these declarations were written against (`OPCORE_VERSION`). */
const HEADER_VERSION = '0.1.0';
const ID_SIZE = 128;
const MESSAGE_SIZE = 128;
const TOKEN_ERROR_SIZE = 32;
const SCOPE_SIZE = 64;
const SUBJECT_SIZE = 1024;
const TOKEN_TEXT_SIZE = 128;

/** `opc_status` values by name. */
const STATUS = Object.freeze({
  OPC_OK: 0,
  OPC_NULL_ARGUMENT: 1,
  OPC_INVALID_UTF8: 2,
  OPC_INVALID_ARGUMENT: 3,
  OPC_INVALID_OPTIONS: 100,
  OPC_OPEN_FAILED: 101,
  OPC_FORKED: 102,
  OPC_NOT_FOUND: 200,
  OPC_INVALID_INPUT: 201,
  OPC_CONFLICT: 202,
  OPC_STORAGE: 300,
  OPC_BUSY: 301,
  OPC_PANIC: 900,
  OPC_INTERNAL: 901,
});

/** `opc_family` values by name. */
const FAMILY = Object.freeze({
  OPC_FAMILY_TRACK: 0,
  OPC_FAMILY_EXPORT: 1,
  OPC_FAMILY_INSIGHTS: 2,
  OPC_FAMILY_MANAGE: 3,
});

/** `opc_client_type` values by name. */
const CLIENT_TYPE = Object.freeze({
  OPC_CLIENT_NONE: 0,
  OPC_CLIENT_READ: 1,
  OPC_CLIENT_WRITE: 2,
  OPC_CLIENT_ROOT: 3,
});

// Types. Opaque handles are pointers to opaque structs; library-allocated strings (char **
// out-parameters, freed with opc_string_free) are declared `void **` so that the exact
// pointer can be handed back after copying; strings the library owns stay `const char *`.
koffi.alias('opc_status', 'uint32_t');
koffi.alias('opc_family', 'uint32_t');
koffi.alias('opc_client_type', 'uint32_t');
koffi.opaque('opc_store');
koffi.opaque('opc_response');

/** `opc_principal`, member by member as in the header. */
const PRINCIPAL_FIELDS = [
  ['allowed', 'bool'],
  ['http_status', 'uint16_t'],
  ['message', `char[${MESSAGE_SIZE}]`],
  ['client_type', 'opc_client_type'],
  ['client_id', `char[${ID_SIZE}]`],
  ['organization_id', `char[${ID_SIZE}]`],
  ['client_project_id', `char[${ID_SIZE}]`],
  ['project_id', `char[${ID_SIZE}]`],
  ['has_rate_limit', 'bool'],
  ['rate_limit', 'uint32_t'],
  ['rate_remaining', 'uint32_t'],
  ['rate_reset_seconds', 'uint64_t'],
  ['has_retry_after', 'bool'],
  ['retry_after_seconds', 'uint64_t'],
];

function memberType(spec) {
  const array = /^(\w+)\[(\d+)\]$/.exec(spec);
  return array ? koffi.array(array[1], Number(array[2]), 'String') : spec;
}

koffi.struct(
  'opc_principal',
  Object.fromEntries(PRINCIPAL_FIELDS.map(([name, spec]) => [name, memberType(spec)])),
);

/** `opc_token_info`, member by member as in the header. */
const TOKEN_INFO_FIELDS = [
  ['active', 'bool'],
  ['http_status', 'uint16_t'],
  ['error', `char[${TOKEN_ERROR_SIZE}]`],
  ['message', `char[${TOKEN_TEXT_SIZE}]`],
  ['client_type', 'opc_client_type'],
  ['client_id', `char[${TOKEN_TEXT_SIZE}]`],
  ['organization_id', `char[${TOKEN_TEXT_SIZE}]`],
  ['client_project_id', `char[${TOKEN_TEXT_SIZE}]`],
  ['scope', `char[${SCOPE_SIZE}]`],
  ['subject', `char[${SUBJECT_SIZE}]`],
  ['issued_at', 'int64_t'],
  ['expires_at', 'int64_t'],
];

koffi.struct(
  'opc_token_info',
  Object.fromEntries(TOKEN_INFO_FIELDS.map(([name, spec]) => [name, memberType(spec)])),
);

function functionName(prototype) {
  return /\b(opc_\w+)\s*\(/.exec(prototype)[1];
}

/** Every prototype, in header order (the `_ex` variants are added below). */
const PROTOTYPES = [
  'opc_status opc_store_open(const char *path, const char *options_json, _Out_ opc_store **out_store)',
  'void opc_store_close(opc_store *store)',
  'opc_status opc_organization_create(opc_store *store, const char *name, _Out_ void **out_json)',
  'opc_status opc_organization_get(opc_store *store, const char *organization_id, _Out_ void **out_json)',
  'opc_status opc_organization_list(opc_store *store, _Out_ void **out_json)',
  'opc_status opc_organization_delete(opc_store *store, const char *organization_id)',
  'opc_status opc_purge(opc_store *store, _Out_ size_t *out_count)',
  'opc_status opc_project_events_increment(opc_store *store, const char *organization_id, const char *project_id, int64_t n, _Out_ int64_t *out_count)',
  'opc_status opc_handle(opc_store *store, const char *method, const char *target, const char **header_names, const char **header_values, size_t header_count, const uint8_t *body, size_t body_len, _Out_ opc_response **out_response)',
  'opc_status opc_handle_from(opc_store *store, const char *source, const char *method, const char *target, const char **header_names, const char **header_values, size_t header_count, const uint8_t *body, size_t body_len, _Out_ opc_response **out_response)',
  'uint16_t opc_response_status(const opc_response *response)',
  'const char *opc_response_body(const opc_response *response)',
  'size_t opc_response_body_len(const opc_response *response)',
  'const char *opc_response_header(const opc_response *response, const char *name)',
  'size_t opc_response_header_count(const opc_response *response)',
  'opc_status opc_response_header_at(const opc_response *response, size_t index, _Out_ const char **out_name, _Out_ const char **out_value)',
  'void opc_response_free(opc_response *response)',
  'opc_status opc_authenticate(opc_store *store, opc_family family, const char *client_id, const char *client_secret, const char *origin, const char *project_id, const char *source, _Out_ opc_principal *out_principal)',
  'opc_status opc_authorize(opc_store *store, const char *client_id, const char *redirect_uri, const char *scope, const char *code_challenge, const char *code_challenge_method, const char *state, const char *subject, _Out_ void **out_redirect_url)',
  'opc_status opc_token_verify(opc_store *store, const char *token, _Out_ opc_token_info *out_info)',
  'opc_status opc_project_create(opc_store *store, const char *organization_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_project_get(opc_store *store, const char *organization_id, const char *project_id, _Out_ void **out_json)',
  'opc_status opc_project_list(opc_store *store, const char *organization_id, _Out_ void **out_json)',
  'opc_status opc_project_update(opc_store *store, const char *organization_id, const char *project_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_project_delete(opc_store *store, const char *organization_id, const char *project_id)',
  'opc_status opc_client_create(opc_store *store, const char *organization_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_client_get(opc_store *store, const char *organization_id, const char *client_id, _Out_ void **out_json)',
  'opc_status opc_client_list(opc_store *store, const char *organization_id, const char *project_id, _Out_ void **out_json)',
  'opc_status opc_client_update(opc_store *store, const char *organization_id, const char *client_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_client_delete(opc_store *store, const char *organization_id, const char *client_id)',
  'opc_status opc_client_rotate(opc_store *store, const char *organization_id, const char *client_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_reference_create(opc_store *store, const char *organization_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_reference_get(opc_store *store, const char *organization_id, const char *reference_id, _Out_ void **out_json)',
  'opc_status opc_reference_list(opc_store *store, const char *organization_id, const char *project_id, _Out_ void **out_json)',
  'opc_status opc_reference_update(opc_store *store, const char *organization_id, const char *reference_id, const char *json, _Out_ void **out_json)',
  'opc_status opc_reference_delete(opc_store *store, const char *organization_id, const char *reference_id)',
  'opc_status opc_project_list_page(opc_store *store, const char *organization_id, uint32_t limit, const char *cursor, _Out_ void **out_json)',
  'opc_status opc_client_list_page(opc_store *store, const char *organization_id, const char *project_id, uint32_t limit, const char *cursor, _Out_ void **out_json)',
  'opc_status opc_reference_list_page(opc_store *store, const char *organization_id, const char *project_id, uint32_t limit, const char *cursor, _Out_ void **out_json)',
  'void opc_string_free(void *s)',
  'const char *opc_status_str(opc_status status)',
  'const char *opc_last_error_message(void)',
  'const char *opc_version(void)',
  'const char *opc_sqlite_version(void)',
  'opc_status opc_test_panic(void)',
];

/**
 * The `_ex` variants: the same arguments followed by `char **out_error`, which receives the
 * call's own failure detail. The Promise-returning methods call these on koffi's worker
 * threads, where the thread-local `opc_last_error_message()` cannot be read afterwards.
 */
const EX_VARIANTS = [
  'opc_store_open', 'opc_organization_create', 'opc_organization_get', 'opc_organization_list',
  'opc_organization_delete', 'opc_purge', 'opc_project_events_increment', 'opc_handle',
  'opc_handle_from', 'opc_authenticate', 'opc_authorize', 'opc_token_verify',
  'opc_project_create', 'opc_project_get', 'opc_project_list', 'opc_project_update',
  'opc_project_delete', 'opc_client_create', 'opc_client_get', 'opc_client_list',
  'opc_client_update', 'opc_client_delete', 'opc_client_rotate', 'opc_reference_create',
  'opc_reference_get',
  'opc_reference_list', 'opc_reference_update', 'opc_reference_delete',
  'opc_project_list_page', 'opc_client_list_page', 'opc_reference_list_page',
];
for (const name of EX_VARIANTS) {
  const base = PROTOTYPES.find((p) => functionName(p) === name);
  PROTOTYPES.push(
    base.replace(`${name}(`, `${name}_ex(`).replace(/\)$/, ', _Out_ void **out_error)'),
  );
}

/** Functions the header declares only under a build flag; bound when the library has them. */
const OPTIONAL = new Set(['opc_test_panic']);

const { libraryNames } = require('./ffi-names');

/** True when `p` lies inside an Electron `app.asar` archive (which cannot be dlopen'ed). */
function insideAsar(p) {
  return p.split(/[\\/]/).includes('app.asar');
}

/**
 * Every place the library is looked for, in order (docs/distribution.md, "Node.js"):
 * 1. the package's own copy, `lib/<name>` (skipped inside `app.asar`: an archive member cannot
 *    be loaded);
 * 2. Electron: `<process.resourcesPath>/<name>` (electron-builder's `extraResources`), then
 *    the package's copy unpacked beside the archive, `app.asar.unpacked/…/lib/<name>`
 *    (`asarUnpack`);
 * 3. a checkout this package sits in (bindings/node): `target/release`, then `target/debug`
 *    (not inside `app.asar`).
 * `OPCORE_LIB`, when set, comes before all of them and is the only place then.
 */
function libraryCandidates({ dirname = __dirname, resourcesPath = process.resourcesPath } = {}) {
  const names = libraryNames();
  const places = [];
  const own = path.join(dirname, 'lib');
  if (!insideAsar(own)) places.push(own);
  if (typeof resourcesPath === 'string' && resourcesPath) places.push(resourcesPath);
  if (insideAsar(own)) {
    places.push(own.split(`app.asar${path.sep}`).join(`app.asar.unpacked${path.sep}`));
  }
  if (!insideAsar(own)) {
    const checkout = path.join(dirname, '..', '..');
    places.push(path.join(checkout, 'target', 'release'), path.join(checkout, 'target', 'debug'));
  }
  return places.flatMap((dir) => names.map((name) => path.join(dir, name)));
}

/** Where the library is loaded from: `OPCORE_LIB` if set, else the first existing candidate. */
function libraryPath() {
  const env = process.env.OPCORE_LIB;
  if (env) {
    if (!fs.existsSync(env) || !fs.statSync(env).isFile()) {
      throw new Error(`OPCORE_LIB=${JSON.stringify(env)} is not a file`);
    }
    return env;
  }
  const candidates = libraryCandidates();
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    'libopcore not found: set OPCORE_LIB to the library\'s path, install a package that ' +
      'carries it, or build it (cargo build --release --no-default-features --lib); looked at ' +
      candidates.join(', '),
  );
}


let loaded = null;

/** The library with every prototype bound (loaded once, on first use). */
function lib() {
  if (loaded) return loaded;
  const file = libraryPath();
  const library = koffi.load(file);
  const functions = {};
  for (const prototype of PROTOTYPES) {
    const name = functionName(prototype);
    try {
      functions[name] = library.func(prototype);
    } catch (error) {
      if (OPTIONAL.has(name)) continue;
      throw new Error(
        `${file} has no usable ${name} (${error.message}): it is not the libopcore ` +
          `${HEADER_VERSION} these bindings were written for`,
      );
    }
  }
  const version = functions.opc_version();
  if (compatiblePart(version) !== compatiblePart(HEADER_VERSION)) {
    throw new Error(
      `${file} is libopcore ${version}; these bindings need ${HEADER_VERSION} ` +
        '(same major version, and same minor version before 1.0)',
    );
  }
  loaded = functions;
  return loaded;
}

function compatiblePart(version) {
  const [major, minor] = version.split('.');
  return major === '0' ? `${major}.${minor}` : major;
}

/** This thread's `opc_last_error_message()`. */
function lastError() {
  return lib().opc_last_error_message();
}

/** `OPC_NOT_FOUND` for 200, …; `OPC_STATUS_<n>` for a value this binding lacks. */
function statusName(code) {
  for (const [name, value] of Object.entries(STATUS)) {
    if (value === code) return name;
  }
  return `OPC_STATUS_${code}`;
}

/** Copies a library-allocated string, then frees (and wipes) it with opc_string_free. */
function takeString(pointer) {
  if (!pointer) return '';
  try {
    return koffi.decode(pointer, 'char', -1);
  } finally {
    lib().opc_string_free(pointer);
  }
}

module.exports = {
  HEADER_VERSION,
  ID_SIZE,
  MESSAGE_SIZE,
  TOKEN_ERROR_SIZE,
  SCOPE_SIZE,
  SUBJECT_SIZE,
  TOKEN_TEXT_SIZE,
  STATUS,
  FAMILY,
  CLIENT_TYPE,
  PRINCIPAL_FIELDS,
  TOKEN_INFO_FIELDS,
  PROTOTYPES,
  EX_VARIANTS,
  OPTIONAL,
  functionName,
  libraryCandidates,
  libraryPath,
  lib,
  lastError,
  statusName,
  takeString,
};
