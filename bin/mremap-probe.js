#!/usr/bin/env node
// Entry point: runs the compiled command line from dist/.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'mremap-probe: the TypeScript is not compiled; run `npm install` (or `npm run build:ts`) in the package folder\n',
  );
  process.exit(1);
}

/** `ulimit -n` in words, when /proc can still be read. */
function openFilesLimit() {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? ` (ulimit -n is ${m[1]})` : '';
  } catch {
    return '';
  }
}

let cli;
try {
  // require() loads the modules one file at a time where Node can require ES
  // modules (20.19+); import() opens the whole graph at once, which a low
  // `ulimit -n` turns into EMFILE before the first line of the tool runs.
  cli = process.features.require_module
    ? createRequire(import.meta.url)(fileURLToPath(entry))
    : await import(entry.href);
} catch (err) {
  if (err?.code !== 'EMFILE' && err?.code !== 'ENFILE') throw err;
  process.stderr.write(
    `mremap-probe: could not run here: too many open files to start${openFilesLimit()}; ` +
      'it needs at least 64: raise it with `ulimit -n 1024`\n',
  );
  process.exit(4);
}
const code = await cli.main(process.argv);
// Let pending output drain, then leave with the status.
process.exitCode = code;
