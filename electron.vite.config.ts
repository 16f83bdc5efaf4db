import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { CONSOLE_CSP } from './src-main/host/csp';

const fromRoot = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** Writes the console's CSP into the built index.html (dev servers inject inline scripts, so build only). */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'mailvault-csp',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONSOLE_CSP },
        injectTo: 'head-prepend',
      },
    ],
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: fromRoot('out/main'),
      // index.js: package.json's "main", what `electron .` starts; backup-worker.js: the child
      // process each backup job runs in (forked by the shell with ELECTRON_RUN_AS_NODE);
      // zip-thread-worker.js: the archive thread's script (engine/target/zip-thread.ts).
      rollupOptions: {
        input: {
          index: fromRoot('src-main/electron/main.ts'),
          'backup-worker': fromRoot('src-main/jobs/backup-worker.ts'),
          'zip-thread-worker': fromRoot('src-main/engine/target/zip-thread-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: fromRoot('out/preload'),
      // A sandboxed preload cannot be an ES module: one CommonJS file that requires only electron.
      rollupOptions: {
        input: { index: fromRoot('src-preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: fromRoot('src-renderer'),
    // Relative asset URLs: the same build loads from file:// (Electron) and from the web host.
    base: './',
    plugins: [react(), contentSecurityPolicy()],
    build: {
      outDir: fromRoot('out/renderer'),
      // Minified: less to parse before the first paint (the console opens in a browser too).
      minify: 'esbuild',
      rollupOptions: { input: fromRoot('src-renderer/index.html') },
    },
  },
});
