import type { AppInfo, ServerSummary } from '../../../src-main/api/contract';
import { createEventHub } from '../../../src-main/api/events';
import { createDispatch, type ApiContext, type Handlers } from '../../../src-main/api/handlers';

/** Servers as the console would list them, without any lab behind them. */
export const FAKE_SERVERS: ServerSummary[] = [
  { id: 'mail1', name: 'Mail 1', hostname: 'mail1.example.com', access: 'local', status: 'online' },
  {
    id: 'mail2',
    name: 'Mail 2',
    hostname: 'mail2.example.com',
    access: 'ssh',
    address: 'root@mail2.example.com:22',
    status: 'offline',
  },
];

export const FAKE_INFO: AppInfo = { name: 'Mailvault', version: '0.0.0-test', shell: 'web', secrets: 'none' };

/** Handlers and events over a server list the test can change. */
export function fakeApi(servers: ServerSummary[] = FAKE_SERVERS) {
  const state = { servers };
  const events = createEventHub();
  const handlers: ApiContext = {
    'app.info': () => FAKE_INFO,
    'servers.list': () => state.servers,
    'jobs.list': () => [],
  };
  const dispatch = createDispatch(handlers);
  /** Adds or replaces a handler. */
  const answer = <N extends keyof Handlers>(name: N, handler: Handlers[N]) => {
    (handlers as Record<string, unknown>)[name] = handler;
  };
  return { state, events, dispatch, answer };
}
