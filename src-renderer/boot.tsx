import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import type { Stores } from './stores';

/** React and the screens: a chunk of its own, loaded while the first data is on its way. */
export function boot(stores: Stores, container: HTMLElement): void {
  createRoot(container).render(
    <StrictMode>
      <App stores={stores} />
    </StrictMode>,
  );
}
