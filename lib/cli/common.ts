// What every command shares: errors that end the process with a message and
// an exit status instead of a stack trace, and writing output files whole.
import { closeSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadScenarios, type LoadedScenarios } from '../explore/files.js';
import { SCHEMA, type RunReport } from '../report/report.js';
import { writeWhole, WriteError } from '../write.js';
import { catalogue, findScenario } from '../scenarios/index.js';
import type { Scenario } from '../scenarios/types.js';

/** Exit statuses, as kselftest uses them. */
export const EXIT = { ok: 0, fail: 1, usage: 2, skip: 4 } as const;

/** A failure the user can act on: printed as one line, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.fail,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** JSON.stringify that writes BigInt as a decimal string and ends with a newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

/**
 * Writes a file whole or not at all: a temporary file beside it, renamed over
 * the target. Fails with a UsageError when the place cannot be written.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  try {
    writeWhole(path, content);
  } catch (err) {
    if (!(err instanceof WriteError)) throw err;
    throw err.opened ? new CliError(err.message) : new UsageError(err.message);
  }
}

/** Checks before any work that an output path can be written, so nothing is half done. */
export function checkWritable(path: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(tmp, 'wx', 0o644));
    unlinkSync(tmp);
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

/** Writes to a file when given, else to standard output. */
export function emit(text: string, output?: string): void {
  if (output) writeFileAtomic(output, text);
  else process.stdout.write(text);
}

export function parseIntOption(
  name: string,
  value: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new UsageError(`${name} wants an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max)
    throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Scenario files named by --cases (files or directories), checked whole; ids must not repeat the catalogue's. */
export function loadCases(paths: string[]): LoadedScenarios {
  if (!paths.length) return { scenarios: [], from: new Map() };
  return loadScenarios(
    paths,
    catalogue().map((s) => s.id),
  );
}

/** The scenario with this id (among `extra`, then the catalogue), or a usage error that suggests some of its family. */
export function requireScenario(id: string, extra: Scenario[] = []): Scenario {
  const s = extra.find((x) => x.id === id) ?? findScenario(id);
  if (s) return s;
  const near = [...extra, ...catalogue()]
    .map((c) => c.id)
    .filter((c) => c.startsWith(id.split('/')[0] ?? ''))
    .slice(0, 5);
  throw new UsageError(
    `no case ${JSON.stringify(id)}${near.length ? `; for example ${near.join(', ')}` : ''}`,
  );
}

/** Reads a saved run report (run --format json), or fails with a usage error. */
export function loadRunReport(file: string): RunReport {
  let r: RunReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (r?.schema !== SCHEMA) {
    throw new UsageError(`${file} is not a run report (schema ${JSON.stringify(r?.schema)})`);
  }
  return r;
}
