// The report for people at a terminal.
import { ERAS } from '../model/types.js';
import type { RunReport } from './report.js';

export function formatTable(r: RunReport): string {
  const out: string[] = [];
  const k = r.kernel;
  out.push(
    `mremap-probe ${r.tool.version}: Linux ${k.release} (${k.arch}, ${k.pageSize / 1024} KiB pages), vm.max_map_count ${r.limit.maxMapCount}` +
      (r.limit.loweredFrom !== null ? ` (lowered from ${r.limit.loweredFrom} for the run)` : ''),
  );
  const best = r.era.byBehaviour;
  const score = best ? r.era.scores[best] : undefined;
  out.push(
    `era by version: ${r.era.byVersion}; by behaviour: ${best ?? 'none'}` +
      (score ? ` (${score.matched}/${score.of} cases match)` : '') +
      (r.era.tied.length > 1
        ? `, tied with ${r.era.tied.filter((e) => e !== best).join(', ')}`
        : '') +
      (r.era.agrees ? ': agrees' : ': DOES NOT AGREE with the version') +
      (r.era.judgedBy !== r.era.byVersion ? `; judged by the ${r.era.judgedBy} model (--era)` : ''),
  );
  // What the environment changed comes first: it decides how to read the rest.
  for (const note of r.notes) out.push(`note: ${note}`);
  out.push('');
  const w = Math.max(4, ...r.cases.map((c) => c.id.length));
  out.push(
    `${'VERDICT'.padEnd(15)} ${'CASE'.padEnd(w)} ${'RESULT'.padEnd(8)} ${'MAPS BEFORE->AFTER'.padEnd(19)} REASON`,
  );
  for (const c of r.cases) {
    const o = c.observed;
    const result = o ? (o.errno ?? 'ok') : '-';
    const maps = o ? `${o.mapCountBefore}->${o.mapCountAfter}` : '-';
    out.push(
      `${c.verdict.padEnd(15)} ${c.id.padEnd(w)} ${result.padEnd(8)} ${maps.padEnd(19)} ${c.reason}`,
    );
  }
  out.push('');
  const n = r.summary.counts;
  out.push(
    `summary: ${r.summary.total} cases: ${n.pass} pass, ${n['fail:destroyed']} fail:destroyed, ${n['fail:model']} fail:model, ` +
      `${n['fail:invariant']} fail:invariant, ${n['fail:contract'] ?? 0} fail:contract, ${n.skip} skip, ${n.broken} broken (${r.elapsedMs} ms)`,
  );
  if (r.summary.destroyedOnError.length) {
    out.push('', 'destroyed on error:');
    for (const d of r.summary.destroyedOnError) {
      out.push(
        `  ${d.id}: ${d.errno} after ${d.lost} (${d.predicted ? 'the era model predicts this' : 'NOT predicted by the era model'})`,
      );
      const c = r.cases.find((x) => x.id === d.id);
      if (c?.repro) out.push(`    reproduce: ${c.repro}`);
    }
  }
  const model = r.cases.filter(
    (c) => c.verdict.startsWith('fail:') && c.verdict !== 'fail:destroyed',
  );
  if (model.length) {
    out.push('', 'departures:');
    for (const c of model) {
      out.push(`  ${c.id}:`);
      // An invariant or contract broken as the model predicts has no difference: say why.
      if (!c.differences.length) out.push(`    ${c.reason}`);
      for (const d of c.differences) out.push(`    ${d}`);
      if (c.repro) out.push(`    reproduce: ${c.repro}`);
    }
  }
  out.push(
    '',
    `era scores: ${ERAS.map((e) => `${e} ${r.era.scores[e].matched}/${r.era.scores[e].of}`).join(', ')}`,
  );
  return `${out.join('\n')}\n`;
}
