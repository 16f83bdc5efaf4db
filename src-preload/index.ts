import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_CALL, IPC_EVENT, type EventMessage, type MailvaultApi } from '../src-main/api/contract';

/**
 * Runs sandboxed (bundled to CommonJS, Electron only): exposes the contract's `call` and `on` as
 * `window.mailvault`, and nothing else — no ipcRenderer, no event objects, no Node.
 */
const api: MailvaultApi = {
  call: (name, req) => ipcRenderer.invoke(IPC_CALL, name, req),
  on(event, listener) {
    const forward = (_event: IpcRendererEvent, message: EventMessage) => {
      if (message.name === event) listener(message.payload as Parameters<typeof listener>[0]);
    };
    ipcRenderer.on(IPC_EVENT, forward);
    return () => void ipcRenderer.removeListener(IPC_EVENT, forward);
  },
};

contextBridge.exposeInMainWorld('mailvault', api);
