import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labInfoFromDir, labIsRunning, startLab } from './lab';
import type { LabInfo } from './types';

/**
 * The app's built-in sandbox server: the lab that `mailvault lab up` left running if there is
 * one, else a fresh one-server lab with a few populated accounts, stopped with the app.
 */
export const DEFAULT_LAB_DIR = path.join(os.homedir(), '.mailvault', 'lab');

export interface Sandbox {
  info: LabInfo;
  stop(): Promise<void>;
}

export async function startSandbox(opts: { dir?: string; log?: (line: string) => void } = {}): Promise<Sandbox> {
  const shared = opts.dir ?? DEFAULT_LAB_DIR;
  if (labIsRunning(shared)) {
    const info = labInfoFromDir(shared)!;
    opts.log?.(`using the lab already running in ${shared}`);
    return { info, stop: async () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-sandbox-'));
  const lab = await startLab({ dir, servers: 1, log: opts.log });
  // Accounts and mail come from the mailbox simulator, which waits on the redo log codec
  // (src-main/lab/simulator/simulator.ts, excluded from the build until it lands).
  return {
    info: lab.info,
    stop: async () => {
      await lab.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
