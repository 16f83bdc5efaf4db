import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests, and integration tests that start real MariaDB, slapd and sshd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Each file starts its own lab; two cores on CI, so run two files at once at most.
          maxWorkers: 2,
          // Projects with different worker limits run as separate groups, one after the other.
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Fault injection (issue 9): kills, a full target, servers stopped mid-job, two writers
        // at once, on real lab servers. One file at a time: kill timings need the cores.
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
          sequence: { groupOrder: 3 },
        },
      },
      {
        // The console in Chromium over the web host; needs the built renderer (npx electron-vite build).
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 240_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
