import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests, and integration tests that start real MariaDB, slapd and sshd.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Each file starts its own lab; two cores on CI, so run two files at once at most.
          maxWorkers: 2,
        },
      },
      {
        // The console in Chromium over the web host; needs the built renderer (npx electron-vite build).
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
      },
    ],
  },
});
