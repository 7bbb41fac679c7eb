// The matrix drawings, from real reports of this kernel judged by two eras'
// models (the VM test boots other kernels).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatMatrixHtml,
  formatMatrixTable,
  MATRIX_SCHEMA,
  type MatrixReport,
} from '../../lib/report/matrix.js';
import type { RunReport } from '../../lib/report/report.js';
import { isLinux, runReportTo } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-matrix-'));

describe.skipIf(!isLinux)('matrix drawings', () => {
  let a: RunReport;
  let b: RunReport;
  beforeAll(() => {
    runReportTo(join(dir, 'a.json'), 'fixed/dst-mid/**');
    runReportTo(join(dir, 'b.json'), 'fixed/dst-mid/**', '--era', 'pre-5.1');
    a = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    b = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
  });

  it('lays kernels out as columns, with a header per kernel and a cell per case', () => {
    const m: MatrixReport = {
      schema: MATRIX_SCHEMA,
      tool: { name: 'mremap-probe', version: a.tool.version },
      startedAt: a.startedAt,
      elapsedMs: 1234,
      kernels: [
        {
          spec: 'host',
          release: a.kernel.release,
          accel: 'host',
          elapsedMs: 400,
          report: a,
          error: null,
        },
        {
          spec: 'judged as pre-5.1',
          origin: 'file /boot/vmlinuz',
          originShort: 'file: vmlinuz',
          release: b.kernel.release,
          elapsedMs: 400,
          report: b,
          error: null,
        },
        {
          spec: 'broken.img',
          release: null,
          elapsedMs: 10,
          report: null,
          error: 'the guest kernel panicked\n...',
        },
      ],
    };
    const table = formatMatrixTable(m);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^case\s+/);
    // Under the release, the architecture and page size the guest ran with, then
    // where the kernel came from (the spec when nothing says).
    const arch = `${a.kernel.arch}, ${a.kernel.pageSize / 1024} KiB pages`;
    expect(lines[1]).toMatch(new RegExp(`^\\s+${arch}\\s+${arch}\\s*$`));
    expect(lines[2]).toMatch(/^\s+host\s+file: vmlinuz\s+broken\.img/);
    expect(lines[3]).toContain(`version: ${a.era.byVersion}`);
    expect(lines[4]).toContain(`behaviour: ${a.era.byBehaviour}`);
    expect(table).toContain(`${b.kernel.release} (${arch}; file /boot/vmlinuz): `);
    for (const c of a.cases)
      expect(table).toMatch(new RegExp(`^${c.id.replace(/[+.]/g, '\\$&')}\\s`, 'm'));
    expect(table).toMatch(/broken\.img: ERROR: the guest kernel panicked/);
    const md = formatMatrixTable(m, true);
    expect(md.split('\n')[1]).toBe('|---|---|---|---|');
    const html = formatMatrixHtml(m);
    expect(html).toContain('<table class="matrix">');
    expect((html.match(/class="case-drawing"/g) ?? []).length).toBe(
      a.cases.length + b.cases.length,
    );
  });
});
