import os from 'node:os';
import path from 'node:path';

/**
 * Where the console keeps its settings (saved servers): MAILVAULT_CONFIG_DIR when set (tests, or
 * several independent consoles), else the user's config directory as the platform defines it.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MAILVAULT_CONFIG_DIR) return path.resolve(env.MAILVAULT_CONFIG_DIR);
  if (process.platform === 'win32')
    return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Mailvault');
  if (process.platform === 'darwin')
    return path.join(os.homedir(), 'Library', 'Application Support', 'Mailvault');
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'mailvault');
}
