// Building a guest kernel from a kernel tree: out of tree (O=, the tree stays
// clean), from `tinyconfig` plus lib/vm/guest.config, with the workarounds an
// old tree needs with today's compiler, ccache when there is one. The image
// goes into the kernel cache under the tree's version, its source hash and the
// configuration fragment; a build that fails leaves nothing there.
//
// Longer than most of lib/: checking the tree, configuring, building and
// caching share one key and one error path, and read best in one place.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { compareVersions, versionString, type KernelVersion } from '../kernel.js';
import { packageRoot } from '../native.js';
import { cacheDir } from './cache.js';
import { RequirementError } from './initramfs.js';
import type { CachedKernel } from './kernels.js';

/** The oldest tree `kernels build` supports. */
export const OLDEST_TREE: KernelVersion = [4, 14, 0];

/** What the user pointed at is not a kernel tree, or not one we can build from. */
export class KernelTreeError extends Error {
  constructor(
    message: string,
    /** A kernel tree, older than kernels build supports. */
    readonly tooOld = false,
  ) {
    super(message);
    this.name = 'KernelTreeError';
  }
}

/** The build ran and failed: the message names the step and the log. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

export interface KernelTree {
  dir: string;
  version: KernelVersion;
  /** VERSION.PATCHLEVEL.SUBLEVEL and EXTRAVERSION, as the top Makefile says. */
  versionText: string;
}

/** Reads the version from the tree's top Makefile; refuses what is not a kernel tree. */
export function readKernelTree(dir: string): KernelTree {
  let abs: string;
  try {
    abs = realpathSync(dir);
  } catch {
    throw new KernelTreeError(`no directory ${dir}`);
  }
  let makefile = '';
  try {
    makefile = readFileSync(join(abs, 'Makefile'), 'utf8').slice(0, 4096);
  } catch {
    // handled below
  }
  const field = (k: string) => new RegExp(`^${k}\\s*=[ \\t]*(\\S*)`, 'm').exec(makefile)?.[1];
  const [v, p, s] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')];
  if (
    !v ||
    !p ||
    !/^\d+$/.test(v) ||
    !/^\d+$/.test(p) ||
    !existsSync(join(abs, 'Kconfig')) ||
    !existsSync(join(abs, 'arch', 'x86'))
  ) {
    throw new KernelTreeError(
      `${dir} is not a Linux kernel tree (no top Makefile with VERSION and PATCHLEVEL, Kconfig and arch/x86)`,
    );
  }
  const version: KernelVersion = [Number(v), Number(p), Number(s ?? 0) || 0];
  const versionText = `${versionString(version)}${field('EXTRAVERSION') ?? ''}`;
  if (compareVersions(version, OLDEST_TREE) < 0) {
    throw new KernelTreeError(
      `${dir} is Linux ${versionText}: kernels build supports trees from ${versionString(OLDEST_TREE)} on`,
      true,
    );
  }
  // Kbuild refuses an out-of-tree build of a tree configured in place.
  if (existsSync(join(abs, '.config')) || existsSync(join(abs, 'include', 'config'))) {
    throw new KernelTreeError(
      `${dir} has been configured in place (.config): run \`make mrproper\` there first`,
    );
  }
  return { dir: abs, version, versionText };
}

/** A change to the recipe that an old tree needs with today's compiler. */
export interface Workaround {
  id: string;
  why: string;
  /** Lines added to the configuration after the guest's fragment. */
  config: string[];
  /** Variables given to make. */
  make: string[];
}

/**
 * The known workarounds for a tree. Before 5.19, objtool was
 * CONFIG_STACK_VALIDATION, optional, and its sources do not build with gcc 12
 * (warnings it turns into errors): keep everything that selects it off, and
 * let the host tools' warnings stay warnings.
 */
