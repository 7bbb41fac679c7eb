#!/usr/bin/env node
// Checks the C++ sources with clang-format (skips, saying so, where it is not installed).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = [];
for (const dir of ['native/sys', 'native/binding', 'native/repro']) {
  for (const f of readdirSync(dir)) if (/\.(cc|h|c)$/.test(f)) files.push(join(dir, f));
}
const which = spawnSync('clang-format', ['--version'], { encoding: 'utf8' });
if (which.error) {
  console.warn(
    'clang-format is not installed: C++ formatting not checked (apt-get install clang-format)',
  );
  process.exit(0);
}
const r = spawnSync('clang-format', ['--dry-run', '--Werror', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
