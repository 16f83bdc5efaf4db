import { useEffect } from 'react';
import type { Stores } from '../stores';

/** The server id that stands for every server (in the view hash: #timeline/*). */
export const ALL_SERVERS = '*';

/** The timeline's server picker: one server, or all of them (one lane each); defaults to the first. */
export function TimelinePicker({ stores }: { stores: Stores }) {
  const servers = stores.console((s) => s.servers);
  const serverId = stores.ui((s) => s.serverId);
  useEffect(() => {
    if (serverId === ALL_SERVERS) return;
    if (servers.length > 0 && !servers.some((s) => s.id === serverId))
      stores.ui.getState().show('timeline', servers[0]!.id);
  }, [servers, serverId, stores]);
  return (
    <label className="picker">
      <span>Server</span>
      <select
        data-testid="server-picker"
        value={serverId ?? ''}
        onChange={(e) => stores.ui.getState().show('timeline', e.target.value)}
      >
        {servers.length > 1 && <option value={ALL_SERVERS}>All servers</option>}
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
