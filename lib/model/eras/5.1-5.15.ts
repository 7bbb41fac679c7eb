// Era 5.1-5.15: ea2c3f6f5545 adds "(map_count + 2) >= max_map_count - 3" in
// mremap_to(), under the mmap lock, before (a). The old-VMA lookup still comes
// after (a) and (b).
import { Run } from '../steps.js';
import type { EraModel } from './index.js';
import { mremapBefore516 } from './before-5.16.js';

export const era51to515: EraModel = (state, call, env) =>
  Run.predict(state, call, env, (r) => mremapBefore516(r, { earlyCheck: true }));
