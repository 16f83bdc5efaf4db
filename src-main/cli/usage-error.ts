/** Bad input from the user: printed as one line, exit status 2, nothing changed. */
export class UsageError extends Error {
  readonly exitCode = 2;
}
