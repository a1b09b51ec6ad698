'use strict';

// Where the library is looked for (docs/distribution.md): OPCORE_LIB, the package's own
// copy, Electron's resourcesPath, app.asar.unpacked, then a checkout's build.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const ffi = require('../ffi');

const NAME = ffi.libraryCandidates({ dirname: '/p', resourcesPath: undefined })[0].split('/').pop();

test('a plain install: the package copy, then a checkout build', () => {
  assert.deepEqual(ffi.libraryCandidates({ dirname: '/app/node_modules/opcore', resourcesPath: undefined }), [
    `/app/node_modules/opcore/lib/${NAME}`,
    `/app/target/release/${NAME}`,
    `/app/target/debug/${NAME}`,
  ]);
});

test('Electron, package inside app.asar: resourcesPath, then app.asar.unpacked', () => {
  const dirname = path.join('/opt/App/resources/app.asar/node_modules/opcore');
  assert.deepEqual(ffi.libraryCandidates({ dirname, resourcesPath: '/opt/App/resources' }), [
    `/opt/App/resources/${NAME}`,
    `/opt/App/resources/app.asar.unpacked/node_modules/opcore/lib/${NAME}`,
  ]);
});

test('Electron, package unpacked: its own copy first, then resourcesPath', () => {
  const dirname = '/opt/App/resources/app/node_modules/opcore';
  const candidates = ffi.libraryCandidates({ dirname, resourcesPath: '/opt/App/resources' });
  assert.deepEqual(candidates.slice(0, 2), [
    `${dirname}/lib/${NAME}`,
    `/opt/App/resources/${NAME}`,
  ]);
});

test('OPCORE_LIB wins over every candidate and must be a file', () => {
  const saved = process.env.OPCORE_LIB;
  try {
    process.env.OPCORE_LIB = __filename;
    assert.equal(ffi.libraryPath(), __filename);
    process.env.OPCORE_LIB = path.join(__dirname, 'no-such-library.so');
    assert.throws(() => ffi.libraryPath(), /OPCORE_LIB=".*no-such-library.so" is not a file/);
  } finally {
    if (saved === undefined) delete process.env.OPCORE_LIB;
    else process.env.OPCORE_LIB = saved;
  }
});
