#!/usr/bin/env node
// Builds the prebuilt addons that `npm pack` puts in the tarball, with
// prebuildify: prebuilds/linux-x64/ and prebuilds/linux-arm64/, one N-API
// binary each that serves every Node version from 20. The architecture that
// is not this machine's is cross-compiled (Debian's g++-aarch64-linux-gnu or
// g++-x86-64-linux-gnu). Node's headers come from npm's nodedir or from beside
// this node; N-API's headers are the same for every architecture, so the cross
// build uses them too, and nothing is downloaded.
//
// node-gyp builds in a copy of the sources, so the developer's build/ (which
// the loader prefers) is left as it was.
//
// Usage: node scripts/prebuild.mjs [ARCH...]   (default: x64 arm64)
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TRIPLETS = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const CROSS_PACKAGES = { x64: 'g++-x86-64-linux-gnu', arm64: 'g++-aarch64-linux-gnu' };

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux')
  fail(`prebuilds are built on Linux (this is ${process.platform})`);
const arches = process.argv.length > 2 ? process.argv.slice(2) : ['x64', 'arm64'];
for (const a of arches)
  if (!TRIPLETS[a]) fail(`no prebuild for ${a}: only ${Object.keys(TRIPLETS).join(', ')}`);

// Node's headers: npm's nodedir, or the include/node/ beside this node (Debian's nodejs, NodeSource).
const besideNode = dirname(dirname(process.execPath));
const nodedir =
  process.env.npm_config_nodedir ||
  (existsSync(join(besideNode, 'include', 'node', 'node_api.h')) ? besideNode : '');
if (!nodedir || !existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(
    `Node's headers were not found (npm's nodedir is ${process.env.npm_config_nodedir || 'unset'}, ` +
      `and ${besideNode}/include/node has none): set nodedir to a directory with include/node/node_api.h`,
  );
}

function tool(name) {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

function toolchain(arch) {
  if (arch === process.arch) return { CC: 'gcc', CXX: 'g++', strip: 'strip' };
  const t = TRIPLETS[arch];
  if (!tool(`${t}-g++`))
    fail(
      `${t}-g++ is needed to cross-compile the ${arch} addon: apt-get install ${CROSS_PACKAGES[arch]}`,
    );
  return { CC: `${t}-gcc`, CXX: `${t}-g++`, strip: `${t}-strip` };
}

// The sources node-gyp needs, and the package's node_modules for node-addon-api and node-gyp.
const stage = mkdtempSync(join(tmpdir(), 'mremap-probe-prebuild-'));
let status = 0;
try {
  for (const f of ['package.json', 'binding.gyp', 'native'])
    cpSync(join(root, f), join(stage, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
  const prebuildify = join(root, 'node_modules', 'prebuildify', 'bin.js');
  if (!existsSync(prebuildify)) fail('prebuildify is not installed: run `npm install` first');
  for (const arch of arches) {
    const tc = toolchain(arch);
    rmSync(join(root, 'prebuilds', `linux-${arch}`), { recursive: true, force: true });
    console.error(`prebuild: linux-${arch} with ${tc.CXX}, headers from ${nodedir}`);
    const r = spawnSync(
      process.execPath,
      [
        prebuildify,
        '--napi',
        '--strip',
        '--tag-libc',
        `--target=node@${process.versions.node}`,
        `--arch=${arch}`,
        `--cwd=${stage}`,
        `--out=${root}`,
      ],
      {
        stdio: ['ignore', 2, 2], // the build's log on stderr: npm pack --json owns stdout
        env: {
          ...process.env,
          npm_config_nodedir: nodedir,
          CC: tc.CC,
          CXX: tc.CXX,
          LINK: tc.CXX,
          PREBUILD_STRIP_BIN: tc.strip,
          JOBS: '2',
        },
      },
    );
    if (r.status !== 0) {
      status = r.status ?? 1;
      console.error(`prebuild: the linux-${arch} build failed`);
      break;
    }
    const dir = join(root, 'prebuilds', `linux-${arch}`);
    for (const f of readdirSync(dir))
      console.error(
        `prebuild: prebuilds/linux-${arch}/${f} (${statSync(join(dir, f)).size} bytes)`,
      );
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}
process.exit(status);
