'use strict';

// The koffi prototypes match include/opcore.h: every function, every parameter's type and
// name, output parameters, the opc_principal layout, enum values and the version macro.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const ffi = require('../ffi');
const { HEADER } = require('../testing');

// Where the binding's declaration legitimately differs from the header, decided here:
// library-allocated strings travel as void * so the exact pointer can be freed after copying,
// and koffi spells an array of const strings `const char **`.
const HEADER_TO_BINDING = {
  'char * *': 'void * *',
  'char *': 'void *',
  'const char * const *': 'const char * *',
};

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

function normalizeType(text) {
  return text.replace(/\*/g, ' * ').split(/\s+/).filter(Boolean).join(' ');
}

/** `{type, name, out}` of one parameter such as `_Out_ opc_store **out_store`. */
function parseParam(text) {
  const tokens = text.replace(/\*/g, ' * ').split(/\s+/).filter(Boolean);
  const out = tokens[0] === '_Out_';
  const rest = out ? tokens.slice(1) : tokens;
  const name = rest[rest.length - 1];
  return { type: rest.slice(0, -1).join(' '), name, out };
}

function parsePrototype(text) {
  const m = /^([\w\s*]*?)\b(opc_\w+)\s*\(([^()]*)\)\s*;?$/.exec(text.trim());
  assert.ok(m, `not a prototype: ${text}`);
  const params = m[3].trim() === 'void' ? [] : m[3].split(',').map(parseParam);
  return { name: m[2], returns: normalizeType(m[1]), params };
}

