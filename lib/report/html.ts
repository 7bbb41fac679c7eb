// One self-contained HTML page: per case, the region before the call, as the
// era's model predicts it after, and as observed after, drawn as address-space
// strips in SVG, with destroyed pages marked. No scripts, no outside resources.
import { ERAS } from '../model/types.js';
import type { PageRunJson, VmaJson } from './cases.js';
import type { CaseReport, RunReport } from './report.js';

/** Escapes text for HTML content and attribute values. */
export const esc = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/** The page's style, shared with the matrix page. */
export const REPORT_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
.v{color:#fff;border-radius:3px;padding:0 5px;font-size:12px;white-space:nowrap}
section.case{border-top:1px solid #ccc;margin-top:1em;padding-top:.5em}
.legend span{display:inline-block;width:12px;height:12px;border:1px solid #999;margin:0 4px -2px 12px}
code{font-size:12px}
`;

const CELL = 14;
const ROW = 34;
const LABEL = 92;

function pagesOf(runs: PageRunJson[], P: bigint): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of runs) {
    const a = Number(BigInt(r.start) / P);
    const b = Number(BigInt(r.end) / P);
    const st = /^stamp (\d+):(\d+)(?:\.\.(\d+))?$/.exec(r.state);
    for (let p = a; p < b; p++) {
      m.set(p, st ? `stamp ${st[1]}:${Number(st[2]) + (p - a)}` : r.state);
    }
  }
  return m;
}

function fill(state: string | undefined): string {
  if (!state || state === 'unmapped') return '#f1f1f1';
  if (state === 'zero') return 'url(#zero)';
  if (state === 'other') return '#d62728';
  if (state === 'unreadable') return '#333333';
  const m = /^stamp (\d+):/.exec(state);
  return m ? `hsl(${(Number(m[1]) * 67) % 360}, 65%, 72%)` : '#999999';
}

interface Strip {
  title: string;
  vmas: VmaJson[];
  pages: Map<number, string>;
  destroyed?: Set<number>;
}

export function drawing(c: CaseReport, P: bigint): string {
  const o = c.observed;
  const e = c.expected;
  if (!o || !e) {
    return `<svg class="case-drawing" role="img" width="600" height="40" xmlns="http://www.w3.org/2000/svg"><text x="4" y="24" font-size="13">${esc(`${c.verdict}: ${c.reason}`)}</text></svg>`;
  }
  const before = pagesOf(o.pagesBefore, P);
  const axis = [...before.keys()].sort((a, b) => a - b);
  const index = new Map(axis.map((p, i) => [p, i]));
  const destroyed = new Set<number>();
  for (const d of o.destroyed) {
    for (let p = Number(BigInt(d.start) / P); p < Number(BigInt(d.end) / P); p++) destroyed.add(p);
  }
  const strips: Strip[] = [
    { title: 'before', vmas: o.vmasBefore, pages: before },
    { title: `model ${e.era}`, vmas: e.vmas, pages: pagesOf(e.pages, P) },
    { title: 'observed', vmas: o.vmasAfter, pages: pagesOf(o.pagesAfter, P), destroyed },
  ];
  const width = LABEL + axis.length * CELL + 8;
  const height = strips.length * ROW + 22;
  const parts: string[] = [
    `<svg class="case-drawing" role="img" aria-label="${esc(c.id)}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
    '<defs><pattern id="zero" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="#fff"/><path d="M0 4L4 0" stroke="#aaa"/></pattern></defs>',
  ];
  // Breaks in the page axis (evidence of a huge or split window).
  axis.forEach((p, i) => {
    if (i > 0 && axis[i - 1]! + 1 !== p) {
      const x = LABEL + i * CELL;
      parts.push(
        `<line x1="${x}" y1="0" x2="${x}" y2="${height - 20}" stroke="#888" stroke-dasharray="2 2"/>`,
      );
    }
  });
  strips.forEach((s, row) => {
    const y = row * ROW + 4;
    parts.push(`<text x="2" y="${y + 17}" font-size="11">${esc(s.title)}</text>`);
    axis.forEach((p, i) => {
      const x = LABEL + i * CELL;
      const st = s.pages.get(p);
      parts.push(
        `<rect class="page" x="${x}" y="${y + 4}" width="${CELL - 1}" height="${ROW - 14}" fill="${fill(st)}"><title>page ${esc(`0x${(BigInt(p) * P).toString(16)}`)}: ${esc(st ?? 'not read')}</title></rect>`,
      );
      if (s.destroyed?.has(p)) {
        parts.push(
          `<path class="destroyed" d="M${x} ${y + 4}l${CELL - 1} ${ROW - 14}M${x + CELL - 1} ${y + 4}l-${CELL - 1} ${ROW - 14}" stroke="#d62728" stroke-width="2"/>`,
        );
      }
    });
    // VMA outlines over the pages they cover on the axis.
    for (const v of s.vmas) {
      const a = Number(BigInt(v.start) / P);
      const b = Number(BigInt(v.end) / P);
      const idx = axis.filter((p) => p >= a && p < b).map((p) => index.get(p)!);
      if (!idx.length) continue;
      const x = LABEL + Math.min(...idx) * CELL - 1;
      const w = (Math.max(...idx) - Math.min(...idx) + 1) * CELL + 1;
      parts.push(
        `<rect class="vma" x="${x}" y="${y + 2}" width="${w}" height="${ROW - 10}" fill="none" stroke="#222" stroke-width="1.5"><title>${esc(`${v.start}-${v.end} ${v.perms}`)}</title></rect>`,
        `<text x="${x + 2}" y="${y + ROW - 1}" font-size="9">${esc(v.perms)}</text>`,
      );
    }
  });
  parts.push(
    `<text x="${LABEL}" y="${height - 4}" font-size="10" fill="#555">${axis.length} pages of ${Number(P) / 1024} KiB from 0x${(BigInt(axis[0] ?? 0) * P).toString(16)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/** What the strips' colours and marks mean. */
export const LEGEND = `<p class="legend">Strips show pages left to right; outlines are VMAs.<span style="background:hsl(67,65%,72%)"></span>stamped page (colour per layout piece)<span style="background:repeating-linear-gradient(45deg,#fff,#fff 2px,#aaa 3px)"></span>zero page<span style="background:#f1f1f1"></span>unmapped<span style="background:#d62728"></span>other bytes<span style="background:#fff;border-color:#d62728"></span>red cross: destroyed on error</p>`;

export const COLORS: Record<string, string> = {
  pass: '#2ca02c',
  skip: '#888',
  broken: '#9467bd',
  'fail:destroyed': '#d62728',
  'fail:model': '#ff7f0e',
  'fail:invariant': '#e377c2',
  'fail:contract': '#8c564b',
};

export function formatHtml(r: RunReport): string {
  const P = BigInt(r.kernel.pageSize);
  const n = r.summary.counts;
  const rows = r.cases
    .map(
      (c) =>
        `<tr><td><span class="v" style="background:${COLORS[c.verdict]}">${esc(c.verdict)}</span></td><td><a href="#${esc(encodeURIComponent(c.id))}">${esc(c.id)}</a></td><td>${esc(c.observed?.errno ?? (c.observed ? 'ok' : '-'))}</td><td>${esc(c.reason)}</td></tr>`,
    )
    .join('\n');
  const sections = r.cases
    .map((c) => {
      const diffs = c.differences.length
        ? `<ul>${c.differences.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`
        : '';
      const trace = c.expected
        ? `<details><summary>model trace (${esc(c.expected.era)})</summary><ol>${c.expected.trace
            .map(
              (t) =>
                `<li><code>${esc(t.fn)}</code>: ${esc(t.what)}${t.errno ? ` <b>-&gt; ${esc(t.errno)}</b>` : ''}</li>`,
            )
            .join('')}</ol></details>`
        : '';
      const repro = c.repro ? `<p>reproduce: <code>${esc(c.repro)}</code></p>` : '';
      return `<section class="case" id="${esc(encodeURIComponent(c.id))}"><h3><span class="v" style="background:${COLORS[c.verdict]}">${esc(c.verdict)}</span> ${esc(c.id)}</h3><p>${esc(c.summary)}</p><p>${esc(c.reason)}</p>${diffs}${drawing(c, P)}${repro}${trace}</section>`;
    })
    .join('\n');
  const scores = ERAS.map((e) => `<td>${r.era.scores[e].matched}/${r.era.scores[e].of}</td>`).join(
    '',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mremap-probe: Linux ${esc(r.kernel.release)}</title>
<style>
${REPORT_CSS}
</style></head><body>
<h1>mremap-probe on Linux ${esc(r.kernel.release)}</h1>
<p>${esc(r.kernel.arch)}, ${r.kernel.pageSize / 1024} KiB pages, vm.max_map_count ${r.limit.maxMapCount}${r.limit.loweredFrom !== null ? ` (lowered from ${r.limit.loweredFrom})` : ''}; mremap-probe ${esc(r.tool.version)}, ${esc(r.startedAt)}, ${r.elapsedMs} ms.</p>
<p>Era by version: <b>${esc(r.era.byVersion)}</b>; by behaviour: <b>${esc(r.era.byBehaviour ?? 'none')}</b> (${r.era.agrees ? 'agrees' : 'does not agree'}).</p>
<table><tr>${ERAS.map((e) => `<th>${esc(e)}</th>`).join('')}</tr><tr>${scores}</tr></table>
<p>${r.summary.total} cases: ${n.pass} pass, ${n['fail:destroyed']} fail:destroyed, ${n['fail:model']} fail:model, ${n['fail:invariant']} fail:invariant, ${n['fail:contract'] ?? 0} fail:contract, ${n.skip} skip, ${n.broken} broken.</p>
${LEGEND}
<table><tr><th>verdict</th><th>case</th><th>result</th><th>reason</th></tr>
${rows}
</table>
${sections}
</body></html>
`;
}
