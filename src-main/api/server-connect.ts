import type { TransportProfile } from '../engine/transport';
import type { ServerProfile } from './contract';

/**
 * How to reach one server, as the connection test and the backup worker need it: everything of
 * the profile plus the passphrase (opened from the secret store just before use, passed to a
 * worker over its IPC channel, never on a command line or in the environment).
 */
export interface ConnectSpec {
  name: string;
  access: 'local' | 'ssh';
  zimbraHome: string;
  ssh?: {
    host: string;
    port: number;
    user: string;
    keyPath?: string;
    passphrase?: string;
    /** Pinned; the only key accepted when set. */
    hostKey?: string;
  };
}

export function connectSpecOf(profile: ServerProfile, passphrase?: string, hostKey?: string): ConnectSpec {
  const ssh = profile.ssh;
  return {
    name: profile.hostname ?? profile.name,
    access: profile.access,
    zimbraHome: profile.zimbraHome,
    ssh: ssh && {
      host: ssh.host,
      port: ssh.port,
      user: ssh.user,
      keyPath: ssh.auth === 'key' ? ssh.keyPath : undefined,
      passphrase,
      hostKey: hostKey ?? ssh.hostKey,
    },
  };
}

export function transportProfileOf(spec: ConnectSpec): TransportProfile {
  if (spec.access === 'local' || !spec.ssh) return { kind: 'local', name: spec.name };
  return {
    kind: 'ssh',
    name: spec.name,
    host: spec.ssh.host,
    port: spec.ssh.port,
    username: spec.ssh.user,
    privateKeyPath: spec.ssh.keyPath,
    passphrase: spec.ssh.passphrase,
    useAgent: spec.ssh.keyPath === undefined,
    hostKeyFingerprint: spec.ssh.hostKey,
  };
}
