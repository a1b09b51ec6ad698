'use strict';

// index.d.ts compiles under `tsc --strict` and describes the API as used in types-check.ts.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

test('the TypeScript declarations compile with --strict', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs',
    '--lib', 'es2022,esnext.disposable', '--types', 'node',
    path.join(__dirname, 'types-check.ts'),
  ], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});
