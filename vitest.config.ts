import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every test file in its own forked process: the syscall tests change the
    // process's own mappings and must not share one with other files.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'] },
      },
      {
        // Tests that change vm.max_map_count for the whole machine run alone,
        // after everything else: a lowered limit would break fills elsewhere.
        extends: true,
        test: {
          name: 'exclusive',
          include: ['test/exclusive/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
        },
      },
    ],
  },
});
