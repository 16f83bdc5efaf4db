/** Bad input from the user: printed as one line, exit status 2, nothing changed. */
export class UsageError extends Error {
  readonly exitCode = 2;

  // A bad value may hold newlines, terminal escapes or bidi overrides: shown escaped, the line
  // stays one line and reads as typed.
  constructor(message: string) {
    super(
      message
        // eslint-disable-next-line no-control-regex -- control characters are what this refuses
        .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, escape)
        // A huge value is named by its start and its length, not printed whole.
        .replace(/[^\s:]{201,}/g, (s) => `${s.slice(0, 100)}…(${s.length} characters)`),
    );
  }
}

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
function escape(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
