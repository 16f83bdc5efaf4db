import type {
  ApiEvents,
  ApiResult,
  EventName,
  MailvaultApi,
  RequestName,
  RequestOf,
  ResponseOf,
} from '../../../src-main/api/contract';

type Answer<N extends RequestName> = (
  req: RequestOf<N>,
) => ApiResult<ResponseOf<N>> | Promise<ApiResult<ResponseOf<N>>>;

/** An API for store tests: answers set per request, calls recorded, events pushed by the test. */
export function fakeApi() {
  const answers = new Map<RequestName, Answer<RequestName>>();
  const calls: { name: RequestName; req: unknown }[] = [];
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const api: MailvaultApi = {
    async call(name, req) {
      calls.push({ name, req });
      const answer = answers.get(name);
      if (!answer)
        return { ok: false, error: { code: 'unknown-request', message: `no fake answer for ${name}` } };
      return (await answer(req as never)) as never;
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  };
  return {
    api,
    calls,
    answer<N extends RequestName>(name: N, answer: Answer<N>) {
      answers.set(name, answer as unknown as Answer<RequestName>);
    },
    emit<E extends EventName>(event: E, payload: ApiEvents[E]) {
      for (const listener of listeners.get(event) ?? []) listener(payload);
    },
    callsOf: (name: RequestName) => calls.filter((c) => c.name === name).map((c) => c.req),
  };
}

export const ok = <T>(value: T) => ({ ok: true as const, value });
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
