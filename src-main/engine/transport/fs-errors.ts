import { TransportError, type TransportErrorCode } from './types';

/** Node's errno codes that mean "this path does not exist" (a missing parent counts too). */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function errnoCode(error: unknown): TransportErrorCode {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'ENOENT';
  if (code === 'EACCES' || code === 'EPERM') return 'EACCES';
  return 'IO';
}

/** A file system failure as a TransportError, keeping the errno code callers may act on. */
export function fsError(
  transportName: string,
  action: string,
  filePath: string,
  error: unknown,
): TransportError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TransportError(transportName, `cannot ${action} ${filePath}: ${reason}`, {
    code: errnoCode(error),
    cause: error,
  });
}
