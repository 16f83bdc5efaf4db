/**
 * How requests and events travel: empty parameters, errors as data, the IPC channels and the web host's
 * names.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

/** Parameters of a request that takes none. */
export type NoParams = Record<string, never>;

export type ApiErrorCode =
  | 'bad-request'
  | 'unknown-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'unreachable'
  | 'internal';

export interface ApiError {
  code: ApiErrorCode;
  /** A sentence an administrator can act on. */
  message: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Electron IPC channels (preload ⇄ main). */
export const IPC_CALL = 'mailvault:call';
export const IPC_EVENT = 'mailvault:event';

/** Web host: the header that carries the session token, and the event stream's path. */
export const TOKEN_HEADER = 'x-mailvault-token';
export const EVENTS_PATH = '/api/events';
