// `mremap-probe explore` on this kernel: a fixed-seed explore of 2000
// generated cases in the lab, its report, its saved findings run again by
// `run --cases`, and the same seed giving the same findings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateScenarios } from '../../lib/explore/generate.js';
import { complexity } from '../../lib/explore/shrink.js';
import type { ExploreReport } from '../../lib/report/explore.js';
import { formatExploreHtml } from '../../lib/report/explore-html.js';
import { formatExploreTable } from '../../lib/report/explore-table.js';
import type { RunReport } from '../../lib/report/report.js';
import { bin, cli, isLinux, root, envWithoutSanitizer } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-explore-'));
const save = join(dir, 'f');
const CASES = 2000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const lexLeq = (a: number[], b: number[]) => {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 || a[i]! < b[i]!;
};

describe.skipIf(!isLinux)('mremap-probe explore on this kernel', () => {
  let report: ExploreReport;
  let status: number | null;
  beforeAll(() => {
    const out = join(dir, 'explore.json');
    const r = cli([
      'explore',
      '--seed',
      '1',
      '--cases',
      String(CASES),
      '--save',
      save,
      '--format',
      'json',
      '--output',
      out,
      '--no-progress',
    ]);
    status = r.status;
    expect(r.stderr).toBe('');
    report = JSON.parse(readFileSync(out, 'utf8')) as ExploreReport;
  }, 300_000);

  it('writes a report that validates against its schema in strict mode', () => {
    const schema = (f: string) =>
      JSON.parse(readFileSync(join(root, 'schemas', f), 'utf8')) as object;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema(schema('scenario.v1.schema.json'));
    ajv.addSchema(schema('run-report.v1.schema.json'));
    const validate = ajv.compile(schema('explore-report.v1.schema.json'));
    validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(report.schema).toBe('mremap-probe/explore-report/v1');
    expect(report.seed).toBe(1);
  });

  it('ran every generated case, none of them broken, and lists every model gap', () => {
    expect(report.cases.generated).toBe(CASES);
    expect(report.cases.run + report.cases.leftOut).toBe(CASES);
    expect(report.counts.broken ?? 0).toBe(0);
    expect(report.findings.filter((f) => f.kind === 'broken')).toEqual([]);
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(report.cases.run);
    expect(report.modelGaps.findings).toEqual(
      report.findings.filter((f) => f.kind === 'model-gap').map((f) => f.signature),
    );
    expect(status).toBe(report.summary.failed ? 1 : 0);
  });

  it('deduplicates: one finding per signature, counting the cases that showed it', () => {
    const sigs = report.findings.map((f) => f.signature);
    expect(new Set(sigs).size).toBe(sigs.length);
    for (const f of report.findings) {
      expect(f.signature).toBe([f.kind, f.errno, f.destroyed.join('+') || '-', f.step].join(' | '));
      expect(f.count).toBeGreaterThanOrEqual(1);
    }
    const failing = Object.entries(report.counts)
      .filter(([v]) => v.startsWith('fail:'))
      .reduce((n, [, k]) => n + k, 0);
    expect(report.findings.reduce((n, f) => n + f.count, 0)).toBeGreaterThanOrEqual(failing);
  });

  it('shrinks each finding to a case no bigger than the generated one', () => {
    const generated = new Map(generateScenarios(1, CASES).map((s) => [s.id, s]));
    for (const f of report.findings) {
      const first = generated.get(f.firstCase)!;
      expect(first, f.firstCase).toBeDefined();
      expect(f.shrink?.reproduced, f.signature).toBe(true);
      expect(lexLeq(complexity(f.scenario), complexity(first)), f.scenario.id).toBe(true);
      expect(f.scenario.id).toMatch(/^explore\/1-\d+-min@(none|M([+-]\d+)?)$/);
      expect(f.case.id).toBe(f.scenario.id);
      expect(f.case.verdict).toBe(f.verdict);
      expect(f.traces.map((t) => t.era)).toHaveLength(6);
      expect(f.repro).toContain(`repro '${f.scenario.id}' --cases '${save}'`);
    }
  });

  it('every saved finding shows again under run --cases, with the same verdict', (ctx) => {
    if (!report.findings.length) ctx.skip('this kernel gave no finding for seed 1');
    const out = join(dir, 'rerun.json');
    const r = cli([
      'run',
      '--cases',
      save,
      '--filter',
      'explore/**',
      '--format',
      'json',
      '--output',
      out,
      '--no-progress',
    ]);
    expect(r.stderr).toBe('');
    const again = JSON.parse(readFileSync(out, 'utf8')) as RunReport;
    expect(again.cases.map((c) => c.id).sort()).toEqual(
      report.findings.map((f) => f.scenario.id).sort(),
    );
    for (const f of report.findings) {
      expect(existsSync(f.file!)).toBe(true);
      const c = again.cases.find((x) => x.id === f.scenario.id)!;
      expect(c.verdict, `${f.scenario.id}: ${c.reason}`).toBe(f.verdict);
      if (c.verdict.startsWith('fail:')) {
        expect(c.repro).toBe(
          `mremap-probe repro '${f.scenario.id}' --cases '${save}' --output repro.c`,
        );
      }
    }
  });

  it('gives the same cases and findings for the same seed', () => {
    const one = () => {
      const r = cli([
        'explore',
        '--seed',
        '5',
        '--cases',
        '300',
        '--format',
        'json',
        '--no-progress',
      ]);
      expect(r.stderr).toBe('');
      const x = JSON.parse(r.stdout) as ExploreReport;
      return {
        counts: x.counts,
        findings: x.findings.map((f) => [f.signature, f.count, f.firstCase, f.scenario, f.verdict]),
      };
    };
    expect(one()).toEqual(one());
  });

  it('renders the table and an HTML page that draws each finding', async (ctx) => {
    const table = formatExploreTable(report);
    expect(table).toMatch(/^mremap-probe .* explore: Linux .*, seed 1$/m);
    expect(table).toContain(`${CASES} cases generated`);
    for (const f of report.findings) expect(table).toContain(f.scenario.id);
    if (!existsSync(CHROMIUM)) ctx.skip(`no chromium at ${CHROMIUM}`);
    const file = join(dir, 'explore.html');
    writeFileSync(file, formatExploreHtml(report));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      env: envWithoutSanitizer(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      expect(await page.locator('section.case').count()).toBe(report.findings.length);
      expect(await page.locator('section.case svg.case-drawing').count()).toBe(
        report.findings.length,
      );
      const destroyed = report.findings.filter((f) => f.verdict === 'fail:destroyed').length;
      expect(await page.locator('section.case:has(path.destroyed)').count()).toBe(destroyed);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!isLinux || !hasScript)('explore progress on a terminal', () => {
  it('shows cases, cases per second and findings, on a terminal of 0 columns too', () => {
    // script(1) without a terminal of its own gives the child a 0x0 pty.
    const out = join(dir, 'p.json');
    const tty = spawnSync(
      'script',
      [
        '-qec',
        `'${process.execPath}' '${bin}' explore --seed 3 --cases 300 --format json -o '${out}'`,
        '/dev/null',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(tty.stdout).toMatch(/explore seed 3: \d+ cases, \d+\/s, \d+ finding\(s\)/);
    expect(tty.stdout).not.toMatch(/internal error|RangeError/);
    expect(JSON.parse(readFileSync(out, 'utf8')).cases.generated).toBe(300);
  });
});
