// Debian kernels for the VM: resolve a series ("5.10", "6.12", "7") or a suite
// ("bullseye", "sid"), for an architecture and a flavour (cloud-amd64,
// cloud-arm64, arm64-16k), to a kernel package, download it through the
// private apt environment of that architecture, and cache the extracted image.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKernelVersion, type KernelVersion } from '../kernel.js';
import { aptEnv, AptError, madison, SUITES, type AptEnv, type Candidate } from './apt.js';
import { ARCHES, type GuestArch } from './arch.js';
import type { BuiltFrom } from './build.js';
import { cacheDir } from './cache.js';

/** A kernel in the cache: fetched from Debian (package, suite) or built (`built`). */
export interface CachedKernel {
  release: string;
  version: KernelVersion;
  vmlinuz: string;
  config?: string;
  package?: string;
  packageVersion?: string;
  suite?: string;
  /** The guest architecture it boots on; absent in older caches, which held x86-64 only. */
  arch?: GuestArch;
  /** Debian's flavour (cloud-amd64, cloud-arm64, arm64-16k). */
  flavour?: string;
  sha256: string;
  fetchedAt: string;
  built?: BuiltFrom;
}

export class KernelSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelSpecError';
  }
}

const SUITE_ALIASES: Record<string, string> = { unstable: 'sid' };

function newer(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;
}

/** What `--debian` names: a series or a suite, and a flavour of an architecture. */
export interface DebianSpec {
  /** As the user wrote it, e.g. "6.12:16k". */
  text: string;
  /** The series or suite. */
  release: string;
  arch: GuestArch;
  /** Debian's flavour, e.g. cloud-arm64. */
  flavour: string;
}

/** The flavours of an architecture's kernels, by short name: cloud (the default), 16k... */
export function flavourNames(arch: GuestArch): string[] {
  return Object.keys(ARCHES[arch].flavours);
}

/**
 * `SERIES|SUITE[:FLAVOUR]` for an architecture: `6.12`, `sid`, `6.12:16k`.
 * A flavour the architecture does not have is a KernelSpecError.
 */
export function parseDebianSpec(text: string, arch: GuestArch): DebianSpec {
  const [release = '', short = 'cloud', ...rest] = text.split(':');
  const flavour = ARCHES[arch].flavours[short];
  if (!release || rest.length || !flavour) {
    throw new KernelSpecError(
      !release || rest.length
        ? `a Debian kernel is SERIES or SUITE, then :FLAVOUR if not the cloud one, not ${JSON.stringify(text)}`
        : `${arch} kernels have no ${JSON.stringify(short)} flavour: use ${flavourNames(arch).join(' or ')}` +
            (Object.values(ARCHES).some((a) => short in a.flavours)
              ? ` (${short} is a flavour of ${Object.values(ARCHES)
                  .filter((a) => short in a.flavours)
                  .map((a) => a.id)
                  .join(
                    ', ',
                  )} kernels: add --arch ${Object.values(ARCHES).find((a) => short in a.flavours)!.id})`
              : ''),
    );
  }
  return { text, release, arch, flavour };
}

/** Whether a spec's flavour exists for an architecture (6.12:16k is arm64's only). */
export function specFitsArch(text: string, arch: GuestArch): boolean {
  const short = text.split(':')[1] ?? 'cloud';
  return short in ARCHES[arch].flavours;
}

/** A kernel image package of a flavour: linux-image-VERSION-FLAVOUR, VERSION as Debian writes it. */
export function imagePackageRe(flavour: string): RegExp {
  const f = flavour.replace(/[^a-z0-9]/g, (c) => `\\${c}`);
  // 5.10.0-32, 6.12.117+deb13, 6.12.90+deb12.1, 7.3: the flavour starts after the version.
  return new RegExp(
    `^linux-image-(\\d+)\\.(\\d+)(?:\\.\\d+)?(?:-\\d+)?(?:\\+deb\\d+(?:\\.\\d+)*)?-${f}$`,
  );
}

/** Picks the package to fetch for a spec. */
export function resolveSpec(apt: AptEnv, spec: DebianSpec): Candidate {
  const s = SUITE_ALIASES[spec.release] ?? spec.release;
  const meta = `linux-image-${spec.flavour}`;
  if ((SUITES as readonly string[]).includes(s)) {
    const m = madison(apt, meta).find((c) => c.suite === s);
    if (!m) throw new KernelSpecError(`${s} has no ${meta}`);
    // The metapackage's Depends names the kernel it stands for.
    const depends =
      /^Depends:\s*(.*)$/m.exec(apt.run(['apt-cache', 'show', `${meta}=${m.version}`]))?.[1] ?? '';
    const re = imagePackageRe(spec.flavour);
    const image = depends
      .split(/[,|]/)
      .map((d) => d.trim().split(/\s/)[0]!)
      .find((d) => re.test(d));
    if (!image) throw new KernelSpecError(`cannot tell which kernel ${s}'s ${meta} stands for`);
    const c = madison(apt, image).find((x) => x.suite === s) ?? madison(apt, image)[0];
    if (!c) throw new KernelSpecError(`${image} is not in the archive`);
    return c;
  }
  const series = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!series) {
    throw new KernelSpecError(
      `a kernel spec is a series (5.10, 6.12, 7) or a suite (${SUITES.join(', ')}), not ${JSON.stringify(spec.release)}`,
    );
  }
  const re = imagePackageRe(spec.flavour);
  const names = apt
    .run(['apt-cache', 'pkgnames', 'linux-image-'])
    .split('\n')
    .filter((n) => {
      const m = re.exec(n);
      return m && m[1] === series[1] && (series[2] === undefined || m[2] === series[2]);
    });
  const all = names.flatMap((n) => madison(apt, n));
  const pick = (list: Candidate[]) =>
    list.reduce<Candidate | undefined>(
      (best, c) => (!best || newer(c.version, best.version) ? c : best),
      undefined,
    );
  const chosen = pick(all.filter((c) => c.suite !== 'experimental')) ?? pick(all);
  if (!chosen)
    throw new KernelSpecError(`no ${spec.flavour} kernel of series ${s} in ${SUITES.join(', ')}`);
  return chosen;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

