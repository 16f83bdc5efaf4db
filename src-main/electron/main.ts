import { app, BrowserWindow, ipcMain, session, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IPC_CALL, IPC_EVENT } from '../api/contract';
import { createEventHub } from '../api/events';
import { createDispatch, failure } from '../api/handlers';
import { startSandboxServers } from '../api/sandbox-servers';
import { CONSOLE_CSP_HEADER } from '../host/csp';

/**
 * The Electron shell, and the only code that imports electron: one window on the built renderer,
 * IPC bound to the same handlers as the web host, and the built-in sandbox server.
 */
const here = path.dirname(fileURLToPath(import.meta.url)); // out/main
const rendererIndex = path.join(here, '../renderer/index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
const log = (line: string) => console.log(`[mailvault] ${line}`);

const primary = app.requestSingleInstanceLock();
const events = createEventHub(log);
// scripts/start.mjs starts the sandbox first and names its lab here, so this reuses it (and leaves
// stopping it to start.mjs); started on its own, the app starts a sandbox and stops it on quit.
const sandbox =
  !primary || process.env.MAILVAULT_NO_SANDBOX
    ? undefined
    : startSandboxServers(async () => {
        // Loaded lazily: the window opens at once, and a lab that cannot load shows as an error.
        const { startSandbox } = await import('../lab/sandbox');
        return startSandbox({ dir: process.env.MAILVAULT_SANDBOX_DIR || undefined, log });
      }, events);
const dispatch = createDispatch(
  {
    appInfo: () => ({ name: 'Mailvault', version: app.getVersion(), shell: 'electron' }),
    servers: () => sandbox?.list() ?? [],
  },
  log,
);

let mainWindow: BrowserWindow | undefined;

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 720,
    minWidth: 720,
    minHeight: 480,
    title: 'Mailvault',
    show: false,
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  const unsubscribe = events.subscribe((message) => win.webContents.send(IPC_EVENT, message));
  win.on('closed', () => {
    unsubscribe();
    mainWindow = undefined;
  });
  void win.loadFile(rendererIndex);
  return win;
}

/** Only our own page, in our window's main frame, may call the API. */
function fromOurRenderer(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!mainWindow || event.sender !== mainWindow.webContents || !frame || frame !== event.sender.mainFrame)
    return false;
  const url = new URL(frame.url);
  url.hash = '';
  url.search = '';
  return url.href === rendererUrl;
}

if (!primary) {
  app.quit();
} else {
  app.on('second-instance', () => mainWindow?.focus());
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  ipcMain.handle(IPC_CALL, (event, name: unknown, req: unknown) =>
    fromOurRenderer(event)
      ? dispatch(name, req)
      : failure('forbidden', 'This page may not use the Mailvault API.'),
  );

  void app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONSOLE_CSP_HEADER] },
      }),
    );
    mainWindow = createWindow();
    app.on('activate', () => (mainWindow ??= createWindow()));
  });

  app.on('window-all-closed', () => app.quit());
  // Stop the sandbox before exiting, so no lab process outlives the app.
  let sandboxStopped = !sandbox;
  app.on('will-quit', (event) => {
    if (sandboxStopped || !sandbox) return;
    event.preventDefault();
    void sandbox
      .stop()
      .catch((error: unknown) => log(`stopping the sandbox failed: ${String(error)}`))
      .finally(() => {
        sandboxStopped = true;
        app.quit();
      });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}
