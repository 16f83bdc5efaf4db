/**
 * Pruning a target: the rule and what it would remove.
 * Part of the console ⇄ main contract: import it from ../contract, which re-exports every part.
 * Types and string constants only (main, preload and renderer all load it): no Node, no Electron, no DOM.
 */

export type PruneRule =
  | { kind: 'age'; amount: number; unit: 'minutes' | 'hours' | 'days' | 'months' | 'years' }
  | { kind: 'label'; label: string };

export interface PrunePlan {
  /** Sessions that go, oldest first. */
  sessions: string[];
  redoLogs: string[];
  /** Sessions older than this go (age rules). */
  cutoffMs?: number;
  /** What the administrator should weigh before confirming (restores this makes impossible). */
  warnings?: string[];
}
