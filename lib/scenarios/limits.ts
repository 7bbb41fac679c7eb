// Growing moves that a limit refuses: RLIMIT_AS, RLIMIT_MEMLOCK and the
// overcommit charge. Before 6.17 the first two are checked after (a) freed the
// destination; the charge is after (a) in every era.
import { moveCase } from './geometry.js';
import type { Family, Scenario } from './types.js';

function limits(): Scenario[] {
  return [
    moveCase({
      family: 'limits-as',
      dst: 'whole',
      old: 'whole',
      size: 'grow',
      modifier: 'as-tight',
      summary:
        'a grow that fits RLIMIT_AS only once the destination is freed: succeeds before 6.17 (checked after (a)), ENOMEM with nothing touched from 6.17',
      extra: { limits: { as: { headroom: 1 } } },
    }),
    moveCase({
      family: 'limits-as',
      dst: 'sparse',
      old: 'whole',
      size: 'grow',
      modifier: 'as-tight',
      summary:
        'a grow over RLIMIT_AS even after (a): ENOMEM after (a) destroyed the destination before 6.17, before (a) since',
      extra: { limits: { as: { headroom: 0 } } },
    }),
    moveCase({
      family: 'limits-as',
      dst: 'unmapped',
      old: 'whole',
      size: 'grow',
      modifier: 'as-tight',
      summary: 'a grow over RLIMIT_AS to free space: ENOMEM, nothing to destroy',
      extra: { limits: { as: { headroom: 1 } } },
    }),
    moveCase({
      family: 'limits-memlock',
      dst: 'whole',
      old: 'whole',
      size: 'grow',
      modifier: 'memlock-tight',
      summary:
        'an mlocked VMA grows past RLIMIT_MEMLOCK: EAGAIN after (a) before 6.17, before (a) since',
      lockOld: true,
      extra: {
        limits: { memlock: { headroom: 1 } },
        requires: { dropCaps: ['CAP_IPC_LOCK'] },
      },
    }),
    {
      id: 'limits-commit/dst-sparse/old-whole/grow+beyond-commit@none',
      family: 'limits-commit',
      summary:
        'a grow larger than RAM + swap: the VM_ACCOUNT overcommit charge fails after (a) in every era',
      layout: [
        { label: 'old', page: 2, pages: 2, prot: 'rw', backing: 'anon' },
        { label: 'dst-a', page: 8, pages: 1, prot: 'rw', backing: 'anon' },
      ],
      call: {
        old: 2,
        oldPages: 2,
        newPages: 'beyond-commit',
        flags: ['MAYMOVE', 'FIXED'],
        newAddr: 8,
      },
      pressure: null,
      requires: { overcommitNot: [1] },
      windowPages: 'beyond-commit',
    },
  ];
}

const all = limits();
const of = (family: string) => all.filter((s) => s.family === family);

export const limitFamilies: Family[] = [
  {
    name: 'limits-as',
    exercises:
      'grow beyond RLIMIT_AS (may_expand_vm, ENOMEM): after (a) before 6.17, before (a) from 6.17',
    scenarios: of('limits-as'),
  },
  {
    name: 'limits-memlock',
    exercises:
      'grow of an mlocked VMA beyond RLIMIT_MEMLOCK (EAGAIN): after (a) before 6.17, before (a) from 6.17',
    scenarios: of('limits-memlock'),
  },
  {
    name: 'limits-commit',
    exercises:
      'the overcommit charge (VM_ACCOUNT, security_vm_enough_memory_mm, ENOMEM): after (a) in every era',
    scenarios: of('limits-commit'),
  },
];
