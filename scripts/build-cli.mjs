// Builds the command line into one ES module, out/cli/mailvault.mjs (npm run build:cli), which
// bin/mailvault runs while it is newer than every file under src-main/. Starting it costs about a
// third of the CPU of running the sources through tsx: no TypeScript to compile, and one file to
// load instead of a few thousand node_modules files.
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ssh2 loads its native crypto binding relative to its own directory (cpu-features likewise):
  // bundled, it would silently fall back to slower pure-JS ciphers. Left as imports.
  external: ['ssh2', 'cpu-features', '*.node'],
  // Bundled CommonJS dependencies call require() for Node's built-ins; an ES module has none.
  banner: {
    js: "import { createRequire as __mailvaultRequire } from 'node:module'; const require = __mailvaultRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

await build({ ...shared, entryPoints: ['src-main/cli/bundle-entry.ts'], outfile: 'out/cli/mailvault.mjs' });
// The archive thread's script (engine/target/zip-thread.ts looks for it beside the bundle).
await build({
  ...shared,
  entryPoints: ['src-main/engine/target/zip-thread-worker.ts'],
  outfile: 'out/cli/zip-thread-worker.mjs',
});
