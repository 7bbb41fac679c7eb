// Debian's archive through apt-get with a private sources list and state
// directory: the machine's own apt configuration is read (for the mirror) and
// never written. Indexes are checked against Debian's signing keys, and every
// package against the signed indexes, as apt always does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache.js';

/** The suites the probe fetches kernels from. */
export const SUITES = [
  'bullseye',
  'bookworm',
  'bookworm-backports',
  'trixie',
  'sid',
  'experimental',
] as const;
export type Suite = (typeof SUITES)[number];

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const DEBIAN_SUITE =
  /^(buster|bullseye|bookworm|trixie|forky|duke|sid|unstable|testing|stable|oldstable|experimental)(-updates|-backports)?$/;

export class AptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AptError';
  }
}

function aptConfig(key: string, fallback: string): string {
  const r = spawnSync('apt-config', ['shell', 'V', key], { encoding: 'utf8' });
  const m = /^V='(.*)'$/m.exec(r.stdout ?? '');
  return m?.[1] || fallback;
}

/**
 * The Debian archive mirror the machine's apt already uses: the first source
 * (one-line or deb822) that serves a Debian suite and is not the security archive.
 */
export function systemMirror(
  list = aptConfig('Dir::Etc::sourcelist/f', '/etc/apt/sources.list'),
  parts = aptConfig('Dir::Etc::sourceparts/d', '/etc/apt/sources.list.d'),
): string | undefined {
  const files: string[] = [];
  if (existsSync(list)) files.push(list);
  if (existsSync(parts)) {
    for (const f of readdirSync(parts).sort())
      if (/\.(list|sources)$/.test(f)) files.push(join(parts, f));
  }
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
        if (/^enabled:\s*no/im.test(stanza)) continue;
        const uris = field('URIs')?.split(/\s+/) ?? [];
        const suites = field('Suites')?.split(/\s+/) ?? [];
        const types = field('Types')?.split(/\s+/) ?? [];
        if (!types.includes('deb')) continue;
        const uri = uris.find((u) => !/security/.test(u));
        if (uri && suites.some((s) => DEBIAN_SUITE.test(s))) return uri.replace(/\/+$/, '');
      }
    } else {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m && !/security/.test(m[1]!) && DEBIAN_SUITE.test(m[2]!))
          return m[1]!.replace(/\/+$/, '');
      }
    }
  }
  return undefined;
}

/** Debian's names of the architectures the probe fetches for. */
export type DebianArch = 'amd64' | 'arm64';

/** Debian's architecture name for Node's (process.arch). */
export function debianArch(nodeArch: string): DebianArch {
  if (nodeArch === 'x64') return 'amd64';
  if (nodeArch === 'arm64') return 'arm64';
  throw new AptError(`no Debian architecture for ${nodeArch}: only x64 (amd64) and arm64`);
}

export interface AptEnv {
  dir: string;
  mirror: string;
  arch: DebianArch;
  run(args: string[], opts?: { cwd?: string }): string;
}

/**
 * A private apt environment for `mirror` (default: the system's) and one
 * architecture (default amd64: it sees that architecture's packages only),
 * with fresh indexes.
 */
export function aptEnv(
  options: { mirror?: string; update?: boolean; arch?: DebianArch } = {},
): AptEnv {
  const arch = options.arch ?? 'amd64';
  if (spawnSync('apt-get', ['--version']).error) {
    throw new AptError(
      'apt-get is not available: fetching Debian kernels needs a Debian-like system (or use --kernel PATH)',
    );
  }
  if (!existsSync(KEYRING)) {
    throw new AptError(
      `${KEYRING} is missing: install it with \`apt-get install debian-archive-keyring\``,
    );
  }
  const mirror = options.mirror ?? systemMirror();
  if (!mirror) {
    throw new AptError(
      'no Debian mirror found in the apt configuration: give one with --mirror URL',
    );
  }
  // Each architecture keeps its own indexes (amd64's where they always were).
  const dir = arch === 'amd64' ? cacheDir('apt') : cacheDir(`apt-${arch}`);
  for (const d of ['state/lists/partial', 'cache/archives/partial', 'etc'])
    mkdirSync(join(dir, d), { recursive: true });
  const sources =
    SUITES.map((s) => `deb [signed-by=${KEYRING}] ${mirror} ${s} main`).join('\n') + '\n';
  const listFile = join(dir, 'etc', 'sources.list');
  const changed = !existsSync(listFile) || readFileSync(listFile, 'utf8') !== sources;
  writeFileSync(listFile, sources);
  const base = [
    '-o',
    `Dir::Etc::SourceList=${listFile}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    `Dir::Etc::Preferences=/dev/null`,
    '-o',
    'Dir::Etc::PreferencesParts=/dev/null',
    '-o',
    `Dir::State=${join(dir, 'state')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    // apt's binary caches in our own directory: without them (some images
    // turn them off) every apt-cache call parses all indexes again, seconds each.
    '-o',
    'Dir::Cache::pkgcache=pkgcache.bin',
    '-o',
    'Dir::Cache::srcpkgcache=srcpkgcache.bin',
    '-o',
    'Dir::State::status=/dev/null',
    '-o',
    `APT::Architecture=${arch}`,
    '-o',
    `APT::Architectures::=${arch}`,
    '-o',
    'Acquire::Languages=none',
    '-o',
    'APT::Sandbox::User=root',
    '-q',
  ];
  const env: AptEnv = {
    dir,
    mirror,
    arch,
    run(args, opts = {}) {
      const tool = args[0]!;
      const r = spawnSync(tool, [...base, ...args.slice(1)], {
        encoding: 'utf8',
        cwd: opts.cwd ?? dir,
        maxBuffer: 256 << 20,
        env: { ...process.env, LC_ALL: 'C' },
      });
      if (r.status !== 0) {
        const err = (r.stderr || r.stdout || '').trim().split('\n').slice(-4).join(' / ');
        throw new AptError(`${args.join(' ')} failed: ${err || `exit ${r.status}`}`);
      }
      return r.stdout;
    },
  };
  // Indexes older than a day are refreshed; apt checks their signatures.
  const stamp = join(dir, 'state', 'updated');
  const stale = !existsSync(stamp) || Date.now() - Number(readFileSync(stamp, 'utf8')) > 86_400_000;
  if (options.update !== false && (changed || stale)) {
    env.run(['apt-get', 'update']);
    writeFileSync(stamp, String(Date.now()));
  }
  return env;
}

/** A package's version in a suite. */
export interface Candidate {
  pkg: string;
  version: string;
  suite: string;
}

/** `apt-cache madison` rows: package | version | source suite/component arch. */
export function madison(apt: AptEnv, pkg: string): Candidate[] {
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
