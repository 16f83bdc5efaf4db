import type { ApiError, ApiErrorCode } from './contract';

/** Thrown inside a handler to answer with a specific error code; anything else becomes `internal`. */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function failure(code: ApiErrorCode, message: string): { ok: false; error: ApiError } {
  return { ok: false, error: { code, message } };
}
