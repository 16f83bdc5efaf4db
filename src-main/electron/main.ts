import { app, BrowserWindow, ipcMain, Notification, session } from 'electron';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultConfigDir } from '../api/config-dir';
import { createConsole, type Console } from '../api/create-console';
import { createEventHub } from '../api/events';
import { startSandboxServers } from '../api/sandbox-servers';
import { CONSOLE_CSP_HEADER } from '../host/csp';
import { WORKER_NODE_FLAGS } from '../jobs/worker-flags';
import { bindIpcCalls, forwardEvents, isFromPage } from './ipc-binding';
import { notifyJobEnds } from './job-notifications';
import { safeStorageSecrets } from './safe-storage-secrets';

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
/** Backups run in a child process: the built worker (out/main/backup-worker.js), Electron as Node. */
const launchWorker = () =>
  fork(path.join(here, 'backup-worker.js'), [], {
    execArgv: [...WORKER_NODE_FLAGS],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
// Built once the app is ready: safeStorage picks its Linux backend only then.
let mailvault: Console | undefined;

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
  const unsubscribe = forwardEvents(events, win.webContents);
  win.on('closed', () => {
    unsubscribe();
    mainWindow = undefined;
  });
  void win.loadFile(rendererIndex);
  return win;
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
  void app.whenReady().then(() => {
    mailvault = createConsole({
      info: { name: 'Mailvault', version: app.getVersion(), shell: 'electron' },
      configDir: process.env.MAILVAULT_CONFIG_DIR ? defaultConfigDir() : app.getPath('userData'),
      secrets: safeStorageSecrets(),
      events,
      launchWorker,
      sandbox,
      log,
    });
    // A desktop notification when a job ends (the window may be hidden behind others).
    notifyJobEnds(events, (notice) => {
      if (!Notification.isSupported()) return;
      new Notification({
        title: notice.title,
        body: notice.body,
        urgency: notice.urgent ? 'critical' : 'normal',
      }).show();
    });
    // Only our own page, in our window's main frame, may call the API.
    bindIpcCalls(ipcMain, mailvault.dispatch, (event) =>
      isFromPage(event, mainWindow?.webContents, rendererUrl),
    );
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
  // Stop running backups (aborted, kept as such) and the sandbox before exiting: no job or lab
  // process outlives the app.
  let stopped = false;
  app.on('will-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    void Promise.all([mailvault?.stop(), sandbox?.stop()])
      .catch((error: unknown) => log(`stopping jobs and the sandbox failed: ${String(error)}`))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}
