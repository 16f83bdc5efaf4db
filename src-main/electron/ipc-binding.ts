import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { IPC_CALL, IPC_EVENT } from '../api/contract';
import type { EventHub } from '../api/events';
import { failure, type Dispatch } from '../api/handlers';

/**
 * The API over Electron IPC: calls from our own page only (checked by the caller's frame on
 * every call), and every pushed event forwarded to a window. Only types come from electron
 * here, so the unit tests bind it to fakes of ipcMain and webContents.
 */
export function bindIpcCalls(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  dispatch: Dispatch,
  isOurRenderer: (event: IpcMainInvokeEvent) => boolean,
): () => void {
  ipcMain.handle(IPC_CALL, (event, name: unknown, req: unknown) =>
    isOurRenderer(event)
      ? dispatch(name, req)
      : failure('forbidden', 'This page may not use the Mailvault API.'),
  );
  return () => ipcMain.removeHandler(IPC_CALL);
}

/** Forwards events to one window's page until it is destroyed; returns the unsubscribe. */
export function forwardEvents(
  events: EventHub,
  contents: Pick<WebContents, 'send' | 'isDestroyed'>,
): () => void {
  return events.subscribe((message) => {
    if (!contents.isDestroyed()) contents.send(IPC_EVENT, message);
  });
}

/**
 * Our page is the built renderer's index.html, loaded in the main frame of our window; a
 * subframe or any other URL (after a navigation that slipped through) is not.
 */
export function isFromPage(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  contents: unknown,
  pageUrl: string,
): boolean {
  const frame = event.senderFrame;
  if (!contents || event.sender !== contents || !frame || frame !== event.sender.mainFrame) return false;
  const url = new URL(frame.url);
  url.hash = '';
  url.search = '';
  return url.href === pageUrl;
}
