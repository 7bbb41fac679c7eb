// The guest's user space: an initramfs the probe builds itself, so that any
// kernel of the guest's architecture with initramfs support boots it (Debian's
// cloud kernels have neither 9p nor virtiofs). It holds a static busybox, a
// node with the shared libraries it needs (this machine's for a guest of its
// own architecture; Debian's, fetched through apt, for another), the built
// package with the addon for the guest's architecture, and an /init that runs
// the probe, sends the report out on the second port, framed, and reboots
// (which ends QEMU on any kernel, under -no-reboot).
// Written as a newc cpio archive by hand; cached by content.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { addonCandidates, packageRoot } from '../native.js';
import { ARCHES, type GuestArch } from './arch.js';
import { cacheDir } from './cache.js';
import { closure, readElf, resolveInRoot, sharedBuiltins, type RootFile } from './elf.js';
import { guestUserland } from './userland.js';

export class RequirementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequirementError';
  }
}

/** A static busybox for this machine: Debian's busybox-static installs it as /bin/busybox. */
export function findBusybox(): string {
  for (const p of [process.env.MREMAP_PROBE_BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter(
    Boolean,
  ) as string[]) {
    if (existsSync(p) && isStatic(p)) return p;
  }
  throw new RequirementError(
    'a static busybox is needed for the guest: install it with `apt-get install busybox-static`',
  );
}

/** An ELF binary without a PT_INTERP program header needs no dynamic loader. */
export function isStatic(path: string): boolean {
  try {
    return readElf(path).interp === undefined;
  } catch {
    return false;
  }
}

export interface Entry {
  path: string; // inside the archive, without a leading slash
  mode: number;
  data?: Buffer | string; // file content
  from?: string; // file on disk
  link?: string; // symlink target
}

/**
 * The addon for a guest of `arch` (Node's names: x64, arm64): for this
 * machine's architecture the one this machine loads (a source build or the
 * prebuild, never $MREMAP_PROBE_ADDON, which may be a sanitizer build), for
 * another the prebuild in prebuilds/linux-ARCH/.
 */
export function guestAddon(arch: string = process.arch): string {
  const candidates = addonCandidates({ arch, env: false });
  const found = candidates.find((p) => p.endsWith('.node') && existsSync(p));
  if (found) return found;
  throw new RequirementError(
    arch === process.arch
      ? `the addon is not built (looked for ${candidates.join(', ')}): run \`npm install\``
      : `no prebuilt addon for linux-${arch} (${candidates.join(', ')}): run \`npm run build:prebuilds\``,
  );
}

/** The newest modification time under the native sources of a clone. */
function nativeSourcesTime(): number {
  let newest = statSync(join(packageRoot, 'binding.gyp')).mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(packageRoot, 'native'));
  return newest;
}

/**
 * The addon for a guest of another architecture (Node's names): in a clone
 * (scripts/prebuild.mjs is there) the prebuild is built with `npm run
 * build:prebuilds`'s script when it is missing or older than the native
 * sources; an installed package takes the prebuild it carries.
 */
export function ensureGuestAddon(arch: string, log: (s: string) => void = () => {}): string {
  const script = join(packageRoot, 'scripts', 'prebuild.mjs');
  if (arch === process.arch || !existsSync(script)) return guestAddon(arch);
  let have: string | undefined;
  try {
    have = guestAddon(arch);
  } catch {
    // built below
  }
  if (have && statSync(have).mtimeMs >= nativeSourcesTime()) return have;
  log(
    `${have ? 'rebuilding' : 'building'} the prebuilt addon for linux-${arch} (scripts/prebuild.mjs ${arch})`,
  );
  const r = spawnSync(process.execPath, [script, arch], { cwd: packageRoot, encoding: 'utf8' });
  if (r.status !== 0) {
    const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' / ');
    throw new RequirementError(`the prebuilt addon for linux-${arch} could not be built: ${why}`);
  }
  return guestAddon(arch);
}

/** The package files the guest needs: compiled JS, the addon, runtime dependencies. */
function packageEntries(arch: string, log: (s: string) => void): Entry[] {
  const out: Entry[] = [];
  const addTree = (abs: string, filter: (rel: string) => boolean) => {
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        const rel = relative(packageRoot, p);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && filter(rel))
          out.push({ path: `probe/${rel}`, mode: 0o100644, from: p });
      }
    };
    walk(abs);
  };
  const addon = ensureGuestAddon(arch, log);
  if (!existsSync(join(packageRoot, 'dist', 'cli', 'main.js'))) {
    throw new RequirementError('the TypeScript is not compiled: run `npm install`');
  }
  out.push({ path: 'probe/package.json', mode: 0o100644, from: join(packageRoot, 'package.json') });
  out.push({
    path: 'probe/bin/mremap-probe.js',
    mode: 0o100755,
    from: join(packageRoot, 'bin', 'mremap-probe.js'),
  });
  // Where it lies in the package, so that the guest's loader finds it the same way.
  out.push({ path: `probe/${relative(packageRoot, addon)}`, mode: 0o100755, from: addon });
  addTree(join(packageRoot, 'dist'), (rel) => rel.endsWith('.js'));
  // The JSON Schemas that run --cases checks scenario files against.
  addTree(join(packageRoot, 'schemas'), (rel) => rel.endsWith('.json'));
  // Runtime dependencies, followed through their own package.json files.
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || name === 'node-addon-api') return;
    seen.add(name);
    const dir = join(packageRoot, 'node_modules', name);
    if (!existsSync(dir))
      throw new RequirementError(`the dependency ${name} is not installed: run \`npm install\``);
    addTree(dir, (rel) => !/\.(md|ts|map)$/.test(rel) && !/\/(test|docs?)\//.test(rel));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    Object.keys(pkg.dependencies ?? {}).forEach(visit);
  };
  const own = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  Object.keys(own.dependencies ?? {}).forEach(visit);
  return out;
}

