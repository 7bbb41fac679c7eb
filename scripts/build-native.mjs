#!/usr/bin/env node
// The install script: use the prebuilt addon when one fits this machine, build
// it from source with node-gyp otherwise.
//
// An installed package carries prebuilds/linux-x64/ and prebuilds/linux-arm64/
// (scripts/prebuild.mjs, run by `npm pack`): node-gyp-build picks the one for
// this platform, architecture and C library, and it is loaded once here to be
// sure it links (an older glibc, say); then nothing is compiled, and no
// compiler is needed. A git checkout is a developer's tree and always builds
// from source, as do `npm install --build-from-source` and `--from-source`
// (npm run build). Outside Linux it says
// why it skips: the package still imports there, and calls that need the addon
// say so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.platform !== 'linux') {
  console.warn(`mremap-probe: skipping the native build: ${process.platform} is not Linux`);
  process.exit(0);
}
const require = createRequire(import.meta.url);

function fittingPrebuild() {
  // Only prebuilds/: a build/ left from an earlier source build must not count.
  process.env.PREBUILDS_ONLY = '1';
  try {
    return require('node-gyp-build').path(root);
  } catch {
    return undefined;
  } finally {
    delete process.env.PREBUILDS_ONLY;
  }
}

const fromSource =
  process.argv.includes('--from-source') ||
  process.env.npm_config_build_from_source === 'true' ||
  existsSync(join(root, '.git'));
if (!fromSource) {
  const prebuild = fittingPrebuild();
  if (prebuild) {
    // Loaded in a child: a prebuild that fails to link here falls back to a build.
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(prebuild)})`], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      console.log(`mremap-probe: using the prebuilt addon ${relative(root, prebuild)}`);
      process.exit(0);
    }
    const why =
      (r.stderr || '')
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? `exit ${r.status}`;
    console.warn(
      `mremap-probe: the prebuilt ${relative(root, prebuild)} does not load here (${why}); building from source`,
    );
  } else {
    console.warn(
      `mremap-probe: no prebuilt addon for linux-${process.arch}; building from source (needs python3, make and g++)`,
    );
  }
}

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
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
