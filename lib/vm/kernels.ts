// Debian kernels for the VM: resolve a series ("5.10", "6.12", "7") or a suite
// ("bullseye", "sid") to a cloud-amd64 kernel package, download it through the
// private apt environment, and cache the extracted vmlinuz.
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
import { aptEnv, AptError, SUITES, type AptEnv } from './apt.js';
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

interface Candidate {
  pkg: string;
  version: string;
  suite: string;
}

/** `apt-cache madison` rows: package | version | source suite/component arch. */
function madison(apt: AptEnv, pkg: string): Candidate[] {
  const out = apt.run(['apt-cache', 'madison', pkg]);
  const rows: Candidate[] = [];
  for (const line of out.split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    if (cols.length < 3 || cols[0] !== pkg) continue;
    const suite = / (\S+?)\/main /.exec(` ${cols[2]} `)?.[1];
    if (suite) rows.push({ pkg, version: cols[1]!, suite });
  }
  return rows;
}

function newer(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;
}

/** Picks the package to fetch for a spec. */
export function resolveSpec(apt: AptEnv, spec: string): Candidate {
  const s = SUITE_ALIASES[spec] ?? spec;
  if ((SUITES as readonly string[]).includes(s)) {
    const meta = madison(apt, 'linux-image-cloud-amd64').find((c) => c.suite === s);
    if (!meta) throw new KernelSpecError(`${s} has no linux-image-cloud-amd64`);
    // The metapackage's Depends names the kernel it stands for.
    const depends =
      /^Depends:\s*(.*)$/m.exec(
        apt.run(['apt-cache', 'show', `linux-image-cloud-amd64=${meta.version}`]),
      )?.[1] ?? '';
    const image = /(linux-image-\S+-cloud-amd64)\b/.exec(depends)?.[1];
    if (!image)
      throw new KernelSpecError(
        `cannot tell which kernel ${s}'s linux-image-cloud-amd64 stands for`,
      );
    const c = madison(apt, image).find((x) => x.suite === s) ?? madison(apt, image)[0];
    if (!c) throw new KernelSpecError(`${image} is not in the archive`);
    return c;
  }
  const series = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!series) {
    throw new KernelSpecError(
      `a kernel spec is a series (5.10, 6.12, 7) or a suite (${SUITES.join(', ')}), not ${JSON.stringify(spec)}`,
    );
  }
  const names = apt
    .run(['apt-cache', 'pkgnames', 'linux-image-'])
    .split('\n')
    .filter((n) => {
      const m = /^linux-image-(\d+)\.(\d+)[^ ]*-cloud-amd64$/.exec(n);
      return (
        m &&
        m[1] === series[1] &&
        (series[2] === undefined || m[2] === series[2]) &&
        !/unsigned|dbg/.test(n)
      );
    });
  const all = names.flatMap((n) => madison(apt, n));
  const pick = (list: Candidate[]) =>
    list.reduce<Candidate | undefined>(
      (best, c) => (!best || newer(c.version, best.version) ? c : best),
      undefined,
    );
  const chosen = pick(all.filter((c) => c.suite !== 'experimental')) ?? pick(all);
  if (!chosen)
    throw new KernelSpecError(`no cloud-amd64 kernel of series ${s} in ${SUITES.join(', ')}`);
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
  spec: string,
  options: { mirror?: string; log?: (s: string) => void } = {},
): Promise<CachedKernel> {
  const log = options.log ?? (() => {});
  const apt = aptEnv(options.mirror ? { mirror: options.mirror } : {});
  const c = resolveSpec(apt, spec);
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