/**
 * /init: mount what the probe reads, run it with the arguments from the
 * kernel command line (mp.args, base64), and write the report to the report
 * port (mp.port: ttyS1 on x86-64, the virtio console hvc0 on arm64) as
 * base64 lines between a header (bytes, sha256) and an end marker. A kernel
 * without that port (Debian's arm64 kernels before 6.12 build the virtio
 * console as a module) gets the report on its console instead, with the
 * console's log level lowered so that kernel messages keep out of it.
 */
export const INIT_SCRIPT = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
$B mount -t tmpfs tmp /tmp
$B mkdir -p /run && $B mount -t tmpfs run /run
export PATH=/usr/bin:/bin HOME=/tmp
args=$($B sed -n 's/.*mp\\.args=\\([^ ]*\\).*/\\1/p' /proc/cmdline | $B base64 -d)
echo "mremap-probe guest: Linux $($B uname -r), running: mremap-probe $args"
eval "set -- $args"
/usr/bin/node /probe/bin/mremap-probe.js "$@" > /tmp/report 2> /tmp/stderr
rc=$?
$B cat /tmp/stderr
echo "mremap-probe guest: exit status $rc, $($B wc -c < /tmp/report) bytes of report"
port=/dev/$($B sed -n 's/.*mp\\.port=\\([a-zA-Z0-9]*\\).*/\\1/p' /proc/cmdline)
[ "$port" = /dev/ ] && port=/dev/ttyS1
# A virtio console appears once its driver (when built in) has heard from QEMU.
i=0
while [ ! -c "$port" ] && [ -d /sys/bus/virtio/drivers/virtio_console ] && [ $i -lt 20 ]; do
  $B sleep 1
  i=$((i + 1))
done
if [ ! -c "$port" ]; then
  echo "mremap-probe guest: no $port, the report follows on the console"
  port=/dev/console
  echo 1 > /proc/sys/kernel/printk
