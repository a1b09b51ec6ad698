'use strict';

// Store: opening, options, lifetime, organizations, purge, event counts, storage failures.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const opcore = require('..');
const { Store, StoreError, ValidationError, NotFound, Unauthorized, OpcoreError } = opcore;
const { FAST, tempDir, openStore, withOrg, credentials } = require('../testing');

function openFdsOn(file) {
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) count += 1;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

const linux = { skip: process.platform !== 'linux' && 'reads /proc/self/fd' };

test('version is the library version', () => {
  assert.equal(opcore.version(), '0.1.0');
  assert.equal(require('../package.json').version, opcore.version());
});

test('close() releases the file, is idempotent, and later calls throw', linux, (t) => {
  const file = path.join(tempDir(t), 'a.db');
  const store = new Store(file, FAST);
  assert.ok(openFdsOn(file) >= 1);
  assert.equal(store.closed, false);
  store.close();
  store.close();
  assert.equal(store.closed, true);
  assert.equal(openFdsOn(file), 0);
  assert.throws(() => store.createOrganization('Late'), (e) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.message, 'the store is closed');
    assert.equal(e.code, null);
    return true;
  });
  assert.throws(() => store.handle('GET', '/manage/projects'), StoreError);
});

test('garbage collection closes the file', linux, (t) => {
  const file = path.join(tempDir(t), 'gc.db');
  const script = `
    const { Store } = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const fs = require('node:fs');
    const count = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try { return fs.readlinkSync('/proc/self/fd/' + fd) === ${JSON.stringify(file)}; }
      catch { return false; }
    }).length;
    (function () { new Store(${JSON.stringify(file)}); })();
    const before = count();
    setTimeout(() => { global.gc(); setTimeout(() => {
      console.log(before, count());
    }, 50); }, 10);
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const [before, after] = run.stdout.trim().split(' ').map(Number);
  assert.ok(before >= 1);
  assert.equal(after, 0);
});

test('options are applied', (t) => {
  const { store, root } = withOrg(t, { rate_limits: { manage: { limit: 7, window_seconds: 5 } } });
  const response = store.handle('GET', '/manage/projects', credentials(root));
  assert.equal(response.headers['x-ratelimit-limit'], '7');
  assert.equal(response.headers['x-ratelimit-remaining'], '6');
});

test('an unknown option is OPC_INVALID_OPTIONS', (t) => {
  const file = path.join(tempDir(t), 'a.db');
  assert.throws(() => new Store(file, { bogus: 1 }), (e) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.code, 'OPC_INVALID_OPTIONS');
    assert.match(e.message, /unknown field `bogus`/);
    return true;
  });
});

test('a file that is not a store is OPC_OPEN_FAILED and left untouched', (t) => {
  const file = path.join(tempDir(t), 'notes.txt');
  fs.writeFileSync(file, 'not a database, just some text '.repeat(200));
  const before = fs.readFileSync(file);
  assert.throws(() => new Store(file, FAST), (e) => {
    assert.ok(e instanceof StoreError);
    assert.equal(e.code, 'OPC_OPEN_FAILED');
    assert.match(e.message, /cannot open store/);
    return true;
  });
  assert.deepEqual(fs.readFileSync(file), before);
});

test('arguments C cannot carry are refused before the call', (t) => {
  assert.throws(() => new Store('a\0b.db'), { name: 'TypeError', message: 'path contains a NUL character' });
  assert.throws(() => new Store(42), { name: 'TypeError', message: 'path must be a string, not number' });
  const { store } = openStore(t);
  assert.throws(() => store.createOrganization(null), TypeError);
});

test('createOrganization returns the root client with its secret', (t) => {
  const { store } = openStore(t);
  const { organization, client } = store.createOrganization('  Acme Corp ');
  assert.equal(organization.id, 'acme-corp');
  assert.equal(organization.name, '  Acme Corp '); // stored as sent; the id is slugged from it trimmed
  assert.equal(client.type, 'root');
  assert.equal(client.projectId, null);
  assert.match(client.secret, /^sec_[0-9a-f]{32}$/);
  assert.match(client.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('a blank organization name is a ValidationError', (t) => {
  const { store } = openStore(t);
  assert.throws(() => store.createOrganization('   '), (e) => {
    assert.ok(e instanceof ValidationError && e instanceof OpcoreError);
    assert.equal(e.code, 'OPC_INVALID_INPUT');
    assert.equal(e.status, 400);
    assert.equal(e.message, 'invalid input: name: String must contain a visible character (not only whitespace or invisible characters)');
    assert.deepEqual(e.details, []);
    return true;
  });
});

test('get, list and delete organizations', (t) => {
  const { store } = openStore(t);
  const first = store.createOrganization('First');
  store.createOrganization('Second');
  assert.deepEqual(store.getOrganization('first'), first.organization);
  assert.deepEqual(store.listOrganizations().map((o) => o.id), ['first', 'second']);
  assert.equal(store.deleteOrganization('first'), undefined);
  assert.deepEqual(store.listOrganizations().map((o) => o.id), ['second']);
  assert.throws(() => store.getOrganization('first'), (e) => {
    assert.ok(e instanceof NotFound);
    assert.deepEqual([e.code, e.status, e.message], ['OPC_NOT_FOUND', 404, 'Organization not found']);
    return true;
  });
  assert.throws(() => store.deleteOrganization('first'), NotFound);
  assert.throws(() => store.manage(first.client.id, first.client.secret).projects.list(),
    Unauthorized);
});

test('purge removes projects past their deletion time', (t) => {
  const { store, manage } = withOrg(t, { deletion_grace_seconds: 0 });
  const old = manage.projects.create({ name: 'Old' });
  manage.projects.create({ name: 'Kept' });
  assert.deepEqual(manage.projects.delete(old.id), { success: true });
  assert.equal(store.purge(), 1);
  assert.equal(store.purge(), 0);
  assert.deepEqual(manage.projects.list().map((p) => p.id), ['kept']);
});

test('incrementEvents counts and reports unknown projects', (t) => {
  const { store, manage } = withOrg(t);
  manage.projects.create({ name: 'Web' });
  assert.equal(store.incrementEvents('acme', 'web'), 1);
  assert.equal(store.incrementEvents('acme', 'web', 41), 42);
  assert.equal(manage.projects.get('web').eventsCount, 42);
  assert.throws(() => store.incrementEvents('acme', 'missing'),
    { name: 'NotFound', message: 'Project not found' });
  assert.throws(() => store.incrementEvents('acme', 'web', 1.5), TypeError);
});

const LOCKER = `
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
`;

function python() {
  for (const candidate of ['python3', 'python']) {
    if (spawnSync(candidate, ['-c', 'import sqlite3'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return null;
}

test('a locked database is a busy StoreError', { skip: !python() && 'needs python3 to hold a lock' },
  async (t) => {
    const { store, file, root, manage } = withOrg(t, { busy_timeout_ms: 50 });
    manage.projects.list(); // credentials verified and cached before the lock
    // Another process holds the write lock.
    const locker = spawn(python(), ['-c', LOCKER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve) => locker.stdout.once('data', resolve));
    try {
      assert.throws(() => store.createOrganization('Blocked'), (e) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 'OPC_BUSY');
        assert.match(e.message, /database is busy/);
        return true;
      });
      assert.throws(() => manage.projects.create({ name: 'Blocked' }), (e) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, null);
        assert.equal(e.status, 500);
        assert.match(e.message, /^Internal server error: .*busy/);
        return true;
      });
      const response = store.handle('POST', '/manage/projects', credentials(root), { name: 'B' });
      assert.equal(response.status, 500);
      assert.deepEqual(response.json,
        { error: 'Internal Server Error', message: 'Internal server error' });
      assert.match(response.internalError, /busy/);
    } finally {
      locker.stdin.end();
      await new Promise((resolve) => locker.on('exit', resolve));
    }
    assert.equal(manage.projects.create({ name: 'Unblocked' }).id, 'unblocked');
  });

test('a worker thread opens its own Store on the same file', async (t) => {
  const { Worker } = require('node:worker_threads');
  const { file, root, manage } = withOrg(t);
  manage.projects.create({ name: 'Web' });
  const worker = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads');
    const { Store } = require(workerData.pkg);
    const store = new Store(workerData.file, workerData.options);
    const ids = store.manage(workerData.id, workerData.secret).projects.list().map((p) => p.id);
    store.close();
    parentPort.postMessage(ids);
  `, {
    eval: true,
    workerData: { pkg: path.resolve(__dirname, '..'), file, options: FAST, id: root.id, secret: root.secret },
  });
  const ids = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.deepEqual(ids, ['web']);
  await worker.terminate();
});
