// The matrix: rows are cases, columns kernels, each cell the verdict, the
// errno and what was destroyed; a header per kernel with its release, era by
// version and by behaviour, and how long it took. And `compare` of two runs.
import { ERAS } from '../model/types.js';
import { esc, formatHtml, REPORT_CSS } from './html.js';
import type { Scenario } from '../scenarios/types.js';
import type { CaseReport, RunReport } from './report.js';

export const MATRIX_SCHEMA = 'mremap-probe/matrix-report/v1';

export interface MatrixKernel {
  /** What the user asked for: a Debian spec or a kernel file. */
  spec: string;
  /** The guest's architecture (x86_64, arm64); absent in matrices from before arm64 guests. */
  arch?: string;
  /** Where the kernel came from: a Debian package, a tree it was built from, a file. */
  origin?: string;
  /** The same in a few words, for the column's header. */
  originShort?: string;
  release: string | null;
  package?: string;
  accel?: string;
  elapsedMs: number;
  report: RunReport | null;
  error: string | null;
  /** With --explore: what this kernel's own explore did (its report is the findings' run). */
  explore?: KernelExplore;
}

/** One kernel's explore in a matrix --explore. */
export interface KernelExplore {
  seed: number;
  elapsedMs: number;
  /** Generated cases run, and how many per second. */
  cases: number;
  perSecond: number;
  byBehaviour: string | null;
  judgedBy: string;
  /** Cases per verdict of the judging era. */
  counts: Record<string, number>;
  modelGapCases: number;
  /** The signatures of its findings. */
  findings: string[];
  notes: string[];
}

/** A finding of matrix --explore: a row, with the columns (indexes) whose explore found it. */
export interface MatrixFinding {
  id: string;
  signature: string;
  kind: string;
  verdict: string;
  reason: string;
  foundOn: number[];
  scenario: Scenario;
}

export interface MatrixExplore {
  seed: number;
  budgetMs: number;
  findings: MatrixFinding[];
  /** Where --save wrote the findings' scenario files, or null. */
  saved: string | null;
}

export interface MatrixReport {
  schema: typeof MATRIX_SCHEMA;
  tool: { name: 'mremap-probe'; version: string };
  startedAt: string;
  elapsedMs: number;
  kernels: MatrixKernel[];
  /** With --explore: the seed, the budget per kernel, and the findings (the rows). */
  explore?: MatrixExplore;
}

export function cellText(c: CaseReport | undefined): string {
  if (!c) return '-';
  if (c.verdict === 'skip') return 'skip';
  if (c.verdict === 'broken') return 'broken';
  const result = c.observed?.errno ?? 'ok';
  const lost = (c.observed?.destroyed ?? []).reduce((n, d) => n + d.pages, 0);
  const v = c.verdict === 'pass' ? 'pass' : c.verdict.replace('fail:', 'FAIL:');
  const inv =
    c.invariant?.kind === 'accounting' && !c.invariant.kept
      ? ` drift ${c.invariant.driftPagesPerCycle}p/cycle`
      : '';
  return `${v} ${result}${lost ? ` lost ${lost}p` : ''}${inv}`;
}

function caseIds(m: MatrixReport): string[] {
  const ids: string[] = [];
  for (const k of m.kernels)
    for (const c of k.report?.cases ?? []) if (!ids.includes(c.id)) ids.push(c.id);
  return ids;
}

/** The architecture and page size a column's guest ran with: "aarch64, 16 KiB pages". */
export function archText(k: MatrixKernel): string {
  if (k.report) return `${k.report.kernel.arch}, ${k.report.kernel.pageSize / 1024} KiB pages`;
  return k.arch ?? '';
}

