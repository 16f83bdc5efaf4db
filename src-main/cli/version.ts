import { createRequire } from 'node:module';

/** The engine version recorded in every manifest: package.json's. */
export const ENGINE_VERSION: string = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version;
