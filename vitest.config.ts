import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Process warnings are bugs: a test during which one is emitted fails (after execa).
    setupFiles: ['test/setup/warnings.ts'],
  },
});
