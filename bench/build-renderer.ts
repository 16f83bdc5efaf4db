/**
 * Builds only the renderer (the console's web page), with the renderer settings of
 * electron.vite.config.ts, into a directory of your choice: the bench measures the console alone,
 * and a main-process file being edited elsewhere does not stop it.
 *
 *   node --import tsx bench/build-renderer.ts [outDir] [--no-minify]   (default: out/renderer)
 *
 * --no-minify: readable function names in a CPU profile.
 */
import path from 'node:path';
import { build, type InlineConfig } from 'vite';
import config from '../electron.vite.config';

const args = process.argv.slice(2);
const outDir = path.resolve(args.find((a) => !a.startsWith('--')) ?? 'out/renderer');
const minify = args.includes('--no-minify') ? false : undefined;
const renderer = (config as { renderer: InlineConfig }).renderer;
await build({
  ...renderer,
  configFile: false,
  logLevel: 'warn',
  build: { ...renderer.build, outDir, emptyOutDir: true, ...(minify === false ? { minify } : {}) },
});
console.log(`renderer built into ${outDir}`);
