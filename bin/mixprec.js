#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    process.stderr.write('mixprec: the TypeScript sources are not built; run `npm install` (or `npm run build`) in the package folder\n');
    process.exit(1);
  }
  throw err;
}
// A reader that goes away (`mixprec train --list-presets | head`) ends the output, not with a stack trace.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
