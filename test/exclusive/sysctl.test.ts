// Lowering vm.max_map_count and getting it back, on every path out of a run.
// Needs root (it writes the real sysctl); runs after all other tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, isLinux, isRoot, root } from '../helpers.js';

const SYSCTL = '/proc/sys/vm/max_map_count';
const read = () => Number(readFileSync(SYSCTL, 'utf8').trim());

describe.skipIf(!isLinux || !isRoot)('--lower-limit restores vm.max_map_count (root)', () => {
  let original: number;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    original = read();
    stateDir = mkdtempSync(join(tmpdir(), 'mp-state-'));
    env = { MREMAP_PROBE_STATE_DIR: stateDir };
  });
  afterAll(() => {
    // Whatever happened above, the machine keeps its limit.
    if (read() !== original) writeFileSync(SYSCTL, `${original}\n`);
    rmSync(stateDir, { recursive: true, force: true });
  });

  const lowered = 30000;

  /** Starts a process that lowers the limit and waits; resolves once it has. */
  function lowerAndWait(extra = '') {
    const script = `
      const { lowerMaxMapCount } = await import(${JSON.stringify(join(root, 'dist', 'sysctl.js'))});
      lowerMaxMapCount(${lowered});
      ${extra}
      console.log('lowered');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('lowered') && resolve());
      child.on('exit', (code) => reject(new Error(`exited ${code} before lowering: ${stderr}`)));
    });
    const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>(
      (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
    );
    return { child, ready, exited };
  }

  it('pressure --lower-limit runs against the lowered limit and restores it on exit', () => {
    const r = cli(['pressure', '--lower-limit', String(lowered), '--target', 'M-5', '--json'], env);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      maxMapCount: lowered,
      mapCount: lowered - 5,
      verified: true,
      loweredLimit: { original, lowered },
    });
    expect(read()).toBe(original);
    expect(existsSync(join(stateDir, 'max_map_count.json'))).toBe(false);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('restores on %s', async (signal, code) => {
    const p = lowerAndWait();
    await p.ready;
    expect(read()).toBe(lowered);
    p.child.kill(signal);
    const end = await p.exited;
    expect(end.code).toBe(code);
    expect(read()).toBe(original);
  });

  it('restores when the run ends with an exception', async () => {
    const p = lowerAndWait(`setTimeout(() => { throw new Error('boom'); }, 50);`);
    await p.ready;
    const end = await p.exited;
    expect(end.code).toBe(1);
    expect(end.stderr).toMatch(/boom/);
    expect(read()).toBe(original);
  });

  it('after kill -9, the state file remains and `mremap-probe restore` puts the limit back', async () => {
    const p = lowerAndWait();
    await p.ready;
    p.child.kill('SIGKILL');
    await p.exited;
    expect(read()).toBe(lowered);
    const state = JSON.parse(readFileSync(join(stateDir, 'max_map_count.json'), 'utf8'));
    expect(state).toMatchObject({ original, lowered, path: SYSCTL });
    const r = cli(['restore'], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`restored .* from ${lowered} to ${original}`));
    expect(read()).toBe(original);
    expect(cli(['restore'], env).stdout).toMatch(/nothing to restore/);
  });

  it('a later --lower-limit run first restores what a killed run left', async () => {
    const p = lowerAndWait();
    await p.ready;
    p.child.kill('SIGKILL');
    await p.exited;
    const r = cli(['pressure', '--lower-limit', '40000', '--target', 'M', '--json'], env);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/killed run had lowered the limit/);
    expect(JSON.parse(r.stdout).loweredLimit.original).toBe(original);
    expect(read()).toBe(original);
  });

  it('refuses to restore while the run that lowered it still runs', async () => {
    const p = lowerAndWait();
    await p.ready;
    const r = cli(['restore'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/still running/);
    p.child.kill('SIGTERM');
    await p.exited;
    expect(read()).toBe(original);
  });
});

describe.skipIf(!isLinux || isRoot)('--lower-limit without root', () => {
  it('is skipped with the reason', () => {
    const r = cli(['pressure', '--lower-limit', '30000', '--target', 'M-5']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/needs root/);
  });
});