export function workaroundsFor(version: KernelVersion): Workaround[] {
  const out: Workaround[] = [];
  if (compareVersions(version, [5, 19, 0]) < 0) {
    out.push({
      id: 'no-objtool',
      why: 'objtool of trees before 5.19 does not build with gcc 12: stack validation, the ORC unwinder and retpolines off',
      config: [
        '# CONFIG_STACK_VALIDATION is not set',
        '# CONFIG_UNWINDER_ORC is not set',
        '# CONFIG_ORC_UNWINDER is not set',
        'CONFIG_UNWINDER_GUESS=y',
        'CONFIG_GUESS_UNWINDER=y',
        '# CONFIG_RETPOLINE is not set',
      ],
      make: [],
    });
    out.push({
      id: 'host-warnings',
      why: 'host programs of trees before 5.19 warn with gcc 12 where they were written with -Werror: HOSTCFLAGS=-Wno-error',
      config: [],
      make: ['HOSTCFLAGS=-Wno-error'],
    });
  }
  return out;
}

/** The guest's configuration fragment shipped with the package. */
export const GUEST_CONFIG = join(packageRoot, 'lib', 'vm', 'guest.config');

/** Option lines of a fragment: CONFIG_X=v, or `# CONFIG_X is not set` for n. */
export function fragmentOptions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const on = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    const off = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line.trim());
    if (on) out.set(on[1]!, on[2]!);
    else if (off) out.set(off[1]!, 'n');
  }
  return out;
}

/** Every symbol the tree's Kconfig files define. */
export function kconfigSymbols(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== '.git' && e.name !== 'Documentation') walk(join(d, e.name));
      } else if (e.name.startsWith('Kconfig')) {
        const text = readFileSync(join(d, e.name), 'utf8');
        for (const m of text.matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)/gm))
          out.add(`CONFIG_${m[1]}`);
      }
    }
  };
  walk(dir);
  return out;
}

export interface SourceHash {
  hash: string;
  /** For people: the commit and whether the tree differs from it, or "not a git tree". */
  describe: string;
  git?: { head: string; tree: string; dirty: boolean };
}

function git(dir: string, args: string[]): { ok: boolean; out: Buffer } {
  const r = spawnSync('git', ['-C', dir, ...args], { maxBuffer: 1 << 30 });
  return { ok: r.status === 0, out: r.stdout ?? Buffer.alloc(0) };
}

/**
 * What identifies the tree's sources: in a git work tree the tree id of HEAD
 * at the directory, plus the diff and untracked files when it is dirty;
 * elsewhere a hash of every file's path, size and mtime.
 */
export function sourceHash(dir: string): SourceHash {
  const h = createHash('sha256');
  const prefix = git(dir, ['rev-parse', '--show-prefix']);
  const head = git(dir, ['rev-parse', 'HEAD']);
  if (prefix.ok && head.ok) {
    const tree = git(dir, ['rev-parse', `HEAD:${prefix.out.toString().trim()}`]);
    const status = git(dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', '.']);
    if (tree.ok && status.ok) {
      const treeId = tree.out.toString().trim();
      h.update(`git-tree ${treeId}\0`);
      const dirty = status.out.length > 0;
      if (dirty) {
        h.update(git(dir, ['diff', 'HEAD', '--binary', '--', '.']).out);
        const root = git(dir, ['rev-parse', '--show-toplevel']).out.toString().trim();
        for (const entry of status.out.toString().split('\0')) {
          if (!entry.startsWith('?? ')) continue;
          const rel = entry.slice(3);
          h.update(`untracked ${rel}\0`);
          try {
            h.update(readFileSync(join(root, rel)));
          } catch {
            // gone since git listed it
          }
        }
      }
      const commit = head.out.toString().trim();
      return {
        hash: h.digest('hex'),
        describe: `git ${commit.slice(0, 12)}${dirty ? ' with local changes' : ''}`,
        git: { head: commit, tree: treeId, dirty },
      };
    }
  }
  const walk = (d: string, rel: string) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else {
        const st = lstatSync(join(d, e.name));
        h.update(`${r}\0${st.size}\0${st.mtimeMs}\0`);
      }
    }
  };
  walk(dir, '');
  return { hash: h.digest('hex'), describe: 'not a git tree' };
}

export interface BuiltFrom {
  source: string;
  treeVersion: string;
  sourceHash: string;
  describe: string;
  git?: SourceHash['git'];
  fragment: string | null;
  workarounds: { id: string; why: string }[];
  ccache: boolean;
  buildSeconds: number;
  log: string;
}

