export * from './types';
export { quoteArg, quoteArgv } from './shell-quote';
export { LocalTransport } from './local-transport';
export { SshTransport } from './ssh-transport';
export type { SshTransportOptions } from './ssh-link';
export { fingerprintOfKey, normalizeFingerprint } from './host-key';
export { openTransport, type OpenTransportOptions, type TransportProfile } from './open-transport';
