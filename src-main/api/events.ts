import type { ApiEvents, EventMessage, EventName } from './contract';

/**
 * Pushed events, fanned out to every connected console (the Electron window, web host streams).
 * A listener that throws is dropped from this delivery only; the others still get the event.
 */
export interface EventHub {
  emit<E extends EventName>(name: E, payload: ApiEvents[E]): void;
  subscribe(listener: (message: EventMessage) => void): () => void;
}

export function createEventHub(log?: (line: string) => void): EventHub {
  const listeners = new Set<(message: EventMessage) => void>();
  return {
    emit(name, payload) {
      const message = { name, payload } as EventMessage;
      for (const listener of [...listeners]) {
        try {
          listener(message);
        } catch (error) {
          log?.(`event listener failed on ${name}: ${String(error)}`);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
