/**
 * The console application itself: what it is and its log.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

export interface AppInfo {
  name: 'Mailvault';
  version: string;
  /** Which shell serves the console: the Electron window or the local web host in a browser. */
  shell: 'electron' | 'web';
  /**
   * Where secrets (SSH key passphrases) can be kept: encrypted by the OS keyring, `weak` (Linux
   * without a keyring: a hard-coded key, refused unless accepted), or nowhere (the web console).
   */
  secrets: 'encrypted' | 'weak' | 'none';
}

export type LogLevel = 'info' | 'warn' | 'error';

/** One line of the console's log view (never a secret). */
export interface LogLine {
  seq: number;
  at: number;
  level: LogLevel;
  serverId?: string;
  message: string;
}