function headers(m: MatrixReport): string[][] {
  return m.kernels.map((k) => [
    k.release ?? k.spec,
    archText(k),
    k.originShort ?? k.spec,
    k.report ? `version: ${k.report.era.byVersion}` : 'no report',
    k.report
      ? `behaviour: ${k.report.era.byBehaviour ?? 'none'}${k.report.era.agrees ? '' : ' (!)'}`
      : (k.error ?? '').split('\n')[0]!.slice(0, 40),
    `${(k.elapsedMs / 1000).toFixed(1)} s${k.accel ? ` ${k.accel}` : ''}`,
  ]);
}

export function formatMatrixTable(m: MatrixReport, markdown = false): string {
  const ids = caseIds(m);
  const hs = headers(m);
  const rows = ids.map((id) => [
    id,
    ...m.kernels.map((k) => cellText(k.report?.cases.find((c) => c.id === id))),
  ]);
  const out: string[] = [];
  if (markdown) {
    out.push(`| case | ${hs.map((h) => h.join('<br>')).join(' | ')} |`);
    out.push(`|---|${hs.map(() => '---').join('|')}|`);
    for (const r of rows) out.push(`| \`${r[0]}\` | ${r.slice(1).join(' | ')} |`);
  } else {
    const widths = [
      Math.max(4, ...ids.map((i) => i.length)),
      ...m.kernels.map((_, i) =>
        Math.max(...hs[i]!.map((h) => h.length), ...rows.map((r) => r[i + 1]!.length)),
      ),
    ];
    for (let line = 0; line < (hs[0]?.length ?? 0); line++) {
      out.push(
        [
          line === 0 ? 'case'.padEnd(widths[0]!) : ''.padEnd(widths[0]!),
          ...hs.map((h, i) => h[line]!.padEnd(widths[i + 1]!)),
        ].join('  '),
      );
    }
    out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) out.push(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  }
  out.push('');
  for (const k of m.kernels) {
    if (k.error)
      out.push(`${k.spec}${k.arch ? ` (${k.arch})` : ''}: ERROR: ${k.error.split('\n')[0]}`);
    else if (k.report) {
      const s = k.report.summary.counts;
      out.push(
        `${k.release} (${archText(k)}${k.origin ? `; ${k.origin}` : ''}): ${s.pass} pass, ${s['fail:destroyed']} fail:destroyed, ${s['fail:model']} fail:model, ${s['fail:invariant']} fail:invariant, ${s['fail:contract'] ?? 0} fail:contract, ${s.skip} skip, ${s.broken} broken; era scores ${ERAS.map((e) => `${e} ${k.report!.era.scores[e].matched}`).join(', ')}`,
      );
    }
  }
  if (m.explore) out.push('', ...(markdown ? ['```', ...exploreLines(m), '```'] : exploreLines(m)));
  const failing = new Set<string>();
  for (const k of m.kernels)
    for (const c of k.report?.cases ?? []) if (c.repro) failing.add(c.repro);
  if (failing.size) out.push('', 'reproduce:', ...[...failing].map((r) => `  ${r}`));
  return `${out.join('\n')}\n`;
}

/** A column's name in the explore summary: its release (or spec) and architecture. */
function columnName(m: MatrixReport, i: number): string {
  const k = m.kernels[i]!;
  return `${k.release ?? k.spec}${k.arch && m.kernels.some((o) => o.arch !== k.arch) ? ` (${k.arch})` : ''}`;
}

/**
 * What matrix --explore adds below the table: each kernel's explore (cases,
 * rate, era by behaviour, findings, model gaps), and each finding (a row
 * above) with its kind, signature and the kernels whose explore found it.
 */
