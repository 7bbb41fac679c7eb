// What every command shares: errors that end the process with a message and
// an exit status instead of a stack trace, and where output goes.
import { loadScenarios, type LoadedScenarios } from '../explore/files.js';
import { OutputError, prepareOutput, writeStdout, type Output } from '../output.js';
import type { RunReport } from '../report/report.js';
import {
  loadReports as loadReportsFile,
  loadRunReport as loadRunReportFile,
  ReportFileError,
} from '../report/validate.js';
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
 * Looks at an --output path before any work (see lib/output.ts for what may be
 * written and how); undefined means standard output. A symbolic link that is
 * followed is said on standard error here, before the work starts.
 */
export function openOutput(path: string | undefined, option = '--output'): Output | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new UsageError(`${option} wants a file name, not an empty string`);
  let out: Output;
  try {
    out = prepareOutput(path);
  } catch (err) {
    if (err instanceof OutputError) throw new UsageError(`${option}: ${err.message}`);
    throw err;
  }
  if (out.note) process.stderr.write(`mremap-probe: ${option} ${out.note}\n`);
  return out;
}

/** Writes to the output when given, else to standard output. */
export function emit(text: string, output?: Output): void {
  if (output) output.write(text);
  else writeStdout(text);
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

/** The scenario with this id, or a usage error that suggests some of its family. */
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

/** Reads a saved run report (run --format json), checked whole, or fails with a usage error. */
export function loadRunReport(file: string): RunReport {
  try {
    return loadRunReportFile(file);
  } catch (err) {
    if (err instanceof ReportFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** The run reports in run or matrix report files, checked whole, or a usage error. */
export function loadReports(files: string[]): RunReport[] {
  try {
    return files.flatMap((f) => loadReportsFile(f));
  } catch (err) {
    if (err instanceof ReportFileError) throw new UsageError(err.message);
    throw err;
  }
}
