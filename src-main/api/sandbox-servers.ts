import type { LabInfo, LabServerInfo } from '../lab/types';
import type { ServerSummary } from './contract';
import type { EventHub } from './events';

/** What `startSandbox` (src-main/lab/sandbox.ts) returns; injected so this file never starts a lab itself. */
export interface RunningSandbox {
  info: LabInfo;
  stop(): Promise<void>;
}

export type SandboxOutcome = { ok: true; info: LabInfo } | { ok: false; message: string };

/** The built-in sandbox seen as servers of the console: shown as "starting" until its lab is up. */
export interface SandboxServers {
  list(): ServerSummary[];
  /** Settles (never rejects) once the sandbox is up or has failed to start. */
  ready: Promise<SandboxOutcome>;
  stop(): Promise<void>;
}

type Phase =
  | { phase: 'starting' }
  | { phase: 'running'; sandbox: RunningSandbox }
  | { phase: 'failed'; message: string }
  | { phase: 'stopped' };

export function startSandboxServers(start: () => Promise<RunningSandbox>, events?: EventHub): SandboxServers {
  let state: Phase = { phase: 'starting' };
  let stopping = false;
  const ready = start().then(
    async (sandbox): Promise<SandboxOutcome> => {
      if (stopping) {
        await sandbox.stop();
        return { ok: false, message: 'The sandbox was stopped while it started.' };
      }
      state = { phase: 'running', sandbox };
      events?.emit('servers.changed', {});
      return { ok: true, info: sandbox.info };
    },
    (error: unknown): SandboxOutcome => {
      const message = error instanceof Error ? error.message : String(error);
      state = { phase: 'failed', message };
      events?.emit('servers.changed', {});
      return { ok: false, message };
    },
  );
  return {
    ready,
    list() {
      switch (state.phase) {
        case 'starting':
          return [{ ...placeholder, status: 'starting', detail: 'Starting MariaDB, OpenLDAP and OpenSSH' }];
        case 'failed':
          return [{ ...placeholder, status: 'error', detail: state.message }];
        case 'running':
          return state.sandbox.info.servers.map((server, i, all) => labServerSummary(server, i, all.length));
        case 'stopped':
          return [];
      }
    },
    async stop() {
      stopping = true;
      await ready;
      const current = state;
      state = { phase: 'stopped' };
      if (current.phase === 'running') await current.sandbox.stop();
    },
  };
}

const placeholder = {
  id: 'lab',
  name: 'Sandbox',
  hostname: '',
  access: 'ssh',
  sandbox: true,
} as const satisfies Partial<ServerSummary>;

/** A lab server as the console lists it: reached over SSH, like a real server from a workstation. */
export function labServerSummary(server: LabServerInfo, index: number, count: number): ServerSummary {
  return {
    id: count === 1 ? 'lab' : `lab-${index + 1}`,
    name: count === 1 ? 'Sandbox' : `Sandbox ${index + 1}`,
    hostname: server.hostname,
    access: 'ssh',
    address: `${server.ssh.user}@${server.ssh.host}:${server.ssh.port}`,
    status: 'online',
    sandbox: true,
  };
}
