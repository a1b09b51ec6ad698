'use strict';

/** The library's file names on this platform, most likely first (no dependencies). */
function libraryNames() {
  if (process.platform === 'darwin') return ['libopcore.dylib'];
  if (process.platform === 'win32') return ['opcore.dll', 'libopcore.dll'];
  return ['libopcore.so'];
}

module.exports = { libraryNames };
