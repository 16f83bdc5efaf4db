/**
 * Errors of the backup target. Each carries a code that scripts and the UI can act on, and a
 * message an administrator can act on; the offending value is kept on the error too.
 */
export type TargetErrorCode =
  | 'INVALID_LABEL'
  | 'UNSAFE_PATH'
  | 'INVALID_ACCOUNT_ID'
  | 'INVALID_MANIFEST'
  | 'TARGET_LOCKED'
  | 'LOCK_UNREADABLE'
  | 'LOCK_LOST'
  | 'UNSAFE_ZIP_ENTRY'
  | 'CORRUPT_ARCHIVE'
  | 'SESSION_STATE'
  | 'UNRECORDED_FILES';

export class TargetError extends Error {
  constructor(
    readonly code: TargetErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TargetError';
  }
}

/** A string that is not a session label (`full-YYYYMMDD.HHMMSS.mmm` / `incr-…`, GMT). */
export class InvalidLabelError extends TargetError {
  constructor(
    readonly value: string,
    reason?: string,
  ) {
    super(
      'INVALID_LABEL',
      `Not a session label: ${JSON.stringify(value)}` +
        (reason ? ` (${reason})` : ' (expected full-YYYYMMDD.HHMMSS.mmm or incr-YYYYMMDD.HHMMSS.mmm, GMT)'),
    );
    this.name = 'InvalidLabelError';
  }
}

/** A path inside the target or inside an archive that could point outside where it belongs. */
export class UnsafePathError extends TargetError {
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super('UNSAFE_PATH', `Unsafe path ${JSON.stringify(value)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

/** An account id that is not a Zimbra id (a UUID); it would name a directory in the target. */
export class InvalidAccountIdError extends TargetError {
  constructor(readonly value: string) {
    super(
      'INVALID_ACCOUNT_ID',
      `Not a Zimbra account id (a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427): ${JSON.stringify(value)}`,
    );
    this.name = 'InvalidAccountIdError';
  }
}

/** A zip entry whose name would escape the extraction directory, or that is not a plain file. */
export class UnsafeZipEntryError extends TargetError {
  constructor(
    readonly archive: string,
    readonly entryName: string,
    reason: string,
  ) {
    super('UNSAFE_ZIP_ENTRY', `Refusing entry ${JSON.stringify(entryName)} of ${archive}: ${reason}`);
    this.name = 'UnsafeZipEntryError';
  }
}

/** An archive whose bytes do not match what its own headers promise (CRC, sizes, structure). */
export class CorruptArchiveError extends TargetError {
  constructor(
    readonly archive: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('CORRUPT_ARCHIVE', `Archive ${archive} is damaged: ${detail}`, options);
    this.name = 'CorruptArchiveError';
  }
}
