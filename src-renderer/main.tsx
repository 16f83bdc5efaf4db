import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApiClient } from './api-client';
import { App } from './App';
import { createConsoleStore } from './stores/console';
import './styles.css';

const useConsole = createConsoleStore(createApiClient());
void useConsole.getState().load();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App useConsole={useConsole} />
  </StrictMode>,
);
