// `restore` trusts nothing in the state file: it may only name the sysctl the
// tool itself writes, every field must be in range, and the file and its
// directory must be root's, not writable by others, and not symbolic links.
// Anything else: one line, exit 2, nothing written. The sysctl is redirected
// to a file here (MREMAP_PROBE_SYSCTL_PATH), so the real one is never touched;
// the "passwd" the planted file aims at is a file in a temporary directory.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bin, cli, isLinux, isRoot } from '../helpers.js';

describe.skipIf(!isLinux || !isRoot)('restore refuses a state file it cannot trust (root)', () => {
  let dir: string;
  let stateDir: string;
  let sysctl: string;
  let passwd: string;
  let env: NodeJS.ProcessEnv;
  const PASSWD = 'root:x:0:0:root:/root:/bin/bash\n';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-statefile-'));
    stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o755 });
    chmodSync(stateDir, 0o755);
    sysctl = join(dir, 'max_map_count');
    writeFileSync(sysctl, '4096\n');
    passwd = join(dir, 'passwd');
    writeFileSync(passwd, PASSWD);
    env = { MREMAP_PROBE_STATE_DIR: stateDir, MREMAP_PROBE_SYSCTL_PATH: sysctl };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stateFile = () => join(stateDir, 'max_map_count.json');
  const good = () => ({
    path: sysctl,
    original: 65530,
    lowered: 4096,
    pid: 999999,
    startedAt: '2025-01-02T03:04:05.678Z',
  });
  const plant = (state: unknown, mode = 0o644) => {
    writeFileSync(stateFile(), typeof state === 'string' ? state : JSON.stringify(state));
    chmodSync(stateFile(), mode);
  };

  /** A refusal: exit 2, one line, and neither the sysctl nor the "passwd" written. */
  function expectRefused(why: RegExp) {
    const before = readFileSync(stateFile(), 'utf8');
    const r = cli(['restore'], env);
    expect(r.stderr).toMatch(why);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(sysctl, 'utf8')).toBe('4096\n');
    expect(readFileSync(passwd, 'utf8')).toBe(PASSWD);
    expect(readFileSync(stateFile(), 'utf8')).toBe(before);
  }

  it('a state file naming another file (a planted "passwd")', () => {
    plant({ ...good(), path: passwd });
    expectRefused(/names .*passwd.*, not .*max_map_count/);
  });

  it('a state file naming the real sysctl while the tool writes another', () => {
    plant({ ...good(), path: '/proc/sys/vm/max_map_count' });
    expectRefused(/names "\/proc\/sys\/vm\/max_map_count", not/);
  });

  it.each([
    ['original as a string', { original: '65530' }, /original/],
    ['a negative original', { original: -1 }, /original/],
    ['a fractional original', { original: 65530.5 }, /original/],
    ['an original beyond INT_MAX', { original: 2 ** 31 }, /original/],
    ['lowered not below original', { lowered: 65530 }, /lowered/],
    ['lowered below 1024', { lowered: 12 }, /lowered/],
    ['pid 0', { pid: 0 }, /pid/],
    ['a pid beyond PID_MAX_LIMIT', { pid: 2 ** 23 }, /pid/],
    ['startedAt not a time', { startedAt: 'yesterday' }, /startedAt/],
    ['startedAt not in UTC', { startedAt: '2025-01-02T03:04:05+01:00' }, /startedAt/],
    ['an unknown field', { extra: 1 }, /unknown field "extra"/],
    ['a missing field', { pid: undefined }, /pid/],
  ])('%s', (_name, change, why) => {
    plant({ ...good(), ...change });
    expectRefused(why);
  });

  it('text that is not JSON, and JSON that is not an object', () => {
    plant('{"path":');
    expectRefused(/not JSON/);
    plant('[1,2,3]');
    expectRefused(/not an object/);
  });

  it('a file owned by another user', () => {
    plant(good());
    chownSync(stateFile(), 65534, 65534);
    expectRefused(/owned by uid 65534, not root/);
  });

  it('a file writable by others', () => {
    plant(good(), 0o666);
    expectRefused(/writable by (its group|others)/);
  });

  it('a file with another hard link', () => {
    plant(good());
    linkSync(stateFile(), join(dir, 'second-name'));
    expectRefused(/2 hard links/);
  });

  it('a symbolic link in place of the file', () => {
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify(good()));
    symlinkSync(elsewhere, stateFile());
    const r = cli(['restore'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a symbolic link/);
    expect(readFileSync(sysctl, 'utf8')).toBe('4096\n');
  });

  it('a FIFO in place of the file is refused at once, without waiting for a writer', () => {
    expect(spawnSync('mkfifo', [stateFile()]).status).toBe(0);
    const r = spawnSync(process.execPath, [bin, 'restore'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a regular file/);
  });

  it('a state directory writable by others, or owned by another user, or a symbolic link', () => {
    plant(good());
    chmodSync(stateDir, 0o777);
    expectRefused(/directory .* writable by/);
    chmodSync(stateDir, 0o755);
    chownSync(stateDir, 65534, 65534);
    expectRefused(/directory .* owned by uid 65534/);
    chownSync(stateDir, 0, 0);
    const linked = join(dir, 'linked-state');
    symlinkSync(stateDir, linked);
    const r = cli(['restore'], { ...env, MREMAP_PROBE_STATE_DIR: linked });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/directory .* is a symbolic link/);
    expect(readFileSync(sysctl, 'utf8')).toBe('4096\n');
  });

  it('a --lower-limit run refuses the same file, before touching anything', () => {
    plant({ ...good(), path: passwd });
    const r = cli(['pressure', '--lower-limit', '2048', '--target', 'M'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refusing the state file/);
    expect(readFileSync(sysctl, 'utf8')).toBe('4096\n');
    expect(readFileSync(passwd, 'utf8')).toBe(PASSWD);
  });

  it('a valid state file is restored and removed', () => {
    plant(good());
    const r = cli(['restore'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/restored .* from 4096 to 65530/);
    expect(readFileSync(sysctl, 'utf8').trim()).toBe('65530');
    expect(existsSync(stateFile())).toBe(false);
  });
});
