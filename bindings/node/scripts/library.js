'use strict';

// `npm pack` / `npm publish` lifecycle: `prepack` copies the library into lib/ so that the
// tarball carries it, `postpack` removes that copy again (the checkout keeps loading its own
// build). The library is OPCORE_LIB when set, else the checkout's target/release build
// ($CARGO_TARGET_DIR/release when that is set). docs/distribution.md, "Node.js".

const fs = require('node:fs');
const path = require('node:path');
const { libraryNames } = require('../ffi-names');

const here = path.resolve(__dirname, '..');
const lib = path.join(here, 'lib');
const marker = path.join(here, '.packed-library');

function source() {
  if (process.env.OPCORE_LIB) return process.env.OPCORE_LIB;
  const root = path.resolve(here, '..', '..');
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(root, process.env.CARGO_TARGET_DIR)
    : path.join(root, 'target');
  return path.join(target, 'release', libraryNames()[0]);
}

function copy() {
  const from = source();
  if (!fs.existsSync(from)) {
    console.error(
      `opcore: ${from} not found; build it (cargo build --release --no-default-features --lib) ` +
        'or set OPCORE_LIB before packing',
    );
    process.exit(1);
  }
  fs.mkdirSync(lib, { recursive: true });
  const to = path.join(lib, libraryNames()[0]);
  fs.copyFileSync(from, to);
  fs.writeFileSync(marker, `${to}\n`);
}

function clean() {
  if (!fs.existsSync(marker)) return;
  const copied = fs.readFileSync(marker, 'utf8').trim();
  fs.rmSync(copied, { force: true });
  fs.rmSync(marker, { force: true });
  try {
    fs.rmdirSync(lib);
  } catch {
    // not empty: something else lives there
  }
}

const command = process.argv[2];
if (command === 'copy') copy();
else if (command === 'clean') clean();
else {
  console.error('usage: node scripts/library.js copy|clean');
  process.exit(2);
}
