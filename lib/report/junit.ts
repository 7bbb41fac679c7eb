// JUnit XML for CI servers, written with an XML library (xmlbuilder2) so that
// every name and message is escaped as XML needs.
import { createRequire } from 'node:module';
import type { create as Create } from 'xmlbuilder2';
import { failures, type RunReport } from './report.js';

export function formatJunit(r: RunReport): string {
  // Loaded here, not with the module: xmlbuilder2 costs every command 14 MB of RSS.
  const { create } = createRequire(import.meta.url)('xmlbuilder2') as { create: typeof Create };
  const s = r.summary.counts;
  const failed = failures(s);
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const suites = doc.ele('testsuites', {
    name: 'mremap-probe',
    tests: r.cases.length,
    failures: failed,
    errors: s.broken,
    skipped: s.skip,
    time: (r.elapsedMs / 1000).toFixed(3),
  });
  const suite = suites.ele('testsuite', {
    name: `mremap-probe on ${r.kernel.release}`,
    tests: r.cases.length,
    failures: failed,
    errors: s.broken,
    skipped: s.skip,
    time: (r.elapsedMs / 1000).toFixed(3),
    timestamp: r.startedAt,
  });
  const props = suite.ele('properties');
  const prop = (name: string, value: string | number) =>
    props.ele('property', { name, value: String(value) });
  prop('kernel.release', r.kernel.release);
  prop('kernel.arch', r.kernel.arch);
  prop('vm.max_map_count', r.limit.maxMapCount);
  prop('era.byVersion', r.era.byVersion);
  prop('era.byBehaviour', r.era.byBehaviour ?? 'none');
  for (const c of r.cases) {
    const tc = suite.ele('testcase', {
      classname: `mremap-probe.${c.family}`,
      name: c.id,
      time: ((c.elapsedMs ?? 0) / 1000).toFixed(4),
    });
    const details = [
      c.reason,
      ...c.differences,
      ...(c.repro ? [`reproduce: ${c.repro}`] : []),
    ].join('\n');
    if (c.verdict === 'skip') tc.ele('skipped', { message: c.reason });
    else if (c.verdict === 'broken')
      tc.ele('error', { message: c.reason, type: 'broken' }).txt(details);
    else if (c.verdict !== 'pass')
      tc.ele('failure', { message: c.reason, type: c.verdict }).txt(details);
  }
  return doc.end({ prettyPrint: true });
}
