import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The seams of the console, checked on the sources: the renderer runs in a browser (no Node, no
// Electron), the preload reaches nothing but electron and the contract, and only src-main/electron
// imports electron on the main side (ESLint guards engine/, cli/ and lab/ the same way).
const root = fileURLToPath(new URL('../../..', import.meta.url));

function importsOf(dir: string): { file: string; spec: string }[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .flatMap((f) => {
      const text = fs.readFileSync(path.join(root, dir, f), 'utf8');
      return [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)/g)].map((m) => ({
        file: `${dir}/${f}`,
        spec: m[1] ?? m[2] ?? '',
      }));
    });
}

/** The contract: the module everyone imports, and its parts per area (src-main/api/contract/*.ts). */
const CONTRACT = /(^|\/)src-main\/api\/contract(\/[\w-]+)?$/;
/** Main-side modules the renderer may share: the contract, and the wire codecs built on it alone. */
const SHARED = /(^|\/)src-main\/api\/(contract(\/[\w-]+)?|session-columns)$/;

/** The module an import names, from the root and without extension (a relative spec, resolved). */
function moduleOf({ file, spec }: { file: string; spec: string }): string {
  return spec.startsWith('.') ? path.posix.join(path.posix.dirname(file), spec) : spec;
}

describe('console boundaries', () => {
  it('the renderer imports no Node, no Electron, and nothing of main but the contract', () => {
    const imports = importsOf('src-renderer');
    expect(imports.some(({ spec }) => CONTRACT.test(spec))).toBe(true); // the scan sees imports at all
    const bad = imports.filter(
      ({ spec }) =>
        spec.startsWith('node:') || spec === 'electron' || (spec.includes('src-main/') && !SHARED.test(spec)),
    );
    expect(bad).toEqual([]);
  });

  it('what the renderer shares with main imports nothing but the contract', () => {
    const shared = importsOf('src-main/api').filter(({ file }) => SHARED.test(file.replace(/\.ts$/, '')));
    const sharedFiles = new Set(shared.map((s) => s.file));
    expect(sharedFiles.has('src-main/api/session-columns.ts')).toBe(true);
    expect(sharedFiles.has('src-main/api/contract.ts')).toBe(true); // it imports its parts
    expect(shared.filter((imported) => !CONTRACT.test(moduleOf(imported)))).toEqual([]);
  });

  it('the preload imports electron and the contract only', () => {
    const bad = importsOf('src-preload').filter(({ spec }) => spec !== 'electron' && !CONTRACT.test(spec));
    expect(bad).toEqual([]);
  });

  it('the API and the web host do not import electron', () => {
    expect(
      [...importsOf('src-main/api'), ...importsOf('src-main/host')].filter(({ spec }) => spec === 'electron'),
    ).toEqual([]);
  });
});
