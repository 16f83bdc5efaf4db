import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds a file under the project's `resources/` folder, from source (tsx, vitest) or from the
 * built app (out/main), by walking up from this module until a `resources` folder holds it.
 */
export function resourcePath(relative: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', relative);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`resource not found: resources/${relative}`);
}
