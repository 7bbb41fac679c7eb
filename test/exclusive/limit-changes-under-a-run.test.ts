// A run that sees vm.max_map_count change under it (another probe lowered or
// restored it) says so and skips the cases it could not vouch for: never
// `broken`, never a kernel verdict. Needs root (it writes the real sysctl).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { machineFacts } from '../../lib/facts.js';
import { kernelFacts } from '../../lib/kernel.js';
import { LabPool, watchLimit } from '../../lib/run/pool.js';
import { catalogue, filterScenarios } from '../../lib/scenarios/index.js';
import { isLinux, isRoot } from '../helpers.js';

const SYSCTL = '/proc/sys/vm/max_map_count';
const read = () => Number(readFileSync(SYSCTL, 'utf8').trim());

describe.skipIf(!isLinux || !isRoot)('the limit changing under a run (root)', () => {
  const original = isRoot ? read() : 0;
  afterEach(() => {
    if (read() !== original) writeFileSync(SYSCTL, `${original}\n`);
  });

  it('cases after the change are skipped with the reason; those before are judged', async () => {
    const k = kernelFacts();
    const facts = machineFacts(k, k.maxMapCount);
    const scenarios = filterScenarios(catalogue(), ['fixed/dst-mid/old-mid/shrink@*']);
    const pool = new LabPool({ facts, limitChanged: watchLimit(facts.maxMapCount) });
    let runs;
    try {
      // Another probe lowers the limit while the fifth case is about to run.
      runs = await pool.runAll(scenarios, (done) => {
        if (done === 4) writeFileSync(SYSCTL, `${facts.maxMapCount - 1000}\n`);
      });
    } finally {
      pool.close();
      writeFileSync(SYSCTL, `${original}\n`);
    }
    const statuses = runs.map((r) => r.status);
    expect(statuses.filter((s) => s === 'broken')).toEqual([]);
    const skipped = runs.filter((r) => r.status === 'skip');
    expect(skipped.length).toBe(scenarios.length - 4);
    for (const r of skipped) {
      expect((r as { reason: string }).reason).toMatch(
        new RegExp(
          `vm.max_map_count changed under the run \\(${facts.maxMapCount} -> ${facts.maxMapCount - 1000}\\)`,
        ),
      );
    }
    expect(statuses.filter((s) => s === 'observed')).toHaveLength(4);
  });
});
