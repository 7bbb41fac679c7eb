// Debian's user space for an architecture, unpacked into a directory: Debian's
// node and the shared libraries it needs, say, for arm64. apt-get resolves the
// dependencies and downloads through the private environment (signed indexes,
// as for the kernels); nothing is installed on this machine. Cached by suite,
// architecture and package list. A guest initramfs of another architecture
// takes its programs from here, and the tests run the arm64 prebuilt addon in
// one under qemu-user.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  aptEnv,
  AptError,
  madison,
  SUITES,
  type AptEnv,
  type DebianArch,
  type Suite,
} from './apt.js';
import { cacheDir } from './cache.js';

export interface Userland {
  /** The directory the packages are unpacked into, with merged-/usr links. */
  root: string;
  arch: DebianArch;
  suite: Suite;
  /** Every package unpacked, the asked ones and their dependencies. */
  packages: { name: string; version: string }[];
}

/** The packages `apt-get install` would install on an empty system, from its simulation. */
export function parseSimulation(out: string): { name: string; version: string }[] {
  return [...out.matchAll(/^Inst (\S+) \((\S+) /gm)].map((m) => ({
    name: m[1]!,
    version: m[2]!,
  }));
}

/** Fetches (or finds in the cache) `packages` of `suite` for `arch`, with their dependencies. */
export function debianUserland(opts: {
  arch: DebianArch;
  packages: string[];
  suite?: Suite;
  mirror?: string;
  log?: (s: string) => void;
}): Userland {
  const { arch, suite = 'trixie', log = () => {} } = opts;
  const names = [...opts.packages].sort();
  const dir = cacheDir('userland', `${suite}-${arch}-${names.join('+')}`);
  const manifest = join(dir, 'userland.json');
  if (existsSync(manifest) && existsSync(join(dir, 'root')))
    return JSON.parse(readFileSync(manifest, 'utf8')) as Userland;

  const apt = aptEnv({ arch, ...(opts.mirror ? { mirror: opts.mirror } : {}) });
  // -t: the suite's versions win over sid's and experimental's, dependencies too.
  const plan = parseSimulation(
    apt.run(['apt-get', '-s', '-t', suite, 'install', '--no-install-recommends', ...names]),
  );
  if (plan.length === 0) throw new AptError(`apt-get plans nothing for ${names.join(' ')}`);
  log(
    `fetching ${plan.length} ${arch} packages from ${suite} (${apt.mirror}) for ${names.join(', ')}`,
  );
  const tmp = mkdtempSync(join(dir, 'tmp-'));
  try {
    apt.run(['apt-get', 'download', ...plan.map((p) => `${p.name}=${p.version}`)], { cwd: tmp });
    const root = join(tmp, 'root');
    mkdirSync(root);
    for (const deb of readdirSync(tmp).filter((f) => f.endsWith('.deb'))) {
      const r = spawnSync('dpkg-deb', ['-x', join(tmp, deb), root], { encoding: 'utf8' });
      if (r.status !== 0) throw new AptError(`dpkg-deb -x ${deb} failed: ${r.stderr}`);
    }
    // Merged /usr: binaries name their loader as /lib/..., which usr-is-merged links.
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
      if (!existsSync(join(root, d)) && existsSync(join(root, 'usr', d)))
        symlinkSync(`usr/${d}`, join(root, d));
    }
    rmSync(join(dir, 'root'), { recursive: true, force: true });
    renameSync(root, join(dir, 'root'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const land: Userland = { root: join(dir, 'root'), arch, suite, packages: plan };
  writeFileSync(manifest, JSON.stringify(land, null, 2) + '\n');
  return land;
}

/** The major version of a Debian package version: "20.19.2+dfsg-1" -> 20. */
function majorOf(version: string): number {
  return Number(/^(?:\d+:)?(\d+)/.exec(version)?.[1] ?? 0);
}

/**
 * The first suite, stable releases before sid and experimental, whose nodejs
 * is at least `minMajor` (the package's `engines`).
 */
export function suiteForNode(apt: AptEnv, minMajor: number): Suite {
  const rows = madison(apt, 'nodejs');
  const fits = SUITES.find((s) =>
    rows.some((r) => r.suite === s && majorOf(r.version) >= minMajor),
  );
  if (!fits) {
    throw new AptError(
      `no suite has a nodejs ${minMajor} or later for ${apt.arch} (${rows.map((r) => `${r.version} in ${r.suite}`).join(', ') || 'none'})`,
    );
  }
  return fits;
}

/**
 * Debian's node (from the first suite whose nodejs satisfies `minMajor`) and
 * a static busybox for `arch`: a guest's user space. A cached one whose node
 * still fits is taken without asking apt.
 */
export function guestUserland(opts: {
  arch: DebianArch;
  minMajor: number;
  mirror?: string;
  log?: (s: string) => void;
}): Userland {
  const packages = ['busybox-static', 'nodejs'];
  const suffix = `-${opts.arch}-${packages.join('+')}`;
  for (const d of readdirSync(cacheDir('userland')).filter((d) => d.endsWith(suffix))) {
    try {
      const land = JSON.parse(
        readFileSync(join(cacheDir('userland'), d, 'userland.json'), 'utf8'),
      ) as Userland;
      const node = land.packages.find((p) => p.name === 'nodejs');
      if (node && majorOf(node.version) >= opts.minMajor && existsSync(land.root)) return land;
    } catch {
      // not fetched whole: fetch it again below
    }
  }
  const apt = aptEnv({ arch: opts.arch, ...(opts.mirror ? { mirror: opts.mirror } : {}) });
  return debianUserland({
    arch: opts.arch,
    packages,
    suite: suiteForNode(apt, opts.minMajor),
    ...(opts.mirror ? { mirror: opts.mirror } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}
