#!/usr/bin/env node
// Entry point: runs the compiled command line from dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'mremap-probe: the TypeScript is not compiled; run `npm install` (or `npm run build:ts`) in the package folder\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// Let pending output drain, then leave with the status.
process.exitCode = code;
