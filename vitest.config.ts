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
        // Tests that change machine-wide state run alone, after everything
        // else: a lowered vm.max_map_count would break fills elsewhere, and a
        // TCG guest takes the CPUs and moves Committed_AS for every other test.
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
