import {
  EVENTS_PATH,
  TOKEN_HEADER,
  type ApiError,
  type EventName,
  type MailvaultApi,
  type RequestName,
} from '../src-main/api/contract';

declare global {
  interface Window {
    /** Set by the Electron preload; absent when the console runs in a browser via the web host. */
    mailvault?: MailvaultApi;
  }
}

/** The API as the console uses it: Electron IPC through the preload, else the local web host. */
export function createApiClient(): MailvaultApi {
  return window.mailvault ?? createWebClient(takeToken());
}

const TOKEN_KEY = 'mailvault.token';

/**
 * The web host hands the token over once, in the URL fragment (#token=…): keep it for this tab
 * only, and take it out of the address bar so it is not bookmarked or shared by accident.
 */
function takeToken(): string | undefined {
  const fromUrl = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

const failure = (code: ApiError['code'], message: string) => ({
  ok: false as const,
  error: { code, message },
});
const NO_TOKEN = 'No access token: open the address that “npm start” printed, token included.';

/** `base`: the host's origin, for callers outside its page (the contract tests in Node). */
export function createWebClient(token: string | undefined, base = ''): MailvaultApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let stream: AbortController | undefined;

  function deliver(block: string): void {
    let name = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    const targets = listeners.get(name as EventName);
    if (targets && data) for (const listener of targets) listener(JSON.parse(data));
  }

  /** Reads server-sent events with fetch (EventSource cannot send the token header); reconnects. */
  async function readEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const response = await fetch(`${base}${EVENTS_PATH}`, {
          headers: { [TOKEN_HEADER]: token ?? '' },
          signal,
        });
        if (response.status === 401 || response.status === 403) return;
        if (!response.body) throw new Error(`HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          buffer += chunk.value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            deliver(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        // Dropped or refused: retry below, unless we were told to stop.
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  return {
    async call(name: RequestName, req: unknown) {
      if (!token) return failure('unauthorized', NO_TOKEN);
      try {
        const response = await fetch(`${base}/api/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
          body: JSON.stringify(req),
        });
        return await response.json();
      } catch (error) {
        return failure(
          'unreachable',
          `The console host does not answer (${String(error)}). Is “npm start” still running?`,
        );
      }
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      if (token && !stream) {
        stream = new AbortController();
        void readEvents(stream.signal);
      }
      return () => {
        set.delete(listener as (payload: unknown) => void);
        if ([...listeners.values()].every((s) => s.size === 0)) {
          stream?.abort();
          stream = undefined;
        }
      };
    },
  };
}
