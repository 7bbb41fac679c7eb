// `kernels build` on a tiny fake kernel tree made here: a top Makefile with a
// version that records how it is called and writes a fake bzImage. What is
// checked is the tool's side: the make calls (O= outside the tree, ARCH, -j,
// the workarounds of old trees), the configuration it hands to make, the
// cache (hits, and misses when the sources or the fragment change) and the
// error paths. A real build is an acceptance run (README), not a test: too slow.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fragmentOptions } from '../../lib/vm/build.js';
import { cli, root } from '../helpers.js';

const hasMake = spawnSync('make', ['--version']).status === 0;
const hasTools = ['gcc', 'flex', 'bison', 'bc'].every(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0,
);

const FAKE_MAKEFILE = `VERSION = @V@
PATCHLEVEL = @P@
SUBLEVEL = @S@
EXTRAVERSION = -fake
NAME = Fake Tree

# Records each call: the goal and the variables kernels build passes.
record = @echo "$(MAKECMDGOALS) O=$(O) ARCH=$(ARCH) HOSTCFLAGS=$(HOSTCFLAGS) CC=$(CC) FLAGS=$(filter -j%,$(MAKEFLAGS))" >> $(FAKE_RECORD)

tinyconfig:
\t$(record)
\t@mkdir -p $(O)
\t@printf 'CONFIG_64BIT=y\\n# CONFIG_PRINTK is not set\\n# CONFIG_FUTEX is not set\\n' > $(O)/.config

olddefconfig:
\t$(record)
\t@if [ -n "$(FAKE_DROP)" ]; then grep -v '^$(FAKE_DROP)=' $(O)/.config > $(O)/.config.new; mv $(O)/.config.new $(O)/.config; fi

bzImage:
\t$(record)
\t@if [ -n "$(FAKE_FAIL)" ]; then echo "mm/mremap.c:1: error: fake failure" >&2; exit 2; fi
\t@echo "  CC      mm/mremap.o"
\t@mkdir -p $(O)/arch/x86/boot $(O)/include/config
\t@cat source.txt > $(O)/arch/x86/boot/bzImage
\t@echo "@V@.@P@.@S@-fake" > $(O)/include/config/kernel.release
`;

/** A fake tree of version V.P.S; its "image" is the content of source.txt. */
function fakeTree(dir: string, v = [6, 15, 3]): string {
  mkdirSync(join(dir, 'arch', 'x86'), { recursive: true });
  const mk = FAKE_MAKEFILE.replaceAll('@V@', String(v[0]))
    .replaceAll('@P@', String(v[1]))
    .replaceAll('@S@', String(v[2]));
  writeFileSync(join(dir, 'Makefile'), mk);
  writeFileSync(
    join(dir, 'Kconfig'),
    'config 64BIT\n\tbool\nconfig PRINTK\n\tbool "printk"\nconfig FUTEX\n\tbool "futex"\n',
  );
  writeFileSync(join(dir, 'source.txt'), 'fake bzImage, first sources\n');
  return dir;
}

function listTree(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTree(dir, join(rel, e.name)) : [join(rel, e.name)],
  );
}

