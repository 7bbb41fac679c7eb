// Shared test helpers.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const bin = join(root, 'bin', 'mremap-probe.js');

export function fixture(name: string): string {
  return readFileSync(join(root, 'test', 'fixtures', name), 'utf8');
}

/** Runs the CLI as a user would, in a child process. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
}

/**
 * `run --filter FILTER --format json --output FILE` plus any further options;
 * returns FILE's path. The report tests read it back as they need.
 */
export function runReportTo(file: string, filter: string, ...more: string[]): string {
  cli(['run', '--filter', filter, ...more, '--format', 'json', '--output', file]);
  return file;
}

export const isRoot = process.getuid?.() === 0;
export const isLinux = process.platform === 'linux';

/**
 * The native tests also run against the AddressSanitizer build, with libasan
 * preloaded: ASan needs /proc to start and far more address space than a tight
 * RLIMIT_AS allows, so the tests of those two hazards skip there.
 */
export const underSanitizer = /libasan/.test(process.env.LD_PRELOAD ?? '');

/**
 * The environment for a program the tests start that is not the addon's host
 * (a browser, a shell): under the sanitizer run the preloaded libasan would
 * only slow it down or stop it, and it checks nothing of ours there.
 */
export function envWithoutSanitizer(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ASAN_OPTIONS;
  delete env.UBSAN_OPTIONS;
  return env;
}
