import type { SimContext } from './context';
import { deliver, flushDeferred, randomSize } from './delivery';
import { FLAG, FOLDER } from './system-folders';
import { createFolder, deleteMessages, emptyFolder, move, renameFolder, setFlag, tag } from './user-actions';

/**
 * Random activity over every mailbox, weighted like a working day's traffic: mostly deliveries,
 * then reading, moving, deleting, flagging and tagging, now and then folders made and tidied.
 */
export type ActivityKind =
  | 'deliver'
  | 'deliverShared'
  | 'read'
  | 'flag'
  | 'move'
  | 'tag'
  | 'delete'
  | 'createFolder'
  | 'renameFolder'
  | 'emptyFolder';

export const DEFAULT_WEIGHTS: Record<ActivityKind, number> = {
  deliver: 40,
  deliverShared: 6,
  read: 14,
  flag: 8,
  move: 10,
  tag: 6,
  delete: 9,
  createFolder: 3,
  renameFolder: 2,
  emptyFolder: 2,
};

/** One random operation, weighted like a working day's mailbox traffic. */
export async function step(sim: SimContext, weights: Record<ActivityKind, number>): Promise<ActivityKind> {
  const all = [...sim.mailboxes.values()];
  if (all.length === 0) throw new Error('no mailboxes to simulate: provision accounts first');
  const kind = sim.random.weighted(weights);
  const m = sim.random.pick(all);
  switch (kind) {
    case 'deliver':
      await deliver(sim, [m], randomSize(sim.random));
      break;
    case 'deliverShared': {
      const others = all.filter((x) => x !== m);
      const extra = others.length ? [sim.random.pick(others)] : [];
      await deliver(sim, [m, ...extra], randomSize(sim.random));
      break;
    }
    case 'read':
      await setFlag(sim, m, FLAG.unread, false);
      break;
    case 'flag':
      await setFlag(sim, m, FLAG.flagged, sim.random.chance(0.7));
      break;
    case 'move':
      await move(sim, m, sim.random.int(1, 3));
      break;
    case 'tag':
      await tag(sim, m);
      break;
    case 'delete':
      await deleteMessages(sim, m, sim.random.int(1, 2));
      break;
    case 'createFolder':
      await createFolder(sim, m);
      break;
    case 'renameFolder':
      await renameFolder(sim, m);
      break;
    case 'emptyFolder':
      await emptyFolder(sim, m, FOLDER.trash);
      break;
  }
  return kind;
}

/**
 * Runs `operations` random operations at about `perSecond`, retrying deferred deliveries as it
 * goes; stops early when `signal` aborts.
 */
export async function run(
  sim: SimContext,
  options: { operations: number; perSecond?: number; signal?: AbortSignal },
): Promise<void> {
  const interval = options.perSecond ? 1000 / options.perSecond : 0;
  const started = Date.now();
  for (let i = 0; i < options.operations && !options.signal?.aborted; i++) {
    await step(sim, DEFAULT_WEIGHTS);
    if (i % 20 === 0 && sim.deferred.length) await flushDeferred(sim);
    const due = started + (i + 1) * interval;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
}
