import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labInfoFromDir, labIsRunning, startLab } from './lab';
import { MailboxSimulator } from './simulator/simulator';
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

export async function populateLab(
  info: LabInfo,
  o: { accounts: number; messages: number; seed?: number | string },
): Promise<void> {
  for (const [i, server] of info.servers.entries()) {
    const sim = await MailboxSimulator.open(server, { seed: `${o.seed ?? 1}:${i}` });
    try {
      const names = Array.from(
        { length: o.accounts },
        (_, n) => `user${n + 1}${info.servers.length > 1 ? `.s${i + 1}` : ''}`,
      );
      await sim.provision(names);
      await sim.populate(o.messages);
      await sim.sync();
    } finally {
      await sim.close();
    }
  }
}

export async function startSandbox(
  opts: { dir?: string; log?: (line: string) => void } = {},
): Promise<Sandbox> {
  const shared = opts.dir ?? DEFAULT_LAB_DIR;
  if (labIsRunning(shared)) {
    const info = labInfoFromDir(shared)!;
    opts.log?.(`using the lab already running in ${shared}`);
    return { info, stop: async () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-sandbox-'));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab({ dir, servers: 1, log: opts.log });
  } catch (error) {
    removeDir();
    throw error;
  }
  try {
    opts.log?.('provisioning sandbox accounts');
    await populateLab(lab.info, { accounts: 8, messages: 40 });
  } catch (error) {
    await lab.stop();
    removeDir();
    throw error;
  }
  return {
    info: lab.info,
    stop: async () => {
      await lab.stop();
      removeDir();
    },
  };
}
