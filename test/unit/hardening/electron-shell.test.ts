import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONSOLE_CSP, CONSOLE_CSP_HEADER } from '../../../src-main/host/csp';

/**
 * Issue 9, hardening of the Electron shell, read from src-main/electron/main.ts itself with
 * `electron` stubbed: the window's web preferences, the CSP every response gets, permissions,
 * navigation, new windows and webviews refused, and the API answering only our own page.
 */
type Handler = (...args: unknown[]) => unknown;
const seen = vi.hoisted(() => ({
  windows: [] as Array<{ options: Record<string, unknown>; win: Record<string, unknown> }>,
  appEvents: new Map<string, (...args: unknown[]) => unknown>(),
  ipc: new Map<string, (...args: unknown[]) => unknown>(),
  permission: undefined as undefined | ((...args: unknown[]) => unknown),
  headers: undefined as undefined | ((...args: unknown[]) => unknown),
  loaded: [] as string[],
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents = { send: vi.fn(), isDestroyed: () => false, mainFrame: { url: '' } };
    constructor(options: Record<string, unknown>) {
      seen.windows.push({ options, win: this as unknown as Record<string, unknown> });
    }
    once() {}
    on() {}
    show() {}
    focus() {}
    async loadFile(file: string) {
      seen.loaded.push(file);
    }
  }
  return {
    BrowserWindow,
    app: {
      requestSingleInstanceLock: () => true,
      getVersion: () => '0.0.0-test',
      getPath: () => process.env.MAILVAULT_CONFIG_DIR,
      on: (name: string, fn: Handler) => seen.appEvents.set(name, fn),
      whenReady: () => Promise.resolve(),
      quit: vi.fn(),
    },
    ipcMain: { handle: (channel: string, fn: Handler) => seen.ipc.set(channel, fn), removeHandler: vi.fn() },
    safeStorage: {
      isEncryptionAvailable: () => false,
      getSelectedStorageBackend: () => 'basic_text',
      encryptString: () => Buffer.alloc(0),
      decryptString: () => '',
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Handler) => (seen.permission = fn),
        webRequest: { onHeadersReceived: (fn: Handler) => (seen.headers = fn) },
      },
    },
  };
});

beforeAll(async () => {
  process.env.MAILVAULT_NO_SANDBOX = '1';
  process.env.MAILVAULT_CONFIG_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-electron-config-'));
  await import('../../../src-main/electron/main');
  await new Promise((resolve) => setTimeout(resolve, 10)); // whenReady().then(...)
}, 60_000);

afterAll(() => fs.rmSync(process.env.MAILVAULT_CONFIG_DIR!, { recursive: true, force: true }));

describe('the Electron window', { timeout: 60_000 }, () => {
  it('is sandboxed and context-isolated, with no Node, no webviews, no insecure content', () => {
    expect(seen.windows).toHaveLength(1);
    const prefs = seen.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    });
    for (const risky of [
      'nodeIntegrationInWorker',
      'nodeIntegrationInSubFrames',
      'allowRunningInsecureContent',
      'experimentalFeatures',
      'enableBlinkFeatures',
      'webviewTag',
      'enableRemoteModule',
    ])
      expect(prefs[risky], risky).toBeFalsy();
    expect(String(prefs.preload)).toMatch(/preload[/\\]index\.cjs$/);
  });

  it('loads the built renderer from disk, not from any URL', () => {
    expect(seen.loaded).toHaveLength(1);
    expect(seen.loaded[0]).toMatch(/renderer[/\\]index\.html$/);
    expect(seen.loaded[0]).not.toMatch(/^[a-z]+:\/\//);
  });

  it('refuses every permission a page may ask for', () => {
    for (const permission of [
      'media',
      'geolocation',
      'notifications',
      'openExternal',
      'clipboard-read',
      'fullscreen',
    ]) {
      const callback = vi.fn();
      seen.permission!({}, permission, callback);
      expect(callback, permission).toHaveBeenCalledWith(false);
    }
  });

  it('sends the console CSP with every response, and that CSP allows no inline or foreign code', () => {
    const callback = vi.fn();
    seen.headers!({ responseHeaders: { 'Content-Security-Policy': ['default-src *'] } }, callback);
    const headers = callback.mock.calls[0]![0].responseHeaders as Record<string, string[]>;
    expect(headers['Content-Security-Policy']).toEqual([CONSOLE_CSP_HEADER]);
    const directives = new Map(
      CONSOLE_CSP_HEADER.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|http:|https:/);
    expect(CONSOLE_CSP_HEADER).not.toMatch(/unsafe-inline|unsafe-eval|\*|http:|https:/);
  });

  it('refuses navigation, new windows and webviews in every web contents', () => {
    const events = new Map<string, Handler>();
    let openHandler: Handler | undefined;
    const contents = {
      on: (name: string, fn: Handler) => events.set(name, fn),
      setWindowOpenHandler: (fn: Handler) => (openHandler = fn),
    };
    seen.appEvents.get('web-contents-created')!({}, contents);
    for (const name of ['will-navigate', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      events.get(name)!(event, 'https://evil.example/');
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
    expect(openHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
  });

  it('answers API calls only from our own page in our window main frame', async () => {
    const handle = [...seen.ipc.values()][0]!;
    const win = seen.windows[0]!.win as { webContents: { mainFrame: { url: string } } };
    const renderer = `file://${seen.loaded[0]}`;
    const call = (sender: unknown, frame: unknown) => handle({ sender, senderFrame: frame }, 'app.info', {});
    const ours = win.webContents;
    ours.mainFrame.url = renderer;
    const foreignFrame = { url: 'https://evil.example/' };
    for (const [what, result] of [
      ['another web contents', await call({ mainFrame: ours.mainFrame }, ours.mainFrame)],
      ['a subframe of our window', await call(ours, { url: renderer })],
      ['no frame', await call(ours, null)],
    ] as const)
      expect(result, what).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    ours.mainFrame = foreignFrame;
    expect(await call(ours, foreignFrame), 'our window navigated elsewhere').toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    ours.mainFrame = { url: `${renderer}#/servers` };
    const allowed = (await call(ours, ours.mainFrame)) as { ok: boolean };
    expect(allowed.ok).toBe(true);
  });
});
