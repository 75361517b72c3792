/**
 * Every error sstash throws on purpose is an {@link SSError}. Each has a stable
 * `code` (SCREAMING_SNAKE) that programs can branch on, and a message that names
 * the file or the key path involved but never a secret value.
 */

/** Stable error codes, documented in the README. */
export type SSErrorCode =
  | 'NOT_A_STASH'
  | 'UNSUPPORTED_FORMAT'
  | 'BAD_PARAMETERS'
  | 'CORRUPT_CONTENT'
  | 'DECRYPT_FAILED'
  | 'KEY_NOT_FOUND'
  | 'NO_VALUE'
  | 'BAD_KEY'
  | 'BAD_VALUE'
  | 'STASH_NOT_FOUND'
  | 'STASH_EXISTS'
  | 'LOCK_TIMEOUT'
  | 'WRITE_FAILED'
  | 'IO_ERROR'
  | 'BAD_KEYPATH_SYNTAX'
  | 'BAD_KDF_SPEC'
  | 'DEST_EXISTS'
  | 'NO_PASSWORD'
  | 'USAGE'
  | (string & {})

/** The base class of every sstash error. */
export class SSError extends Error {
  override name = 'SSError'
  /** A stable machine-readable code, such as `NOT_A_STASH`. */
  readonly code: SSErrorCode

  /**
   * @param message - one line, lowercase, naming the file or key path involved
   * @param code - a stable code from {@link SSErrorCode}
   * @param options - `cause` keeps the underlying error
   */
  constructor(message: string, code: SSErrorCode = 'NOT_A_STASH', options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A key path that is missing, holds no value, or is not a valid key path. */
export class SSKeyError extends SSError {
  override name = 'SSKeyError'
  /** The key path the error is about. */
  readonly key: readonly string[]

  constructor(message: string, key: readonly string[], code: SSErrorCode = 'KEY_NOT_FOUND', options?: { cause?: unknown }) {
    super(message, code, options)
    this.key = [...key]
  }
}

/** A value that is not bytes, or that cannot be used where it was asked for. */
export class SSValueError extends SSError {
  override name = 'SSValueError'
  constructor(message: string, code: SSErrorCode = 'BAD_VALUE', options?: { cause?: unknown }) {
    super(message, code, options)
  }
}

/**
 * Decryption failed: a wrong password, or a file whose bytes were changed.
 * The two cannot be told apart, by design.
 */
export class SSCryptoError extends SSError {
  override name = 'SSCryptoError'
  constructor(message: string, code: SSErrorCode = 'DECRYPT_FAILED', options?: { cause?: unknown }) {
    super(message, code, options)
  }
}

/** Renders a key path for messages: `['a','b/c']` becomes `["a","b/c"]`. */
export function showKey(key: readonly string[]): string {
  return JSON.stringify(key)
}
