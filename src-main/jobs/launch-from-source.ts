import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LaunchWorker } from './job-runner';
import { WORKER_NODE_FLAGS } from './worker-flags';

/**
 * Starts the backup worker from the TypeScript sources through tsx (the web console of
 * `npm start`, the tests). The Electron shell starts its built copy instead (out/main).
 */
export function launchWorkerFromSource(env: NodeJS.ProcessEnv = process.env): LaunchWorker {
  const worker = fileURLToPath(new URL('./backup-worker.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx/esm');
  return () =>
    fork(worker, [], {
      execArgv: [...WORKER_NODE_FLAGS, '--import', tsx, '--no-warnings=ExperimentalWarning'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env,
    });
}
