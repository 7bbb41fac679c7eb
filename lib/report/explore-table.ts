// The explore report for people at a terminal.
import type { ExploreReport } from './explore.js';

export function formatExploreTable(r: ExploreReport): string {
  const out: string[] = [];
  const k = r.kernel;
  out.push(
    `mremap-probe ${r.tool.version} explore: Linux ${k.release} (${k.arch}), vm.max_map_count ${r.limit.maxMapCount}, seed ${r.seed}`,
  );
  const best = r.era.byBehaviour;
  const score = best ? r.era.scores[best] : undefined;
  out.push(
    `era by version: ${r.era.byVersion}; judged by: ${r.era.judgedBy}; by behaviour: ${best ?? 'none'}` +
      (score ? ` (${score.matched}/${score.of} cases match)` : '') +
      (r.era.agrees ? ': agrees' : ': DOES NOT AGREE with the version'),
  );
  const c = r.cases;
  out.push(
    `${c.generated} cases generated (pressure ${r.options.pressure.join('..')}${r.options.noPressure ? ' and none' : ''}), ` +
      `${c.run} run in ${(c.exploreMs / 1000).toFixed(1)} s (${c.perSecond} cases/s), ${c.leftOut} left out; shrinking ${(c.shrinkMs / 1000).toFixed(1)} s`,
  );
  out.push(
    `verdicts: ${Object.entries(r.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([v, n]) => `${n} ${v}`)
      .join(', ')}`,
  );
  out.push(
    `model gaps: ${r.modelGaps.cases} case(s) no era's model predicts (${r.modelGaps.findings.length} finding(s))`,
  );
  out.push(`global effects: ${r.globalEffects.note}`);
  out.push('');
  if (!r.findings.length) out.push('no findings');
  else out.push(`findings (${r.findings.length}):`);
  for (const [n, f] of r.findings.entries()) {
    out.push('');
    out.push(
      `${n + 1}. ${f.kind}: ${f.errno}${f.destroyed.length ? `, destroyed ${f.destroyed.join(' ')}` : ''}; ${f.step} (${f.count} case(s), first ${f.firstCase})`,
    );
    const sh = f.shrink;
    out.push(
      `   shrunk: ${f.scenario.id}: ${f.scenario.summary}` +
        (sh
          ? sh.reproduced
            ? ` (${sh.steps} step(s), ${sh.runs} run(s)${sh.exhausted ? ', runs spent' : ''})`
            : ' (NOT reproduced when run again: not shrunk)'
          : ' (not shrunk)'),
    );
    out.push(`   ${f.verdict}: ${f.reason}`);
    for (const d of f.case.differences.slice(0, 3)) out.push(`     ${d}`);
    out.push(`   predicted by: ${f.eras.length ? f.eras.join(', ') : "no era's model"}`);
    out.push(`   reproduce: ${f.repro}`);
    if (f.file) out.push(`   saved: ${f.file}`);
  }
  if (r.unkept.signatures) {
    out.push('', `${r.unkept.signatures} more signature(s) in ${r.unkept.cases} case(s) not kept`);
  }
  out.push('');
  for (const note of r.notes) out.push(`note: ${note}`);
  return `${out.join('\n')}\n`;
}
