// One lowered limit at a time: a --lower-limit run holds an exclusive flock
// on the state directory for as long as the limit is lowered; a second one
// refuses at once, naming the holder's pid (exit 4), and any command can tell
// who holds it. The sysctl is redirected to a file (MREMAP_PROBE_SYSCTL_PATH)
// so that the real one is never touched; the lock is the real flock(2).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, isLinux, isRoot, root } from '../helpers.js';

const sysctlModule = JSON.stringify(join(root, 'dist', 'sysctl.js'));

describe.skipIf(!isLinux || !isRoot)('the lowered limit is locked (root)', () => {
  let dir: string;
  let sysctl: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-lock-'));
    sysctl = join(dir, 'max_map_count');
    writeFileSync(sysctl, '65530\n');
    env = {
      ...process.env,
      MREMAP_PROBE_STATE_DIR: join(dir, 'state'),
      MREMAP_PROBE_SYSCTL_PATH: sysctl,
    };
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A process that lowers the limit to `value` and then waits; resolves with what it said. */
  function lowerer(value: number) {
    const script = `
      const { lowerMaxMapCount } = await import(${sysctlModule});
      try { lowerMaxMapCount(${value}); console.log('lowered'); }
      catch (e) { console.log('refused ' + e.reason + ': ' + e.message); process.exit(3); }
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const said = new Promise<string>((resolve) => {
      child.stdout!.on('data', () => /lowered|refused/.test(out) && resolve(out.trim()));
      child.on('exit', () => resolve(out.trim()));
    });
    return { child, said };
  }

  it('a second --lower-limit run refuses at once, naming the holder', async () => {
    const a = lowerer(30000);
    expect(await a.said).toBe('lowered');
    expect(readFileSync(sysctl, 'utf8').trim()).toBe('30000');
    for (const args of [
      ['pressure', '--lower-limit', '20000', '--target', 'M'],
      ['run', '--lower-limit', '20000', '--filter', 'inplace/**'],
    ]) {
      const r = cli(args, env);
      expect(r.status).toBe(4);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`another mremap-probe \\(pid ${a.child.pid}\\) holds`));
      expect(r.stdout).toBe('');
    }
    expect(readFileSync(sysctl, 'utf8').trim()).toBe('30000');
  });

  it('of two lowering runs started together, exactly one lowers', async () => {
    const a = lowerer(30000);
    const b = lowerer(31000);
    const said = [await a.said, await b.said].sort();
    expect(said[0]).toBe('lowered');
    expect(said[1]).toMatch(/^refused held: another mremap-probe \(pid \d+\) holds/);
  });

  it('any process can tell who holds the lowered limit, and every command says it', async () => {
    const a = lowerer(30000);
    expect(await a.said).toBe('lowered');
    const probe = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${sysctlModule}); console.log(JSON.stringify(m.lowerLimitHolder() ?? null));`,
      ],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    probe.stdout!.on('data', (d) => (out += d));
    await new Promise((resolve) => probe.on('exit', resolve));
    const holder = JSON.parse(out);
    expect(holder.pid).toBe(a.child.pid);
    expect(holder.state).toMatchObject({ original: 65530, lowered: 30000, pid: a.child.pid });
    const info = cli(['info'], env);
    expect(info.stderr).toMatch(
      new RegExp(
        `lowered from 65530 to 30000 by another mremap-probe \\(pid ${a.child.pid}\\) until it ends`,
      ),
    );
    const restore = cli(['restore'], env);
    expect(restore.status).toBe(1);
    expect(restore.stderr).toMatch(/still running/);
  });

  it('the state is readable by everyone, writable by root only', async () => {
    const a = lowerer(30000);
    expect(await a.said).toBe('lowered');
    const d = statSync(join(dir, 'state'));
    const f = statSync(join(dir, 'state', 'max_map_count.json'));
    expect([d.uid, d.mode & 0o777]).toEqual([0, 0o755]);
    expect([f.uid, f.mode & 0o777]).toEqual([0, 0o644]);
  });

  it('the lock goes with the holder: after it ends, the next run lowers', async () => {
    const a = lowerer(30000);
    expect(await a.said).toBe('lowered');
    a.child.kill('SIGTERM');
    await new Promise((resolve) => a.child.on('exit', resolve));
    expect(readFileSync(sysctl, 'utf8').trim()).toBe('65530');
    const b = lowerer(31000);
    expect(await b.said).toBe('lowered');
  });
});