/** name -> {returns, params, conditional} for every prototype of the header. */
function headerPrototypes(header) {
  const found = new Map();
  let depth = 0;
  let chunk = [];
  const flush = () => {
    const text = chunk.join('\n');
    for (const m of text.matchAll(/([A-Za-z_][\w\s*]*?)\b(opc_\w+)\s*\(([^()]*)\)\s*;/g)) {
      const returns = m[1].split(/[;}]/).pop();
      const p = parsePrototype(`${returns} ${m[2]}(${m[3]})`);
      found.set(p.name, { ...p, conditional: depth > 0 });
    }
    chunk = [];
  };
  for (const line of stripComments(header).split('\n')) {
    const s = line.trim();
    if (s.startsWith('#')) {
      flush();
      if (/^#\s*if\s+defined\(OPCORE_\w+\)/.test(s)) depth += 1;
      else if (/^#\s*endif/.test(s) && depth > 0) depth -= 1;
      continue;
    }
    chunk.push(line);
  }
  flush();
  return found;
}

function expectedType(headerType) {
  return HEADER_TO_BINDING[headerType] || headerType;
}

/** Every disagreement between the header and the binding's prototypes. */
function drift(header, prototypes, optional) {
  const problems = [];
  const declared = headerPrototypes(header);
  const bound = new Map(prototypes.map((p) => [ffi.functionName(p), parsePrototype(p)]));
  for (const [name, h] of declared) {
    const b = bound.get(name);
    if (!b) {
      problems.push(`${name}: in the header, no binding`);
      continue;
    }
    if (expectedType(h.returns) !== b.returns) {
      problems.push(`${name}: returns ${h.returns}, bound as ${b.returns}`);
    }
    if (h.params.length !== b.params.length) {
      problems.push(`${name}: ${h.params.length} parameters, bound with ${b.params.length}`);
    }
    h.params.forEach((hp, i) => {
      const bp = b.params[i];
      if (!bp) return;
      if (expectedType(hp.type) !== bp.type) {
        problems.push(`${name}: parameter ${i} is ${hp.type}, bound as ${bp.type}`);
      }
      if (hp.name !== bp.name) {
        problems.push(`${name}: parameter ${i} is named ${hp.name}, bound as ${bp.name}`);
      }
      if (hp.name.startsWith('out_') !== bp.out) {
        problems.push(`${name}: parameter ${hp.name} ${bp.out ? 'is' : 'is not'} _Out_`);
      }
    });
    if (h.conditional !== optional.has(name)) {
      problems.push(`${name}: conditional in the header is ${h.conditional}, optional in the ` +
        `binding is ${optional.has(name)}`);
    }
  }
  for (const name of bound.keys()) {
    if (!declared.has(name)) problems.push(`${name}: bound, but not in the header`);
  }
  return problems;
}

const header = fs.readFileSync(HEADER, 'utf8');

test('every prototype of the header has a matching binding', () => {
  assert.ok(headerPrototypes(header).size >= 37);
  assert.deepEqual(drift(header, ffi.PROTOTYPES, ffi.OPTIONAL), []);
});

test('the drift check catches each kind of drift', () => {
  const check = (changed) => drift(changed, ffi.PROTOTYPES, ffi.OPTIONAL);
  assert.deepEqual(
    check(header.replace('const char *opc_version(void);',
      'const char *opc_version(void);\nvoid opc_new_thing(int64_t n);')),
    ['opc_new_thing: in the header, no binding'],
  );
  const purge = 'opc_status opc_purge(opc_store *store, size_t *out_count);';
  assert.deepEqual(check(header.replace(purge, '')), ['opc_purge: bound, but not in the header']);
  assert.deepEqual(check(header.replace(purge, 'opc_status opc_purge(opc_store *store);')),
    ['opc_purge: 1 parameters, bound with 2']);
  assert.deepEqual(check(header.replace('int64_t n,', 'uint16_t n,')),
    ['opc_project_events_increment: parameter 3 is uint16_t, bound as int64_t']);
  assert.deepEqual(
    check(header.replace('uint16_t opc_response_status(', 'size_t opc_response_status(')),
    ['opc_response_status: returns size_t, bound as uint16_t'],
  );
  assert.deepEqual(
    check(header.replace('opc_status opc_purge(opc_store *store, size_t *out_count);',
      'opc_status opc_purge(opc_store *store, size_t *count);')),
    ['opc_purge: parameter 1 is named count, bound as out_count',
      'opc_purge: parameter count is _Out_'],
  );
});

test('the loaded library binds every prototype', () => {
  const lib = ffi.lib();
  for (const prototype of ffi.PROTOTYPES) {
    const name = ffi.functionName(prototype);
    if (ffi.OPTIONAL.has(name)) continue;
    assert.equal(typeof lib[name], 'function', name);
  }
});

/** `[name, type]` of each member of the header's struct `name`. */
function structMembers(name) {
  const body = new RegExp(`typedef struct \\{([^{}]*?)\\}\\s*${name};`).exec(stripComments(header));
  assert.ok(body, name);
  const defines = Object.fromEntries(
    [...header.matchAll(/^#define\s+(\w+)\s+(.+?)\s*$/gm)].map((m) => [m[1], m[2]]),
  );
  return [...body[1].matchAll(/(\w+)\s+(\w+)(?:\[(\w+)\])?\s*;/g)].map((m) => [
    m[2],
    m[3] ? `${m[1]}[${defines[m[3]] || m[3]}]` : m[1],
  ]);
}

test('opc_principal members match the header', () => {
  assert.deepEqual(ffi.PRINCIPAL_FIELDS, structMembers('opc_principal'));
});

test('opc_token_info members match the header', () => {
  assert.deepEqual(ffi.TOKEN_INFO_FIELDS, structMembers('opc_token_info'));
});

test('enum values and the version match the header', () => {
  const values = (name) => {
    const body = new RegExp(`enum ${name}\\b[^{]*\\{([\\s\\S]*?)\\};`).exec(stripComments(header));
    return Object.fromEntries([...body[1].matchAll(/(OPC_\w+)\s*=\s*(\d+)/g)]
      .map((m) => [m[1], Number(m[2])]));
  };
  assert.deepEqual(values('opc_status'), { ...ffi.STATUS });
  assert.deepEqual(values('opc_family'), { ...ffi.FAMILY });
  assert.deepEqual(values('opc_client_type'), { ...ffi.CLIENT_TYPE });
  assert.match(header, new RegExp(`#define OPCORE_VERSION "${ffi.HEADER_VERSION}"`));
  assert.match(header, new RegExp(`#define OPC_ID_SIZE ${ffi.ID_SIZE}\\b`));
  assert.match(header, new RegExp(`#define OPC_MESSAGE_SIZE ${ffi.MESSAGE_SIZE}\\b`));
});

test('status strings and names come from the library', () => {
  const lib = ffi.lib();
  assert.equal(lib.opc_status_str(ffi.STATUS.OPC_NOT_FOUND), 'not found');
  assert.equal(lib.opc_status_str(12345), 'unknown status');
  assert.equal(ffi.statusName(200), 'OPC_NOT_FOUND');
  assert.equal(ffi.statusName(12345), 'OPC_STATUS_12345');
});
