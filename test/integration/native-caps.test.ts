// One lab child serves cases with any capabilities: a case that gives up a
// capability gives it up from the child's effective set for that case only,
// and the next case that keeps it has it again. Checked with the move to
// address 0, which CAP_SYS_RAWIO decides (mmap_min_addr).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { machineFacts } from '../../lib/facts.js';
import { kernelFacts } from '../../lib/kernel.js';
import type { CaseRun } from '../../lib/observation.js';
import { LabPool } from '../../lib/run/pool.js';
import { catalogue } from '../../lib/scenarios/index.js';
import type { Scenario } from '../../lib/scenarios/types.js';
import { isLinux } from '../helpers.js';

const CAP_SYS_RAWIO = 17n;

describe.skipIf(!isLinux)('capabilities given up per case, in one lab child', () => {
  it('gives CAP_SYS_RAWIO up for one case and has it back for the next', (ctx) => {
    const k = kernelFacts();
    const facts = machineFacts(k, k.maxMapCount);
    if (!(facts.capEff & (1n << CAP_SYS_RAWIO))) ctx.skip('this process has no CAP_SYS_RAWIO');
    const mmapMinAddr = Number(readFileSync('/proc/sys/vm/mmap_min_addr', 'utf8').trim());
    if (!(mmapMinAddr > 0)) ctx.skip('vm.mmap_min_addr is 0: address 0 needs no capability');
    const without = catalogue().find((s) => s.id === 'lowaddr/dst-zero/old-mid/shrink@none')!;
    expect(without.requires?.dropCaps).toEqual(['CAP_SYS_RAWIO']);
    const { dropCaps: _, ...requires } = without.requires!;
    const kept: Scenario = {
      ...without,
      id: 'lowaddr/dst-zero/old-mid/shrink+rawio@none',
      requires,
    };
    const pool = new LabPool({ facts });
    const errno = (r: CaseRun) => {
      expect(r.status).toBe('observed');
      return r.status === 'observed' ? (r.obs.ret.ok ? 'ok' : r.obs.ret.errno) : r.reason;
    };
    try {
      const seen = [without, kept, without, kept].map((s) => {
        const r = pool.run(s);
        if (r.status === 'observed') {
          expect(r.inputs.capSysRawio).toBe(s === kept);
        }
        return errno(r);
      });
      expect(seen).toEqual(['EPERM', 'ok', 'EPERM', 'ok']);
      // One child ran all four.
      expect(pool.environments()).toHaveLength(1);
    } finally {
      pool.close();
    }
  });
});
