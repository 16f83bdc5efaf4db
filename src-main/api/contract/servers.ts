/**
 * Servers: the list the servers screen shows, saved profiles and connection tests.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */
import type { SessionRef, TimeRange } from './sessions';
import type { StandbyGlance } from './standby';

/** How the engine reaches a server: on the server itself, or over SSH from this machine. */
export type ServerAccess = 'local' | 'ssh';

export type ServerStatus = 'starting' | 'online' | 'offline' | 'error' | 'unknown';

/** What the servers screen shows at a glance for one server. */
export interface BackupOverview {
  lastFull: SessionRef | null;
  lastIncremental: SessionRef | null;
  /** The latest stretch of any-second restore, if any. */
  coverage: TimeRange | null;
  /** Sessions in the target that did not complete cleanly. */
  troubled: number;
  sessions: number;
  /** Why the target could not be read, if it could not. */
  problem?: string;
}

export interface ServerSummary {
  /** Stable id within this console (what `-s <name>` names on the command line). */
  id: string;
  name: string;
  /** zimbra_server_hostname of the server. */
  hostname: string;
  access: ServerAccess;
  /** Where SSH connects, as `user@host:port` (absent for local access, or while unknown). */
  address?: string;
  status: ServerStatus;
  /** Why the status is what it is, when that needs saying (an error, a start in progress). */
  detail?: string;
  /** The built-in sandbox server started with the app. */
  sandbox?: boolean;
  /** Saved by the administrator (editable, removable). */
  saved?: boolean;
  /** The backup target directory (on this machine). */
  target?: string;
  backups?: BackupOverview;
  /** A job running on this server now. */
  runningJobId?: string;
  /** Its standby at a glance, when one is linked (standby.link). */
  standby?: StandbyGlance;
}

/** SSH settings of a saved server. No secret is ever part of it. */
export interface SshSettings {
  host: string;
  port: number;
  user: string;
  /** The SSH agent (SSH_AUTH_SOCK), or a private key file. */
  auth: 'agent' | 'key';
  keyPath?: string;
  /** The pinned host key, SHA256:… as `ssh-keygen -lf` prints it; set once confirmed. */
  hostKey?: string;
}

/** A saved server as stored and shown (never with secrets). */
export interface ServerProfile {
  id: string;
  name: string;
  access: ServerAccess;
  ssh?: SshSettings;
  /** Where Zimbra is installed on the server. */
  zimbraHome: string;
  /** The backup target directory on this machine. */
  target: string;
  /** zimbra_server_hostname, learned by the last successful connection test. */
  hostname?: string;
  /** A key passphrase is stored (encrypted). */
  hasPassphrase?: boolean;
  sandbox?: boolean;
}

/** What the add/edit form sends. `passphrase`: a new one to store, null to forget it, absent to keep. */
export type ServerProfileInput = Omit<ServerProfile, 'id' | 'hostname' | 'hasPassphrase' | 'sandbox'> & {
  id?: string;
  passphrase?: string | null;
  /** Store the passphrase even though this machine's secret storage is `weak`. */
  acceptWeakSecretStorage?: boolean;
};

export type ConnectionStep = 'ssh' | 'localconfig' | 'mariadb' | 'ldap' | 'volumes' | 'accounts';

export interface ConnectionStepResult {
  step: ConnectionStep;
  /** `confirm`: the host key must be confirmed by the administrator before going on. */
  outcome: 'ok' | 'failed' | 'confirm' | 'skipped';
  detail: string;
}

export interface ConnectionTest {
  ok: boolean;
  steps: ConnectionStepResult[];
  /** The host key the server offered (SSH). */
  fingerprint?: string;
  hostname?: string;
  accounts?: number;
}
