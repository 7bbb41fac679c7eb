// report, compare and repro --report read saved reports back: each document is
// checked whole against the JSON Schema (ajv, at run time) before it is used,
// a file that does not validate is one line naming its first violation (exit
// 2), and a file larger than a stated size is refused instead of overflowing a
// string. The schema itself passes ajv's strict mode.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { cli, isLinux, root, runReportTo } from '../helpers.js';

const CASE = 'fixed/dst-mid/old-mid/shrink@M-4';

/** One line on standard error, no stack, exit 2. */
function expectOneLine(r: { status: number | null; stderr: string; stdout: string }, what: RegExp) {
  expect(r.stderr).toMatch(what);
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stdout).toBe('');
}

describe('the schema', () => {
  it("compiles in ajv's strict mode", () => {
    const schema = JSON.parse(
      readFileSync(join(root, 'schemas', 'run-report.v1.schema.json'), 'utf8'),
    );
    const ajv = new Ajv2020({ strict: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    expect(() => ajv.compile(schema)).not.toThrow();
  });
});

describe.skipIf(!isLinux)('reading reports back', () => {
  let dir: string;
  let good: string;
  let report: RunReport;
  const write = (name: string, doc: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return f;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-validate-'));
    good = join(dir, 'good.json');
    const r = cli(['run', '--filter', 'fixed/dst-mid/**', '--format', 'json', '--output', good]);
    expect(r.stderr).toBe('');
    report = JSON.parse(readFileSync(good, 'utf8')) as RunReport;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a document with only the schema string', () => {
    const f = write('schema-only.json', { schema: 'mremap-probe/run-report/v1' });
    expectOneLine(
      cli(['report', f]),
      /schema-only\.json is not a valid run report: \/ must have required property/,
    );
  });

  it('a verdict the schema does not know, named with its place', () => {
    const bad = structuredClone(report);
    (bad.cases[0] as { verdict: string }).verdict = 'maybe';
    const f = write('verdict.json', bad);
    expectOneLine(
      cli(['report', f]),
      /\/cases\/0\/verdict must be equal to one of the allowed values/,
    );
  });

  it('a property the schema does not have', () => {
    const bad = { ...structuredClone(report), surprise: 1 };
    const f = write('extra.json', bad);
    expectOneLine(
      cli(['report', f, '--format', 'html']),
      /must NOT have additional properties \("surprise"\)/,
    );
  });

  it('a report of another schema, for repro --report too', () => {
    const f = write('other.json', { schema: 'something/else/v9', cases: [] });
    expectOneLine(cli(['report', f]), /not a run report \(schema "something\/else\/v9"\)/);
    expectOneLine(
      cli(['repro', CASE, '--no-run', '--report', f]),
      /neither a run report nor a matrix report/,
    );
  });

  it('a matrix report whose kernel report does not validate, for repro --report', () => {
    const bad = structuredClone(report) as unknown as Record<string, unknown>;
    delete bad.summary;
    const f = write('matrix.json', {
      schema: 'mremap-probe/matrix-report/v1',
      tool: { name: 'mremap-probe', version: '0' },
      startedAt: report.startedAt,
      elapsedMs: 1,
      kernels: [{ spec: 'x', release: 'x', elapsedMs: 1, report: bad, error: null }],
    });
    expectOneLine(
      cli(['repro', CASE, '--no-run', '--report', f]),
      /\/kernels\/0\/report must have required property 'summary'/,
    );
  });

  it('compare checks both files whole', () => {
    const f = write('compare-bad.json', { schema: 'mremap-probe/run-report/v1', cases: [] });
    expectOneLine(cli(['compare', good, f]), /compare-bad\.json is not a valid run report/);
  });

  it('a file above 64 MiB is refused with the size, not read', () => {
    const f = join(dir, 'huge.json');
    const fd = openSync(f, 'w');
    const chunk = Buffer.alloc(1 << 20, 0x20);
    for (let i = 0; i < 65; i++) writeSync(fd, chunk);
    closeSync(fd);
    expectOneLine(cli(['report', f]), /huge\.json is larger than 64 MiB/);
  });

  it('a valid report still renders, with the exit status of the run', () => {
    const r = cli(['report', good]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(report.summary.failed ? 1 : 0);
    expect(r.stdout).toMatch(/fixed\/dst-mid\//);
  });

  it('compare says when the two reports were judged by different eras', () => {
    const other = join(dir, 'pre51.json');
    runReportTo(other, 'fixed/dst-mid/**', '--era', 'pre-5.1');
    const r = cli(['compare', good, other]);
    expect(r.stdout).toMatch(/A was judged by the \S+ model and B by the pre-5\.1 model/);
    const j = JSON.parse(cli(['compare', good, other, '--json']).stdout);
    expect(j.judgedBy).toEqual({ a: report.era.judgedBy, b: 'pre-5.1' });
    expect(j.notes).toHaveLength(1);
  });
});
