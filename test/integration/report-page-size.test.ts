// The HTML and table reports follow the kernel's page size. A real run on this
// machine (4 KiB pages) is rewritten as the same run on a 16 KiB and a 64 KiB
// kernel (every address scaled, pageSize changed): the drawings must come out
// the same in pages, and say which page size and which addresses they show.
import { describe, expect, it } from 'vitest';
import { formatHtml } from '../../lib/report/html.js';
import type { RunReport } from '../../lib/report/report.js';
import { formatTable } from '../../lib/report/table.js';
import { cli, isLinux } from '../helpers.js';

/** The report as a kernel with pages `factor` times larger would give it. */
function scaled(r: RunReport, factor: number): RunReport {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string' && /^0x[0-9a-f]+$/.test(v))
      return `0x${(BigInt(v) * BigInt(factor)).toString(16)}`;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const out = walk(r) as RunReport;
  out.kernel.pageSize = r.kernel.pageSize * factor;
  return out;
}

/** The drawings' shapes: the SVG without its titles and its captions. */
function shapes(html: string): string {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)]
    .map((m) => m[0].replace(/<title>[^<]*<\/title>/g, '').replace(/<text[^>]*>[^<]*<\/text>/g, ''))
    .join('\n');
}

describe.skipIf(!isLinux)('reports at 4, 16 and 64 KiB pages', () => {
  const run = cli([
    'run',
    '--filter',
    'fixed/dst-mid/old-mid/shrink@M-4',
    '--filter',
    'lowaddr/dst-zero/old-mid/shrink@none',
    '--format',
    'json',
    '--no-progress',
  ]);

  it('draws the same pages, with the addresses and the page size of each', (ctx) => {
    if (run.status !== 0 && run.status !== 1) ctx.skip(`the run could not go here: ${run.stderr}`);
    const report = JSON.parse(run.stdout) as RunReport;
    if (report.kernel.pageSize !== 4096) ctx.skip('the scaling starts from a 4 KiB kernel');
    expect(report.cases).toHaveLength(2);
    const base = formatHtml(report);
    expect(base).toContain('4 KiB pages');
    for (const factor of [4, 16]) {
      const kib = 4 * factor;
      const html = formatHtml(scaled(report, factor));
      expect(shapes(html)).toBe(shapes(base));
      expect(html).toContain(`${kib} KiB pages`);
      expect(html).toMatch(new RegExp(`\\d+ pages of ${kib} KiB from 0x`));
      // Each page's title names its own address: the 4 KiB one times the factor.
      const titles = (h: string) =>
        [...h.matchAll(/<title>page 0x([0-9a-f]+):/g)].map((m) => BigInt(`0x${m[1]}`));
      expect(titles(html)).toEqual(titles(base).map((a) => a * BigInt(factor)));
      expect(formatTable(scaled(report, factor))).toContain(`${kib} KiB pages`);
    }
  });
});