fi
$B stty -F "$port" raw -echo 2>/dev/null
{
  echo "MREMAP-PROBE-REPORT-BEGIN status=$rc bytes=$($B wc -c < /tmp/report) sha256=$($B sha256sum /tmp/report | $B cut -d' ' -f1)"
  $B base64 /tmp/report
  echo "MREMAP-PROBE-REPORT-END"
} > "$port"
$B sync
# A reboot ends QEMU under -no-reboot on any kernel; poweroff -f only halts
# a kernel without ACPI.
$B reboot -f
`;

/** A node and a static busybox for a guest of `arch`, with the files the node loads. */
function guestPrograms(
  arch: GuestArch,
  log: (s: string) => void,
): { node: RootFile[]; busybox: string } {
  const spec = ARCHES[arch];
  if (spec.node === process.arch) {
    // This machine's own: the node that runs the probe here.
    const node = closure('/', realpathSync(process.execPath), spec.triplet);
    return { node: [...node, ...sharedBuiltins('/', node)], busybox: findBusybox() };
  }
  const own = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const minMajor = Number(/(\d+)/.exec(own.engines?.node ?? '')?.[1] ?? 20);
  const land = guestUserland({ arch: spec.debian, minMajor, log });
  const bb = ['/bin/busybox', '/usr/bin/busybox']
    .map((p) => resolveInRoot(land.root, p))
    .find((p) => p !== undefined);
  if (!bb || !isStatic(join(land.root, bb)))
    throw new RequirementError(`busybox-static for ${spec.debian} holds no static busybox`);
  const node = closure(land.root, '/usr/bin/node', spec.triplet);
  return { node: [...node, ...sharedBuiltins(land.root, node)], busybox: join(land.root, bb) };
}

function entries(arch: GuestArch, log: (s: string) => void): Entry[] {
  const spec = ARCHES[arch];
  const list: Entry[] = [];
  const dirs = new Set<string>();
  const addDirs = (p: string) => {
    const parts = p.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  const add = (e: Entry) => {
    addDirs(e.path);
    list.push(e);
  };
  const { node, busybox } = guestPrograms(arch, log);
  // A binary of the wrong architecture would only say "exec format error" in the guest.
  for (const f of [busybox, node[0]!.from]) {
    const m = readElf(f).machine;
    if (m !== spec.elfMachine)
      throw new RequirementError(`${f} is for ELF machine ${m}, not ${spec.uname}`);
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'etc']) dirs.add(d);
  add({ path: 'init', mode: 0o100755, data: INIT_SCRIPT });
  add({ path: 'bin/busybox', mode: 0o100755, from: busybox });
  add({ path: 'bin/sh', mode: 0o120777, link: 'busybox' });
  add({ path: 'etc/passwd', mode: 0o100644, data: 'root:x:0:0:root:/tmp:/bin/sh\n' });
  // Each file where the guest's loader (or node) looks; node also as /usr/bin/node.
  for (const f of node) add({ path: f.path.replace(/^\/+/, ''), mode: 0o100755, from: f.from });
  if (node[0]!.path !== '/usr/bin/node')
    add({ path: 'usr/bin/node', mode: 0o120777, link: node[0]!.path });
  packageEntries(spec.node, log).forEach(add);
  const dirEntries = [...dirs].sort().map((d) => ({ path: d, mode: 0o040755 }));
  return [...dirEntries, ...list];
}

function cacheKey(list: Entry[]): string {
  const h = createHash('sha256');
  h.update('v1\0');
  for (const e of list) {
    h.update(`${e.path}\0${e.mode}\0`);
    if (e.from) {
      const st = statSync(e.from);
      h.update(`${st.size}\0${st.mtimeMs}\0`);
    } else if (e.data !== undefined) h.update(e.data);
    else if (e.link) h.update(e.link);
  }
  return h.digest('hex').slice(0, 24);
}

/**
 * Builds (or finds in the cache) the initramfs for a guest of `arch` and
 * returns its path. For this machine's architecture it takes this machine's
 * node and busybox; for another, Debian's (fetched and cached) and the
 * prebuilt addon.
 */
export function buildInitramfs(arch: GuestArch, log: (s: string) => void = () => {}): string {
  const list = entries(arch, log);
  const key = cacheKey(list);
  const dir = cacheDir('initramfs');
  const out = join(dir, `guest-${arch}-${key}.cpio`);
  if (existsSync(out)) return out;
  log(`building the guest initramfs (${list.length} entries)`);
  writeCpio(out, list);
  // Keep the cache to a few images of each architecture (older names had none).
  const old = readdirSync(dir)
    .filter(
      (f) =>
        (f.startsWith(`guest-${arch}-`) || /^guest-[0-9a-f]+\.cpio$/.test(f)) &&
        join(dir, f) !== out,
    )
    .map((f) => ({ f, t: lstatSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(2);
  for (const { f } of old) rmSync(join(dir, f), { force: true });
  return out;
}

/**
 * Writes `list` as a newc cpio archive at `out`, whole or not at all (a
 * temporary file renamed into place). `inoBase` keeps the inode numbers of
 * an archive appended to another apart from the first's.
 */
export function writeCpio(out: string, list: Entry[], inoBase = 1): void {
  const tmp = `${out}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  let ino = inoBase;
  const header = (name: string, mode: number, size: number) => {
    const nameBytes = Buffer.byteLength(name) + 1;
    const fields = [ino++, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, size, 0, 0, 0, 0, nameBytes, 0];
    const h = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
    const pad = (4 - ((h.length + nameBytes) % 4)) % 4;
    writeSync(fd, Buffer.concat([Buffer.from(h), Buffer.from(name), Buffer.alloc(1 + pad)]));
  };
  const body = (b: Buffer) => {
    writeSync(fd, b);
    const pad = (4 - (b.length % 4)) % 4;
    if (pad) writeSync(fd, Buffer.alloc(pad));
  };
  try {
    for (const e of list) {
      if (e.link !== undefined) {
        const b = Buffer.from(e.link);
        header(e.path, e.mode, b.length);
        body(b);
      } else if (e.from || e.data !== undefined) {
        const b = e.from ? readFileSync(e.from) : Buffer.from(e.data!);
        header(e.path, e.mode, b.length);
        body(b);
      } else header(e.path, e.mode, 0);
    }
    header('TRAILER!!!', 0, 0);
    closeSync(fd);
    renameSync(tmp, out);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The guest's initramfs with `files` (name -> content) under /cases:
 * a copy of `initrd` with a second cpio archive after it, which the kernel
 * unpacks over the first. Written in `dir`; returns its path.
 */
export function initramfsWithCases(
  initrd: string,
  files: Map<string, string>,
  dir: string,
): string {
  const extra = join(dir, 'cases.cpio');
  writeCpio(
    extra,
    [
      { path: 'cases', mode: 0o040755 },
      ...[...files].map(([name, data]) => ({ path: `cases/${name}`, mode: 0o100644, data })),
    ],
    1 << 20,
  );
  const out = join(dir, `${basename(initrd, '.cpio')}-cases.cpio`);
  copyFileSync(initrd, out);
  appendFileSync(out, readFileSync(extra));
  rmSync(extra);
  return out;
}
