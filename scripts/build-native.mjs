#!/usr/bin/env node
// Builds the native addon with node-gyp on Linux. Elsewhere it says why it
// skips: the package still imports there, and calls that need the addon say so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') {
  console.warn(`mremap-probe: skipping the native build: ${process.platform} is not Linux`);
  process.exit(0);
}
const require = createRequire(import.meta.url);
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  // npm ships its own node-gyp; npm_config_node_gyp names it during install.
  gyp = process.env.npm_config_node_gyp;
}
if (!gyp) {
  console.error('mremap-probe: node-gyp was not found; run the build through npm (npm install)');
  process.exit(1);
}
const args = [gyp, 'rebuild'];
// Build against the headers of the Node that runs us when they are installed
// beside it (Debian's nodejs, NodeSource): node-gyp then downloads nothing.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
