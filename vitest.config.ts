import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every test file in its own forked process: the syscall tests change the
    // process's own mappings and must not share one with other files.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
