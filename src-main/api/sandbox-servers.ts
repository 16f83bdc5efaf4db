import type { LabInfo, LabServerInfo } from '../lab/types';
import path from 'node:path';
import type { ServerProfile, ServerSummary } from './contract';
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
  /** The running lab's servers as profiles the console can back up (over SSH, key pinned). */
  profiles(): ServerProfile[];
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
    profiles() {
      if (state.phase !== 'running') return [];
      const info = state.sandbox.info;
      return info.servers.map((server, i, all) => labServerProfile(server, i, all.length, info.dir));
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

/** A lab server as a saved server would be: SSH with the lab's key, its host key pinned, a target in the lab dir. */
export function labServerProfile(
  server: LabServerInfo,
  index: number,
  count: number,
  labDir: string,
): ServerProfile {
  const summary = labServerSummary(server, index, count);
  return {
    id: summary.id,
    name: summary.name,
    access: 'ssh',
    ssh: {
      host: server.ssh.host,
      port: server.ssh.port,
      user: server.ssh.user,
      auth: 'key',
      keyPath: server.ssh.privateKeyPath,
      hostKey: server.ssh.hostKeyFingerprint,
    },
    zimbraHome: server.zimbraHome,
    // Where `mailvault zmbackup -s lab` writes too, so the CLI and the console see the same sessions.
    target: path.join(labDir, 'backup'),
    hostname: server.hostname,
    sandbox: true,
  };
}
