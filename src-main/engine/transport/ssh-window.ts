/**
 * ssh2 keeps every channel's receive window at 2 MiB and tops it up with a packet each MiB
 * received: ~1,200 packets for a 1.1 GiB backup, each its own socket write, 0.4 ms of the main
 * thread apiece in the lab (bench/full-backup.ts over SSH, CPU profile). Called on a channel's
 * 'data', this tops the window up to `bytes` once half of it is used, before ssh2 would.
 *
 * The window is what the server may send ahead of what is read: a channel that is paused gets no
 * 'data', so no top-up, and holds at most `bytes`. This reaches into ssh2's channel state
 * (incoming.window, outgoing.id, the protocol's channelWindowAdjust); where that is not there it
 * does nothing (an agent's command, say) and ssh2 goes on adjusting the window itself.
 */
export function widenWindow(channel: object, bytes: number): void {
  const inner = channel as unknown as {
    incoming?: { window?: unknown };
    outgoing?: { id?: unknown; state?: unknown };
    _client?: { _protocol?: { channelWindowAdjust?: (id: number, amount: number) => void } };
  };
  const protocol = inner._client?._protocol;
  const window = inner.incoming?.window;
  const id = inner.outgoing?.id;
  if (typeof window !== 'number' || typeof id !== 'number' || !protocol?.channelWindowAdjust) return;
  if (inner.outgoing?.state === 'closed' || window > bytes / 2) return;
  const amount = bytes - window;
  inner.incoming!.window = window + amount;
  protocol.channelWindowAdjust(id, amount);
}
