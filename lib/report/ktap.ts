// KTAP, as kselftest writes it: a plan, one result line per case, SKIP
// directives, diagnostics as "#" lines, and the Totals line.
import { failures, type RunReport } from './report.js';

function clean(s: string): string {
  // '#' starts a directive in KTAP; keep descriptions on one line without it.
  return s.replaceAll('#', 'no.').replaceAll('\n', ' ');
}

export function formatKtap(r: RunReport): string {
  const out: string[] = ['KTAP version 1'];
  out.push(
    `# mremap-probe ${r.tool.version} on Linux ${r.kernel.release}; vm.max_map_count ${r.limit.maxMapCount}`,
  );
  out.push(`# era by version ${r.era.byVersion}, by behaviour ${r.era.byBehaviour ?? 'none'}`);
  out.push(`1..${r.cases.length}`);
  r.cases.forEach((c, i) => {
    const n = i + 1;
    if (c.verdict === 'skip') {
      out.push(`ok ${n} ${c.id} # SKIP ${clean(c.reason)}`);
      return;
    }
    if (c.verdict !== 'pass') {
      out.push(`# ${c.id}: ${c.verdict}: ${clean(c.reason)}`);
      for (const d of c.differences) out.push(`#   ${clean(d)}`);
      if (c.repro) out.push(`#   reproduce: ${clean(c.repro)}`);
    }
    out.push(`${c.verdict === 'pass' ? 'ok' : 'not ok'} ${n} ${c.id}`);
  });
  const s = r.summary.counts;
  const fail = failures(s);
  out.push(
    `# Totals: pass:${s.pass} fail:${fail} xfail:0 xpass:0 skip:${s.skip} error:${s.broken}`,
  );
  return `${out.join('\n')}\n`;
}