describe.skipIf(!hasMake || !hasTools)('kernels build on a fake tree', () => {
  let work: string;
  let tree: string;
  let env: NodeJS.ProcessEnv;
  let record: string;
  const calls = () => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n') : []);
  const build = (args: string[] = [], extra: NodeJS.ProcessEnv = {}) =>
    cli(['kernels', 'build', '--source', tree, ...args], { ...env, ...extra });

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'mp-kbuild-'));
    tree = fakeTree(join(work, 'linux'));
    record = join(work, 'calls');
    env = { MREMAP_PROBE_CACHE: join(work, 'cache'), FAKE_RECORD: record };
  });

  it('configures from tinyconfig plus the guest fragment, out of tree, and prints the image', () => {
    const before = listTree(tree);
    const r = build(['--jobs', '3', '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    const k = JSON.parse(r.stdout) as {
      release: string;
      vmlinuz: string;
      config: string;
      built: { source: string; treeVersion: string; workarounds: unknown[]; log: string };
    };
    expect(k.release).toBe('6.15.3-fake');
    expect(k.built.treeVersion).toBe('6.15.3-fake');
    expect(k.built.workarounds).toEqual([]);
    expect(readFileSync(k.vmlinuz, 'utf8')).toBe('fake bzImage, first sources\n');
    // tinyconfig, olddefconfig, bzImage: each with O= outside the tree and ARCH=x86_64.
    const c = calls();
    expect(c.map((l) => l.split(' ')[0])).toEqual(['tinyconfig', 'olddefconfig', 'bzImage']);
    for (const l of c) {
      const o = /O=(\S+)/.exec(l)![1]!;
      expect(o.startsWith(tree)).toBe(false);
      expect(o.startsWith(join(work, 'cache'))).toBe(true);
      expect(l).toMatch(/ARCH=x86_64/);
      expect(l).toMatch(/HOSTCFLAGS= /);
    }
    expect(c[2]).toMatch(/FLAGS=.*-j3/);
    // The configuration make got holds every option of the guest fragment, last.
    const guest = fragmentOptions(readFileSync(join(root, 'lib', 'vm', 'guest.config'), 'utf8'));
    const got = fragmentOptions(readFileSync(k.config, 'utf8'));
    expect(guest.size).toBeGreaterThan(10);
    for (const [opt, v] of guest) expect(got.get(opt), opt).toBe(v);
    // The tree is as it was.
    expect(listTree(tree)).toEqual(before);
    expect(r.stderr).toMatch(/configuring: tinyconfig and the guest fragment/);
    expect(r.stderr).toMatch(/built Linux 6\.15\.3-fake/);
  });

  it('caches by sources and fragment: a second build makes nothing, a change rebuilds', () => {
    const first = build();
    expect(first.status).toBe(0);
    const image = first.stdout.trim();
    expect(calls().length).toBe(3);
    const again = build();
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe(image);
    expect(again.stderr).toMatch(/is cached/);
    expect(calls().length).toBe(3);
    // Changed sources: another image.
    writeFileSync(join(tree, 'source.txt'), 'fake bzImage, second sources, longer\n');
    const changed = build();
    expect(changed.status).toBe(0);
    expect(changed.stdout.trim()).not.toBe(image);
    expect(readFileSync(changed.stdout.trim(), 'utf8')).toMatch(/second sources/);
    expect(calls().length).toBe(6);
    // A fragment: another image, whose configuration has the fragment's option.
    const frag = join(work, 'extra.config');
    writeFileSync(frag, 'CONFIG_FUTEX=y\n');
    const withFrag = build(['--config-fragment', frag, '--json']);
    expect(withFrag.status).toBe(0);
    const k = JSON.parse(withFrag.stdout) as { config: string; vmlinuz: string };
    expect(k.vmlinuz).not.toBe(changed.stdout.trim());
    expect(fragmentOptions(readFileSync(k.config, 'utf8')).get('CONFIG_FUTEX')).toBe('y');
    expect(calls().length).toBe(9);
    // kernels list shows what was built, and from where.
    const list = cli(['kernels', 'list'], env);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`6\\.15\\.3-fake .*built from ${tree}`));
  });

  it('in a git tree, keys by the tree id and local changes', () => {
    const git = (...a: string[]) =>
      spawnSync('git', ['-C', tree, ...a], {
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'one');
    const a = build(['--json']);
    expect(a.status).toBe(0);
    const ka = JSON.parse(a.stdout) as { built: { git: { tree: string; dirty: boolean } } };
    expect(ka.built.git.tree).toBe(git('rev-parse', 'HEAD:').stdout.trim());
    expect(ka.built.git.dirty).toBe(false);
    writeFileSync(join(tree, 'source.txt'), 'changed, not committed\n');
    const b = build(['--json']);
    const kb = JSON.parse(b.stdout) as { vmlinuz: string; built: { git: { dirty: boolean } } };
    expect(kb.built.git.dirty).toBe(true);
    expect(readFileSync(kb.vmlinuz, 'utf8')).toBe('changed, not committed\n');
    git('commit', '-qam', 'two');
    const c = build(['--json']);
    expect(JSON.parse(c.stdout).built.git.dirty).toBe(false);
    expect(calls().length).toBe(9);
  });

  it('applies the workarounds of a tree before 5.19, and says so', () => {
    rmSync(tree, { recursive: true });
    fakeTree(tree, [4, 19, 222]);
    const r = build(['--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/workaround for Linux 4\.19\.222-fake: objtool/);
    expect(r.stderr).toMatch(/HOSTCFLAGS=-Wno-error/);
    for (const l of calls()) expect(l).toMatch(/HOSTCFLAGS=-Wno-error/);
    const k = JSON.parse(r.stdout) as { config: string; built: { workarounds: { id: string }[] } };
    expect(k.built.workarounds.map((w) => w.id)).toEqual(['no-objtool', 'host-warnings']);
    expect(readFileSync(k.config, 'utf8')).toMatch(/^# CONFIG_STACK_VALIDATION is not set$/m);
  });

  it('--output copies the image there', () => {
    const out = join(work, 'bzImage');
    const r = build(['--output', out]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(readFileSync(out, 'utf8')).toBe('fake bzImage, first sources\n');
  });

  it('a failing build: one line with its log, exit 4, nothing cached', () => {
    const r = build([], { FAKE_FAIL: '1' });
    expect(r.status).toBe(4);
    const lines = r.stderr.trim().split('\n');
    const last = lines[lines.length - 1]!;
    expect(last).toMatch(
      /^mremap-probe: the kernel build failed in `make bzImage` \(exit 2\): see (\S+\.log)$/,
    );
    const log = /see (\S+\.log)$/.exec(last)![1]!;
    expect(readFileSync(log, 'utf8')).toMatch(/fake failure/);
    const kernels = join(work, 'cache', 'kernels');
    expect(existsSync(kernels) ? readdirSync(kernels) : []).toEqual([]);
    expect(cli(['kernels', 'list', '--json'], env).stdout.trim()).toBe('[]');
    // The next build goes through.
    expect(build().status).toBe(0);
  });

  it('an option the configuration lost: exit 4, naming it', () => {
    const r = build([], { FAKE_DROP: 'CONFIG_PRINTK' });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/the configuration lost CONFIG_PRINTK=y \(a dependency is off\)/);
    expect(calls().map((l) => l.split(' ')[0])).toEqual(['tinyconfig', 'olddefconfig']);
  });

  it('what is not a kernel tree, or too old, or configured in place: exit 2, one line', () => {
    const notTree = cli(['kernels', 'build', '--source', work], env);
    expect(notTree.status).toBe(2);
    expect(notTree.stderr.trim().split('\n')).toHaveLength(1);
    expect(notTree.stderr).toMatch(/is not a Linux kernel tree/);
    const missing = cli(['kernels', 'build', '--source', join(work, 'nothing')], env);
    expect(missing.status).toBe(2);
    rmSync(tree, { recursive: true });
    fakeTree(tree, [4, 9, 300]);
    const old = build();
    expect(old.status).toBe(2);
    expect(old.stderr).toMatch(
      /is Linux 4\.9\.300-fake: kernels build supports trees from 4\.14\.0 on/,
    );
    fakeTree(tree);
    writeFileSync(join(tree, '.config'), 'CONFIG_64BIT=y\n');
    const inPlace = build();
    expect(inPlace.status).toBe(2);
    expect(inPlace.stderr).toMatch(/configured in place/);
    expect(calls()).toEqual([]);
  });
});
