// `mremap-probe explain`: the model's step trace for one case, without the lab.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

describe('explain', () => {
  it('shows the destination and the old tail unmapped before the ENOMEM in pre-5.1', () => {
    const r = cli([
      'explain',
      'fixed/dst-mid/old-mid/shrink@M-4',
      '--era',
      'pre-5.1',
      '--max-map-count',
      '65530',
    ]);
    expect(r.status).toBe(0);
    const out = r.stdout;
    const a = out.indexOf('(a) do_munmap(new_addr, new_len)');
    const b = out.indexOf('(b) do_munmap(addr + new_len, old_len - new_len)');
    const fail = out.indexOf('-> ENOMEM');
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    expect(fail).toBeGreaterThan(b);
    expect(out).toMatch(/move_vma\(\)\n\s+map_count 65528 >= max_map_count 65530 - 3 {2}-> ENOMEM/);
    expect(out).toMatch(/result: ENOMEM after mappings were destroyed/);
  });

  it('an unknown case is a usage error', () => {
    const r = cli(['explain', 'fixed/nothing@M']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no case "fixed\/nothing@M"/);
  });
});