export function exploreLines(m: MatrixReport): string[] {
  const e = m.explore!;
  const out = [
    `explore: seed ${e.seed}, ${(e.budgetMs / 1000).toFixed(0)} s per kernel; each row above is a finding, run on every kernel`,
  ];
  m.kernels.forEach((k, i) => {
    const x = k.explore;
    if (!x) return;
    out.push(
      `  ${columnName(m, i)}: ${x.cases} cases (${x.perSecond}/s), judged by ${x.judgedBy}, behaviour ${x.byBehaviour ?? 'none'}; ${x.findings.length} finding(s), ${x.modelGapCases} model-gap case(s), ${x.counts.broken ?? 0} broken`,
    );
  });
  if (!e.findings.length) out.push('  no findings on any kernel');
  else
    out.push(
      e.saved
        ? `  scenario files in ${e.saved} (run/repro/explain --cases ${e.saved})`
        : '  the repro commands read the scenario files that --save DIR writes',
    );
  for (const f of e.findings) {
    out.push(
      `  ${f.id}: ${f.kind}, found on ${f.foundOn.map((i) => columnName(m, i)).join(', ')}`,
      `    ${f.signature}`,
    );
  }
  return out;
}

export function formatMatrixHtml(m: MatrixReport): string {
  const ids = caseIds(m);
  const hs = headers(m);
  const color = (t: string) =>
    t.startsWith('pass')
      ? '#e6f4e6'
      : t.startsWith('FAIL') || t === 'broken'
        ? '#fbe3e3'
        : '#f1f1f1';
  const table = [
    `<table class="matrix"><tr><th>case</th>${hs.map((h, i) => `<th><a href="#k${i}">${h.map(esc).join('<br>')}</a></th>`).join('')}</tr>`,
    ...ids.map(
      (id) =>
        `<tr><td><code>${esc(id)}</code></td>${m.kernels
          .map((k, i) => {
            const t = cellText(k.report?.cases.find((c) => c.id === id));
            return `<td style="background:${color(t)}"><a href="#k${i}-${esc(encodeURIComponent(id))}">${esc(t)}</a></td>`;
          })
          .join('')}</tr>`,
    ),
    '</table>',
  ].join('\n');
  // Each kernel's own run page, with its drawings, below the table.
  const sections = m.kernels
    .map((k, i) => {
      if (!k.report)
        return `<section id="k${i}"><h2>${esc(k.spec)}</h2><pre>${esc(k.error ?? 'no report')}</pre></section>`;
      const page = formatHtml(k.report);
      const body = /<body>([\s\S]*)<\/body>/.exec(page)?.[1] ?? '';
      const prefixed = body
        .replace(/id="([^"]+)"/g, (_m, id: string) => `id="k${i}-${id}"`)
        .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#k${i}-${id}"`);
      return `<section id="k${i}" class="kernel">${prefixed}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mremap-probe matrix</title>
<style>${REPORT_CSS}
table.matrix td{font-size:12px;white-space:nowrap}section.kernel{border-top:3px solid #444;margin-top:2em}</style></head><body>
<h1>mremap-probe matrix: ${m.kernels.length} kernels</h1>
<p>mremap-probe ${esc(m.tool.version)}, ${esc(m.startedAt)}, ${(m.elapsedMs / 1000).toFixed(1)} s.</p>
${table}
${m.explore ? `<pre>${esc(exploreLines(m).join('\n'))}</pre>` : ''}
${sections}
</body></html>
`;
}

export interface CaseDiff {
  id: string;
  a: string;
  b: string;
}

/** The cases whose outcome differs between two run reports. */
export function compareReports(
  a: RunReport,
  b: RunReport,
): { diffs: CaseDiff[]; onlyA: string[]; onlyB: string[] } {
  const diffs: CaseDiff[] = [];
  const onlyA: string[] = [];
  for (const ca of a.cases) {
    const cb = b.cases.find((c) => c.id === ca.id);
    if (!cb) {
      onlyA.push(ca.id);
      continue;
    }
    const ta = cellText(ca);
    const tb = cellText(cb);
    if (ta !== tb) diffs.push({ id: ca.id, a: ta, b: tb });
  }
  const onlyB = b.cases.filter((c) => !a.cases.some((x) => x.id === c.id)).map((c) => c.id);
  return { diffs, onlyA, onlyB };
}
