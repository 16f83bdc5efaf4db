/**
 * The console's Content-Security-Policy: its own scripts and styles only, API calls to its own
 * origin only. The build writes it into index.html as a <meta> (so the Electron window, loaded from
 * file://, has it too); the web host also sends it as a header, with what a <meta> cannot carry.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

export const CONSOLE_CSP_HEADER = `${CONSOLE_CSP}; frame-ancestors 'none'`;
