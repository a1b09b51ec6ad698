'use strict';

// The examples in the README (the synchronous form, then the Promise form) work when pasted:
// each is taken from the file and run as is, from a folder where `opcore` is installed (a link
// to this package, which is the installed copy when the distribution checks run these tests).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { DOCS, tempDir } = require('../testing');

function nodeExamples() {
  const text = fs.readFileSync(DOCS, 'utf8');
  const start = text.indexOf('### Node.js');
  const end = text.indexOf('\n## ', start);
  const section = text.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 2, 'the README must hold the sync and the Promise example');
  return { sync: blocks[0], promise: blocks[1] };
}

test('the sync example is ten lines and the Promise one uses only Promise forms', () => {
  const { sync, promise } = nodeExamples();
  assert.equal(sync.trimEnd().split('\n').length, 10);
  assert.match(promise, /await Store\.open\(/);
  assert.doesNotMatch(promise, /\.(createOrganization|create|authenticate)\(/);
});

for (const form of ['sync', 'promise']) {
  test(`the ${form} example runs as pasted`, (t) => {
    const dir = tempDir(t);
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(path.resolve(__dirname, '..'), path.join(dir, 'node_modules', 'opcore'), 'dir');
    fs.writeFileSync(path.join(dir, 'example.js'), nodeExamples()[form]);
    const run = spawnSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8', timeout: 120000 });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^website sec_[0-9a-f]{32}$/);
    assert.equal(lines[1], 'write website');
    assert.ok(fs.statSync(path.join(dir, 'example.db')).isFile());
  });
}
