// Reading saved reports back (report, compare, repro --report): bounded in
// size, parsed, and checked whole against the run report's JSON Schema before
// anything uses them, so a damaged or foreign file ends as one line naming its
// first violation instead of an error deep inside a formatter.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { packageRoot } from '../native.js';
import { MATRIX_SCHEMA, type MatrixReport } from './matrix.js';
import { SCHEMA, type RunReport } from './report.js';

/**
 * The largest report read back: a run report is well under 1 MiB, a matrix of
 * a dozen kernels a few; far below what V8 can hold as one string (~512 MiB).
 */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;

/** A report file that cannot be used: one line, a usage error. */
export class ReportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportFileError';
  }
}

function mib(n: number): string {
  return `${Math.round(n / 1024 / 1024)} MiB`;
}

/** Reads a JSON file of at most MAX_REPORT_BYTES (a pipe too, e.g. /dev/stdin). */
export function readJsonFile(file: string, maxBytes = MAX_REPORT_BYTES): unknown {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ReportFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const chunks: Buffer[] = [];
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new ReportFileError(`cannot read ${file}: it is a directory`);
    const tooLarge = () =>
      new ReportFileError(
        `${file} is larger than ${mib(maxBytes)}, the most a report may be; is it a report?`,
      );
    if (st.isFile() && st.size > maxBytes) throw tooLarge();
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          // A non-blocking pipe with nothing yet: wait a little for the writer.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          continue;
        }
        throw new ReportFileError(`cannot read ${file}: ${(err as Error).message}`);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooLarge();
    }
  } finally {
    closeSync(fd);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ReportFileError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

let validator: ValidateFunction | undefined;

/**
 * The run report schema, compiled once, in ajv's strict mode. ajv is loaded
 * here, on first use, so that commands which read no report do not pay for it.
 */
function runReportValidator(): ValidateFunction {
  if (!validator) {
    const require = createRequire(import.meta.url);
    const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 };
    const addFormats = require('ajv-formats') as { default: (a: Ajv2020) => void };
    const schema = JSON.parse(
      readFileSync(join(packageRoot, 'schemas', 'run-report.v1.schema.json'), 'utf8'),
    ) as object;
    const ajv = new Ajv({ strict: true, allErrors: false });
    addFormats.default(ajv);
    validator = ajv.compile(schema);
  }
  return validator;
}

/** The first violation in words: where, and what the schema wants there. */
function violation(e: ErrorObject, prefix: string): string {
  const where = `${prefix}${e.instancePath}` || '/';
  const p = e.params as Record<string, unknown>;
  const detail =
    e.keyword === 'additionalProperties'
      ? ` (${JSON.stringify(p.additionalProperty)})`
      : e.keyword === 'enum'
        ? ` (${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`
        : e.keyword === 'const'
          ? ` (${JSON.stringify(p.allowedValue)})`
          : '';
  return `${where} ${e.message ?? 'is not valid'}${detail}`;
}

/** Undefined when the document is a valid run report, else its first violation. */
export function runReportViolation(doc: unknown, prefix = ''): string | undefined {
  const v = runReportValidator();
  if (v(doc)) return undefined;
  const e = v.errors?.[0];
  return e ? violation(e, prefix) : `${prefix || '/'} is not valid`;
}

/** The schema field in words, for a file that is not what was asked for. */
function schemaText(schema: unknown): string {
  return schema === undefined ? 'no schema field' : `schema ${JSON.stringify(schema)}`;
}

function schemaOf(doc: unknown): unknown {
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc)
    ? (doc as { schema?: unknown }).schema
    : undefined;
}

/** A saved run report (run --format json), checked whole. */
export function loadRunReport(file: string): RunReport {
  const doc = readJsonFile(file);
  const schema = schemaOf(doc);
  if (schema !== SCHEMA)
    throw new ReportFileError(`${file} is not a run report (${schemaText(schema)})`);
  const bad = runReportViolation(doc);
  if (bad) throw new ReportFileError(`${file} is not a valid run report: ${bad}`);
  return doc as RunReport;
}

/** The run reports in a file: a run report, or each kernel's report in a matrix report. */
export function loadReports(file: string): RunReport[] {
  const doc = readJsonFile(file);
  const schema = schemaOf(doc);
  if (schema === SCHEMA) {
    const bad = runReportViolation(doc);
    if (bad) throw new ReportFileError(`${file} is not a valid run report: ${bad}`);
    return [doc as RunReport];
  }
  if (schema !== MATRIX_SCHEMA) {
    throw new ReportFileError(
      `${file} is neither a run report nor a matrix report (${schemaText(schema)})`,
    );
  }
  const m = doc as Partial<MatrixReport>;
  if (!Array.isArray(m.kernels))
    throw new ReportFileError(`${file} is not a valid matrix report: /kernels must be an array`);
  const out: RunReport[] = [];
  for (const [i, k] of m.kernels.entries()) {
    if (typeof k !== 'object' || k === null)
      throw new ReportFileError(
        `${file} is not a valid matrix report: /kernels/${i} must be an object`,
      );
    if (k.report === null || k.report === undefined) continue;
    const bad = runReportViolation(k.report, `/kernels/${i}/report`);
    if (bad) throw new ReportFileError(`${file} is not a valid matrix report: ${bad}`);
    out.push(k.report);
  }
  return out;
}