export interface BuildOptions {
  source: string;
  jobs?: number;
  /** A fragment applied after the guest's own. */
  fragment?: string;
  log?: (s: string) => void;
  /** Called for each step make prints (CC, LD, ...) with the running count. */
  onStep?: (count: number, step: string) => void;
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The tools a build needs, with how to install them. */
export function checkBuildRequirements(): void {
  const missing = ['make', 'gcc', 'flex', 'bison', 'bc'].filter((c) => !which(c));
  if (missing.length) {
    throw new RequirementError(
      `building a kernel needs ${missing.join(', ')}: apt-get install build-essential flex bison bc libelf-dev`,
    );
  }
}

/** Holds a lock file with our pid; a lock whose process is gone is taken over. */
function lock(path: string): () => void {
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch {
      const pid = Number(readFileSync(path, 'utf8'));
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (alive)
        throw new RequirementError(`another build of this tree is running (pid ${pid}): ${path}`);
      rmSync(path, { force: true });
    }
  }
  throw new RequirementError(`cannot take the build lock ${path}`);
}

/** Runs make, all output to the log; resolves with the exit status. */
function make(
  args: string[],
  logFd: number,
  env: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): Promise<number> {
  writeSync(logFd, `\n$ make ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn('make', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let partial = '';
    const take = (d: Buffer) => {
      writeSync(logFd, d);
      if (!onLine) return;
      partial += d.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The cache entry's directory for a key. */
function entryDir(name: string): string {
  return join(cacheDir('kernels'), name);
}

/**
 * Builds the tree's bzImage for the guest, or finds it in the cache; returns
 * the cache entry.
 */
export async function buildKernel(o: BuildOptions): Promise<CachedKernel & { built: BuiltFrom }> {
  const log = o.log ?? (() => {});
  const tree = readKernelTree(o.source);
  checkBuildRequirements();
  const workarounds = workaroundsFor(tree.version);
  const guest = readFileSync(GUEST_CONFIG, 'utf8');
  const fragment = [
    guest,
    ...(o.fragment !== undefined ? [`# --config-fragment\n${o.fragment}`] : []),
    ...workarounds.map((w) => `# workaround ${w.id}: ${w.why}\n${w.config.join('\n')}`),
  ].join('\n');
  const makeVars = workarounds.flatMap((w) => w.make);
  log(`Linux ${tree.versionText} in ${tree.dir}: hashing the sources`);
  const src = sourceHash(tree.dir);
  const key = createHash('sha256')
    .update(
      `kernels-build v1\0${tree.versionText}\0${src.hash}\0${fragment}\0${makeVars.join(' ')}`,
    )
    .digest('hex')
    .slice(0, 16);
  const name = `built-${tree.versionText}-${key}`;
  const final = entryDir(name);
  const metaFile = join(final, 'meta.json');
  if (existsSync(metaFile)) {
    const cached = JSON.parse(readFileSync(metaFile, 'utf8')) as CachedKernel & {
      built: BuiltFrom;
    };
    if (existsSync(cached.vmlinuz)) {
      log(`Linux ${cached.release} from ${tree.dir} (${src.describe}) is cached`);
      return cached;
    }
  }
  for (const w of workarounds) log(`workaround for Linux ${tree.versionText}: ${w.why}`);

  // One output directory per tree, kept between builds: make rebuilds only
  // what changed, which is what a bisect needs.
  const out = cacheDir('build', createHash('sha256').update(tree.dir).digest('hex').slice(0, 16));
  const unlock = lock(join(out, '.mremap-probe.lock'));
  const logFile = join(cacheDir('logs'), `build-${tree.versionText}-${key}.log`);
  const logFd = openSync(logFile, 'w', 0o644);
  let logOpen = true;
  const closeLog = () => {
    if (logOpen) closeSync(logFd);
    logOpen = false;
  };
  const t0 = performance.now();
  try {
    const jobs = o.jobs ?? cpus().length;
    const ccache = which('ccache');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LC_ALL: 'C',
      // Relative paths in ccache's keys: builds of the same tree share hits.
      ...(ccache ? { CCACHE_BASEDIR: tree.dir, CCACHE_NOHASHDIR: '1' } : {}),
    };
    // The guest is x86-64 whatever the tree's Makefile was set up for (a
    // board's tree may set ARCH and CROSS_COMPILE): the command line wins.
    const cross = process.arch === 'x64' ? '' : 'x86_64-linux-gnu-';
    const base = ['-C', tree.dir, `O=${out}`, 'ARCH=x86_64', `CROSS_COMPILE=${cross}`, ...makeVars];
    writeSync(
      logFd,
      `mremap-probe kernels build: Linux ${tree.versionText} from ${tree.dir} (${src.describe})\n`,
    );
    const step = async (what: string, args: string[], onLine?: (l: string) => void) => {
      const status = await make([...base, ...args], logFd, env, onLine);
      if (status !== 0) {
        throw new BuildError(
          `the kernel build failed in \`make ${what}\` (exit ${status}): see ${logFile}`,
          logFile,
        );
      }
    };
    log('configuring: tinyconfig and the guest fragment');
    await step('tinyconfig', ['tinyconfig']);
    const configFile = join(out, '.config');
    writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}\n${fragment}\n`);
    await step('olddefconfig', ['olddefconfig']);
    // Each option the tree knows must have come through olddefconfig.
    const wanted = fragmentOptions(fragment);
    const got = fragmentOptions(readFileSync(configFile, 'utf8'));
    // Options a tree does not have (the unwinder's older name, memfd before
    // 4.18...) are left out; the others must hold.
    const known = kconfigSymbols(tree.dir);
    const lost = [...wanted].filter(
      ([k, v]) => known.has(k) && (got.get(k) ?? 'n') !== v && !(v === 'n' && !got.has(k)),
    );
    if (lost.length) {
      writeSync(logFd, `\noptions olddefconfig did not keep: ${lost.map(([k]) => k).join(' ')}\n`);
      throw new BuildError(
        `the configuration lost ${lost.map(([k, v]) => `${k}=${v}`).join(', ')} (a dependency is off): see ${out}/.config and ${logFile}`,
        logFile,
      );
    }
    const absent = [...wanted.keys()].filter((k) => !known.has(k));
    if (absent.length) writeSync(logFd, `\nnot in this tree: ${absent.join(' ')}\n`);
    log(`building bzImage with ${jobs} job(s)${ccache ? ' and ccache' : ''}; log: ${logFile}`);
    let steps = 0;
    await step(
      'bzImage',
      [`-j${jobs}`, ...(ccache ? [`CC=ccache ${cross}gcc`] : []), 'bzImage'],
      (line) => {
        const m = /^\s+([A-Z][A-Z0-9_]*)\s+(\S.*)$/.exec(line);
        if (m) o.onStep?.(++steps, `${m[1]} ${m[2]}`);
      },
    );
    const image = join(out, 'arch', 'x86', 'boot', 'bzImage');
    if (!existsSync(image))
      throw new BuildError(`make bzImage left no ${image}: see ${logFile}`, logFile);
    let release = tree.versionText;
    try {
      release = readFileSync(join(out, 'include', 'config', 'kernel.release'), 'utf8').trim();
    } catch {
      // the tree's own version
    }
    const buildSeconds = Math.round((performance.now() - t0) / 100) / 10;
    // Into the cache whole, or not at all: a directory beside it, renamed.
    const tmp = entryDir(`.${name}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    copyFileSync(image, join(tmp, 'vmlinuz'));
    copyFileSync(configFile, join(tmp, 'config'));
    closeLog();
    copyFileSync(logFile, join(tmp, 'build.log'));
    const entry: CachedKernel & { built: BuiltFrom } = {
      release,
      version: tree.version,
      vmlinuz: join(final, 'vmlinuz'),
      config: join(final, 'config'),
      sha256: createHash('sha256')
        .update(readFileSync(join(tmp, 'vmlinuz')))
        .digest('hex'),
      fetchedAt: new Date().toISOString(),
      built: {
        source: tree.dir,
        treeVersion: tree.versionText,
        sourceHash: src.hash,
        describe: src.describe,
        ...(src.git ? { git: src.git } : {}),
        fragment: o.fragment ?? null,
        workarounds: workarounds.map(({ id, why }) => ({ id, why })),
        ccache,
        buildSeconds,
        log: join(final, 'build.log'),
      },
    };
    writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(entry, null, 2)}\n`);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    log(`built Linux ${release} in ${buildSeconds} s: ${entry.vmlinuz}`);
    return entry;
  } finally {
    closeLog();
    unlock();
  }
}
