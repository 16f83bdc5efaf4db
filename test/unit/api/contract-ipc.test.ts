import { describe, expect, it, vi } from 'vitest';
import { IPC_CALL, type MailvaultApi } from '../../../src-main/api/contract';
import { createEventHub } from '../../../src-main/api/events';
import { createDispatch } from '../../../src-main/api/handlers';
import { bindIpcCalls, forwardEvents, isFromPage } from '../../../src-main/electron/ipc-binding';
import { contractSuite } from './contract-suite';
import { FAKE_INFO } from './fake-api';

/**
 * The contract over Electron IPC, with electron stubbed: the real preload (src-preload/index.ts)
 * talks to a fake ipcRenderer that invokes what the real binding registered on a fake ipcMain;
 * arguments and answers are structured-cloned both ways, as IPC does.
 */
const electron = vi.hoisted(() => {
  type Handler = (event: unknown, ...args: unknown[]) => unknown;
  const handlers = new Map<string, Handler>();
  const rendererListeners = new Map<string, Set<(event: unknown, message: unknown) => void>>();
  const pageUrl = 'file:///opt/mailvault/out/renderer/index.html';
  const mainFrame = { url: `${pageUrl}#servers` };
  const webContents = {
    mainFrame,
    destroyed: false,
    isDestroyed() {
      return this.destroyed;
    },
    send(channel: string, message: unknown) {
      for (const listener of rendererListeners.get(channel) ?? []) listener({}, structuredClone(message));
    },
  };
  const exposed: Record<string, unknown> = {};
  const ipcMain = {
    handle: (channel: string, handler: Handler) => void handlers.set(channel, handler),
    removeHandler: (channel: string) => void handlers.delete(channel),
  };
  return { handlers, rendererListeners, pageUrl, mainFrame, webContents, exposed, ipcMain };
});

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, value: unknown) => void (electron.exposed[key] = value),
  },
  ipcRenderer: {
    async invoke(channel: string, ...args: unknown[]) {
      const handler = electron.handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      const event = { sender: electron.webContents, senderFrame: electron.webContents.mainFrame };
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
    on(channel: string, listener: (event: unknown, message: unknown) => void) {
      const set = electron.rendererListeners.get(channel) ?? new Set();
      electron.rendererListeners.set(channel, set);
      set.add(listener);
    },
    removeListener(channel: string, listener: (event: unknown, message: unknown) => void) {
      electron.rendererListeners.get(channel)?.delete(listener);
    },
  },
}));

async function preloadApi(): Promise<MailvaultApi> {
  await import('../../../src-preload/index');
  return electron.exposed.mailvault as MailvaultApi;
}

contractSuite('Electron IPC (electron stubbed)', async (dispatch, events) => {
  const unbind = bindIpcCalls(electron.ipcMain as never, dispatch, (event) =>
    isFromPage(event, electron.webContents, electron.pageUrl),
  );
  const unforward = forwardEvents(events, electron.webContents as never);
  return {
    client: preloadApi,
    async close() {
      unforward();
      unbind();
      electron.rendererListeners.clear();
    },
  };
});

describe('the IPC binding', () => {
  it('answers forbidden to a subframe, another page or another window, and calls nothing', async () => {
    const dispatch = vi.fn(createDispatch({ 'app.info': () => FAKE_INFO }));
    const unbind = bindIpcCalls(electron.ipcMain as never, dispatch, (event) =>
      isFromPage(event, electron.webContents, electron.pageUrl),
    );
    const handler = electron.handlers.get(IPC_CALL)!;
    const forbidden = {
      ok: false,
      error: { code: 'forbidden', message: 'This page may not use the Mailvault API.' },
    };
    const subframe = { url: electron.pageUrl };
    expect(await handler({ sender: electron.webContents, senderFrame: subframe }, 'app.info', {})).toEqual(
      forbidden,
    );
    const elsewhere = { ...electron.webContents, mainFrame: { url: 'https://example.com/' } };
    expect(await handler({ sender: elsewhere, senderFrame: elsewhere.mainFrame }, 'app.info', {})).toEqual(
      forbidden,
    );
    const otherWindow = { ...electron.webContents };
    expect(
      await handler({ sender: otherWindow, senderFrame: otherWindow.mainFrame }, 'app.info', {}),
    ).toEqual(forbidden);
    expect(dispatch).not.toHaveBeenCalled();
    expect(
      await handler({ sender: electron.webContents, senderFrame: electron.mainFrame }, 'app.info', {}),
    ).toEqual({
      ok: true,
      value: FAKE_INFO,
    });
    unbind();
  });

  it('stops forwarding events to a destroyed window', () => {
    const events = createEventHub();
    const sent: unknown[] = [];
    const contents = {
      destroyed: false,
      isDestroyed: () => contents.destroyed,
      send: (_c: string, m: unknown) => sent.push(m),
    };
    forwardEvents(events, contents);
    events.emit('servers.changed', {});
    contents.destroyed = true;
    events.emit('servers.changed', {});
    expect(sent).toEqual([{ name: 'servers.changed', payload: {} }]);
  });
});
