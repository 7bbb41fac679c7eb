// After a --lower-limit run was killed (kill -9), vm.max_map_count stays
// lowered until `mremap-probe restore`. Every command then says so on standard
// error, once, with the pid, the time and the original value and how to put it
// back, for root and for an unprivileged user alike; a run report carries the
// same line in its notes. Lowers the real sysctl: root, run alone.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cli, isLinux, isRoot, root } from '../helpers.js';

const SYSCTL = '/proc/sys/vm/max_map_count';
const read = () => Number(readFileSync(SYSCTL, 'utf8').trim());
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
// A clone under a directory only root may enter (mktemp -d makes them 0700)
// cannot be run by an unprivileged user at all: nothing to check there.
const nobodyCanRun =
  hasSetpriv &&
  spawnSync('setpriv', [
    ...NOBODY,
    process.execPath,
    '-e',
    'require("fs").accessSync(process.argv[1], 4)',
    bin,
  ]).status === 0;
const LOWERED = 30000;

describe.skipIf(!isLinux || !isRoot)('a limit left lowered by a killed run (root)', () => {
  let original: number;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let pid: number;
  let startedAt: string;
  let notice: RegExp;

  beforeAll(async () => {
    original = read();
    stateDir = mkdtempSync(join(tmpdir(), 'mp-stale-'));
    env = { MREMAP_PROBE_STATE_DIR: stateDir };
    const script = `
      const { lowerMaxMapCount } = await import(${JSON.stringify(join(root, 'dist', 'sysctl.js'))});
      lowerMaxMapCount(${LOWERED});
      console.log('lowered');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('lowered') && resolve());
      child.on('exit', (code) => reject(new Error(`exited ${code} before lowering`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const state = JSON.parse(readFileSync(join(stateDir, 'max_map_count.json'), 'utf8'));
    pid = child.pid!;
    startedAt = state.startedAt;
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    notice = new RegExp(
      `vm\\.max_map_count was lowered from ${original} to ${LOWERED} by mremap-probe \\(pid ${pid}, ${esc(startedAt)}\\), ` +
        `which did not restore it: run \`mremap-probe restore\` as root to put back ${original}`,
      'g',
    );
  });
  afterAll(() => {
    // Whatever happened above, the machine keeps its limit.
    if (read() !== original) writeFileSync(SYSCTL, `${original}\n`);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('the killed run left the limit lowered', () => {
    expect(read()).toBe(LOWERED);
  });

  it.each([
    ['info', ['info']],
    ['pressure', ['pressure', '--target', 'M-5', '--json']],
    ['explain', ['explain', 'fixed/dst-mid/old-mid/shrink@M-4']],
    ['maps', ['maps']],
    ['vm', ['vm', '--kernel', '/nonexistent/bzImage']],
    ['matrix', ['matrix', '--kernel', '/nonexistent/bzImage']],
    ['repro', ['repro', 'fixed/dst-mid/old-mid/shrink@M-4', '--no-run']],
  ])('%s says so on standard error, once', (_name, args) => {
    const r = cli(args, env);
    expect(r.stderr.match(notice) ?? []).toHaveLength(1);
  });

  it("run says so, and its report's notes carry the same line", () => {
    const r = cli(['run', '--filter', 'inplace/**', '--format', 'json'], env);
    expect(r.stderr.match(notice) ?? []).toHaveLength(1);
    const report = JSON.parse(r.stdout) as { notes: string[] };
    expect(report.notes.filter((n) => new RegExp(notice.source).test(n))).toHaveLength(1);
  });

  it('an unprivileged user sees it too, and restore tells them root is needed', (ctx) => {
    if (!hasSetpriv) ctx.skip('no setpriv to run as an unprivileged user');
    if (!nobodyCanRun) ctx.skip(`user 65534 cannot read ${bin} (a parent directory is private)`);
    const asNobody = (args: string[]) =>
      spawnSync('setpriv', [...NOBODY, process.execPath, bin, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
    const info = asNobody(['info']);
    expect(info.status).toBe(0);
    expect(info.stderr.match(notice) ?? []).toHaveLength(1);
    const restore = asNobody(['restore']);
    expect(restore.status).toBe(4);
    expect(restore.stderr).toMatch(/restoring it needs root/);
    expect(read()).toBe(LOWERED);
  });

  it('restore (root) puts it back, and the commands stop saying it', () => {
    const r = cli(['restore'], env);
    expect(r.status).toBe(0);
    expect(read()).toBe(original);
    expect(cli(['info'], env).stderr).not.toMatch(/was lowered/);
  });
});
