import { useEffect } from 'react';
import type { Stores } from '../stores';

/** Which server a screen is about; defaults to the first one listed. */
export function ServerPicker({ stores, testId = 'server-picker' }: { stores: Stores; testId?: string }) {
  const servers = stores.console((s) => s.servers);
  const serverId = stores.ui((s) => s.serverId);
  useEffect(() => {
    if (servers.length > 0 && !servers.some((s) => s.id === serverId))
      stores.ui.getState().show(stores.ui.getState().screen, servers[0]!.id);
  }, [servers, serverId, stores]);
  return (
    <label className="picker">
      <span>Server</span>
      <select
        data-testid={testId}
        value={serverId ?? ''}
        onChange={(e) => stores.ui.getState().show(stores.ui.getState().screen, e.target.value)}
      >
        {servers.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
            {s.hostname ? ` — ${s.hostname}` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}
