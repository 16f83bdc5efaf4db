/**
 * The one contract between the console (renderer) and the main process, whichever way it travels:
 * Electron IPC (preload) or the local web host (HTTP + server-sent events). Everything here is
 * JSON: requests, responses and pushed events. Errors cross as data, never as thrown exceptions.
 *
 * This file is imported by main, preload and renderer alike, so it holds types and a few string
 * constants only: no Node, no Electron, no DOM.
 */

/** Parameters of a request that takes none. */
export type NoParams = Record<string, never>;

export interface AppInfo {
  name: 'Mailvault';
  version: string;
  /** Which shell serves the console: the Electron window or the local web host in a browser. */
  shell: 'electron' | 'web';
}

/** How the engine reaches a server: on the server itself, or over SSH from this machine. */
export type ServerAccess = 'local' | 'ssh';

export type ServerStatus = 'starting' | 'online' | 'offline' | 'error';

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
}

export interface ApiRequests {
  'app.info': { req: NoParams; res: AppInfo };
  'servers.list': { req: NoParams; res: ServerSummary[] };
}

export type RequestName = keyof ApiRequests;
export type RequestOf<N extends RequestName> = ApiRequests[N]['req'];
export type ResponseOf<N extends RequestName> = ApiRequests[N]['res'];

export interface JobProgress {
  accountsDone: number;
  accountsTotal: number;
  bytes: number;
}

/** What a running job reports; the full progress model comes with the jobs themselves. */
export type JobEvent =
  | { jobId: string; at: number; kind: 'started'; operation: string; serverId: string }
  | { jobId: string; at: number; kind: 'progress'; progress: JobProgress }
  | { jobId: string; at: number; kind: 'finished'; result: { ok: true } | { ok: false; error: ApiError } };

export interface ApiEvents {
  'job.event': JobEvent;
  /** The server list changed (a server was added, or one's status changed): ask again. */
  'servers.changed': NoParams;
}

export type EventName = keyof ApiEvents;
export type EventMessage = { [E in EventName]: { name: E; payload: ApiEvents[E] } }[EventName];

export type ApiErrorCode =
  'bad-request' | 'unknown-request' | 'unauthorized' | 'forbidden' | 'unreachable' | 'internal';

export interface ApiError {
  code: ApiErrorCode;
  /** A sentence an administrator can act on. */
  message: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** What the preload exposes as `window.mailvault`, and what the web client implements too. */
export interface MailvaultApi {
  call<N extends RequestName>(name: N, req: RequestOf<N>): Promise<ApiResult<ResponseOf<N>>>;
  /** Subscribes to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}

/** Electron IPC channels (preload ⇄ main). */
export const IPC_CALL = 'mailvault:call';
export const IPC_EVENT = 'mailvault:event';

/** Web host: the header that carries the session token, and the event stream's path. */
export const TOKEN_HEADER = 'x-mailvault-token';
export const EVENTS_PATH = '/api/events';
