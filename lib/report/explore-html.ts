// The explore report as one self-contained HTML page: the summary, then each
// finding with its shrunk case drawn as address-space strips (before, as the
// model predicts it, as observed), its trace per era and its repro command.
import { ERAS } from '../model/types.js';
import type { ExploreReport, FindingReport } from './explore.js';
import { COLORS, drawing, esc, LEGEND, REPORT_CSS } from './html.js';

const badge = (verdict: string) =>
  `<span class="v" style="background:${COLORS[verdict] ?? (verdict.startsWith('fail:') ? '#8c564b' : '#888')}">${esc(verdict)}</span>`;

function section(f: FindingReport, n: number, P: bigint): string {
  const sh = f.shrink;
  const shrunk = sh
    ? sh.reproduced
      ? `shrunk in ${sh.steps} step(s), ${sh.runs} lab run(s)${sh.exhausted ? ' (runs spent)' : ''}`
      : 'not reproduced when run again: not shrunk'
    : 'not shrunk';
  const diffs = f.case.differences.length
    ? `<ul>${f.case.differences.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`
    : '';
  const traces = f.traces
    .map(
      (t) =>
        `<details><summary>${esc(t.era)} model${f.eras.includes(t.era) ? ' (predicts it)' : ''}</summary><pre>${esc(t.text)}</pre></details>`,
    )
    .join('');
  return `<section class="case" id="finding-${n}"><h3>${n}. ${badge(f.verdict)} ${esc(f.kind)}: ${esc(f.errno)}</h3>
<p><code>${esc(f.signature)}</code></p>
<p>${f.count} generated case(s), first <code>${esc(f.firstCase)}</code>; ${esc(shrunk)}: <code>${esc(f.scenario.id)}</code>, ${esc(f.scenario.summary)}.</p>
<p>${esc(f.reason)}</p>${diffs}
${drawing(f.case, P)}
<p>Predicted by: ${f.eras.length ? f.eras.map(esc).join(', ') : "<b>no era's model</b>"}.</p>
<p>reproduce: <code>${esc(f.repro)}</code>${f.file ? `; saved as <code>${esc(f.file)}</code>` : ''}</p>
<details><summary>scenario</summary><pre>${esc(JSON.stringify(f.scenario, null, 2))}</pre></details>
${traces}</section>`;
}

export function formatExploreHtml(r: ExploreReport): string {
  const P = BigInt(r.kernel.pageSize);
  const c = r.cases;
  const rows = r.findings
    .map(
      (f, i) =>
        `<tr><td>${badge(f.verdict)}</td><td><a href="#finding-${i + 1}">${esc(f.kind)}</a></td><td>${esc(f.errno)}</td><td>${esc(f.destroyed.join(' ') || '-')}</td><td>${esc(f.step)}</td><td>${f.count}</td><td>${esc(f.eras.join(', ') || 'none')}</td></tr>`,
    )
    .join('\n');
  const counts = Object.entries(r.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, n]) => `${n} ${badge(v)}`)
    .join(' ');
  const scores = ERAS.map((e) => `<td>${r.era.scores[e].matched}/${r.era.scores[e].of}</td>`).join(
    '',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mremap-probe explore: Linux ${esc(r.kernel.release)}, seed ${r.seed}</title>
<style>
${REPORT_CSS}pre{font-size:12px;background:#f7f7f7;padding:6px;overflow-x:auto}
</style></head><body>
<h1>mremap-probe explore on Linux ${esc(r.kernel.release)}</h1>
<p>${esc(r.kernel.arch)}, vm.max_map_count ${r.limit.maxMapCount}; seed ${r.seed}; mremap-probe ${esc(r.tool.version)}, ${esc(r.startedAt)}, ${r.elapsedMs} ms.</p>
<p>${c.generated} cases generated (pressure ${esc(r.options.pressure.join('..'))}${r.options.noPressure ? ' and none' : ''}), ${c.run} run (${c.perSecond} cases/s), ${c.leftOut} left out. Verdicts: ${counts}.</p>
<p>Era by version: <b>${esc(r.era.byVersion)}</b>; judged by <b>${esc(r.era.judgedBy)}</b>; by behaviour: <b>${esc(r.era.byBehaviour ?? 'none')}</b> (${r.era.agrees ? 'agrees' : 'does not agree'}).</p>
<table><tr>${ERAS.map((e) => `<th>${esc(e)}</th>`).join('')}</tr><tr>${scores}</tr></table>
<p>Model gaps: ${r.modelGaps.cases} case(s) no era's model predicts.</p>
<p>Global effects: ${esc(r.globalEffects.note)}.</p>
${r.notes.map((n) => `<p>Note: ${esc(n)}</p>`).join('\n')}
<h2>Findings (${r.findings.length})</h2>
${LEGEND}
<table><tr><th>verdict</th><th>kind</th><th>errno</th><th>destroyed</th><th>where kernel and model part</th><th>cases</th><th>predicted by</th></tr>
${rows}
</table>
${r.findings.map((f, i) => section(f, i + 1, P)).join('\n')}
</body></html>
`;
}