function findFile(root: string, test: (rel: string) => boolean, rel = ''): string | undefined {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) {
      const f = findFile(root, test, r);
      if (f) return f;
    } else if (test(r)) return r;
  }
  return undefined;
}

/** Downloads and caches the kernel for a spec; returns the cached entry. */
export async function fetchKernel(
  text: string,
  options: { arch?: GuestArch; mirror?: string; log?: (s: string) => void } = {},
): Promise<CachedKernel> {
  const log = options.log ?? (() => {});
  const arch = options.arch ?? 'x86_64';
  const parsed = parseDebianSpec(text, arch);
  const spec = `${text}${arch === 'x86_64' ? '' : ` (${arch})`}`;
  const apt = aptEnv({
    arch: ARCHES[arch].debian,
    ...(options.mirror ? { mirror: options.mirror } : {}),
  });
  const c = resolveSpec(apt, parsed);
  const known = listKernels().find((k) => k.package === c.pkg && k.packageVersion === c.version);
  if (known) {
    log(`${spec}: ${c.pkg} ${c.version} is cached`);
    return known;
  }
  log(`${spec}: fetching ${c.pkg} ${c.version} from ${c.suite} (${apt.mirror})`);
  const dir = mkdtempSync(join(tmpdir(), 'mp-kernel-'));
  try {
    apt.run(['apt-get', 'download', `${c.pkg}=${c.version}`], { cwd: dir });
    const extract = (deb: string) => {
      const r = spawnSync('dpkg-deb', ['-x', join(dir, deb), join(dir, 'root')], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new AptError(`dpkg-deb -x ${deb} failed: ${r.stderr}`);
    };
    let debs = readdirSync(dir).filter((f) => f.endsWith('.deb'));
    debs.forEach(extract);
    const isKernel = (r: string) =>
      /^boot\/vmlinuz-/.test(r) || /^usr\/lib\/modules\/[^/]+\/vmlinuz$/.test(r);
    if (!findFile(join(dir, 'root'), isKernel)) {
      // Newer packaging: the image package depends on linux-binary-*, which holds vmlinuz.
      const depends = spawnSync('dpkg-deb', ['-f', join(dir, debs[0]!), 'Depends'], {
        encoding: 'utf8',
      }).stdout;
      const binary = /(linux-binary-\S+)\s*\(=\s*([^)]+)\)/.exec(depends);
      if (!binary)
        throw new AptError(`${c.pkg} holds no vmlinuz and names no linux-binary package`);
      apt.run(['apt-get', 'download', `${binary[1]}=${binary[2]!.trim()}`], { cwd: dir });
      const before = new Set(debs);
      debs = readdirSync(dir).filter((f) => f.endsWith('.deb') && !before.has(f));
      debs.forEach(extract);
    }
    const kernelRel = findFile(join(dir, 'root'), isKernel);
    if (!kernelRel) throw new AptError(`no vmlinuz in ${c.pkg}`);
    const release = kernelRel.startsWith('boot/')
      ? kernelRel.slice('boot/vmlinuz-'.length)
      : kernelRel.split('/')[3]!;
    const configRel = findFile(
      join(dir, 'root'),
      (r) => r === `boot/config-${release}` || r === `usr/lib/modules/${release}/config`,
    );
    const out = cacheDir('kernels', release);
    copyFileSync(join(dir, 'root', kernelRel), join(out, 'vmlinuz'));
    if (configRel) copyFileSync(join(dir, 'root', configRel), join(out, 'config'));
    const entry: CachedKernel = {
      release,
      version: parseKernelVersion(release),
      vmlinuz: join(out, 'vmlinuz'),
      ...(configRel ? { config: join(out, 'config') } : {}),
      package: c.pkg,
      packageVersion: c.version,
      suite: c.suite,
      arch,
      flavour: parsed.flavour,
      sha256: await sha256(join(out, 'vmlinuz')),
      fetchedAt: new Date().toISOString(),
    };
    writeFileSync(join(out, 'meta.json'), `${JSON.stringify(entry, null, 2)}\n`);
    log(`${spec}: cached Linux ${release} in ${out}`);
    return entry;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function listKernels(): CachedKernel[] {
  const dir = cacheDir('kernels');
  const out: CachedKernel[] = [];
  for (const d of readdirSync(dir)) {
    const meta = join(dir, d, 'meta.json');
    if (!existsSync(meta)) continue;
    try {
      const k = JSON.parse(readFileSync(meta, 'utf8')) as CachedKernel;
      if (existsSync(k.vmlinuz)) out.push(k);
    } catch {
      // a half-written entry: ignore it
    }
  }
  return out.sort((a, b) =>
    a.version.join('.').localeCompare(b.version.join('.'), undefined, { numeric: true }),
  );
}
