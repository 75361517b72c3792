/**
 * Every error sstash throws on purpose is an {@link SSError}. Each has a stable
 * `code` (SCREAMING_SNAKE) that programs can branch on, a message that names the file or
 * the key path involved but never a secret value, and optionally a hint: what to do about it.
 * docs/ERRORS.md lists every code; a test keeps that table and {@link SSErrorCode} in step.
 */

/** Stable error codes, documented in docs/ERRORS.md. */
export type SSErrorCode =
  // The stash file and its formats
  | 'NOT_A_STASH'
  | 'UNSUPPORTED_FORMAT'
  | 'BAD_PARAMETERS'
  | 'BAD_FORMAT'
  | 'CORRUPT_CONTENT'
  | 'DECRYPT_FAILED'
  | 'KEY_CHANGED'
  // Keys and values
  | 'KEY_NOT_FOUND'
  | 'NO_VALUE'
  | 'HAS_CHILDREN'
  | 'KEY_EXISTS'
  | 'BAD_KEY'
  | 'BAD_VALUE'
  | 'BAD_KEYPATH_SYNTAX'
  | 'NOT_REPRESENTABLE'
  | 'UNRESOLVED_REFERENCE'
  // Files on disk
  | 'STASH_NOT_FOUND'
  | 'STASH_EXISTS'
  | 'DEST_EXISTS'
  | 'DANGLING_LINK'
  | 'NOT_A_FILE'
  | 'UNSAFE_FILE'
  | 'FILE_TOO_LARGE'
  | 'UNSAFE_DIRECTORY'
  | 'UNSAFE_FILE'
  | 'LOCK_TIMEOUT'
  | 'LOCK_LOST'
  | 'WRITE_FAILED'
  | 'IO_ERROR'
  // Passwords and the agent
  | 'NO_PASSWORD'
  | 'CANCELLED'
  | 'EMPTY_PASSWORD'
  | 'PASSWORD_MISMATCH'
  | 'BAD_KDF_SPEC'
  | 'BAD_DURATION'
  | 'AGENT_UNSAFE'
  | 'AGENT_FAILED'
  // Input, configuration and the command line
  | 'BAD_INPUT'
  | 'BAD_CONFIG'
  | 'BAD_PROJECT_CONFIG'
  | 'BAD_REFERENCE'
  | 'BAD_TEMPLATE'
  | 'USAGE'
  // Environment variables and the command sstash-run starts
  | 'BAD_ENV_NAME'
  | 'BAD_ENV_PREFIX'
  | 'BAD_ENV_VALUE'
  | 'ENV_NAME_COLLISION'
  | 'DANGEROUS_ENV_NAME'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'SPAWN_FAILED'
  // The team stash
  | 'BAD_RECIPIENT'
  | 'BAD_IDENTITY'
  | 'NO_IDENTITY'
  | 'NOT_A_MEMBER'
  | 'NO_ACCESS'
  | 'BAD_SCOPE'
  | 'MEMBER_EXISTS'
  | 'MEMBER_NOT_FOUND'
  | 'TEAM_TAMPERED'
  | 'TEAM_ROLLBACK'
  | 'TEAM_CONFLICT'
  | 'TEAM_REPLACED'
  | 'TEAM_STALE'
  | 'NOT_ADMIN'

/** What an {@link SSError} may carry besides its message and code. */
export interface SSErrorOptions {
  /** The underlying error. */
  cause?: unknown
  /** What the user can do about it, printed as `sstash: hint: <hint>`; never repeats the message. */
  hint?: string
  /** Further problems found with this one, each printed as its own `sstash: error:` line. */
  details?: readonly string[]
}

/** The base class of every sstash error. */
export class SSError extends Error {
  override name = 'SSError'
  /** A stable machine-readable code, such as `NOT_A_STASH`. */
  readonly code: SSErrorCode
  /** What to do about it, when the error itself knows better than its code's usual hint. */
  readonly hint?: string
  /** Further problems found at the same time (see {@link SSErrorOptions.details}). */
  readonly details?: readonly string[]

  /**
   * @param message - one line, lowercase, naming the file or key path involved
   * @param code - a stable code from {@link SSErrorCode}
   * @param options - `cause` keeps the underlying error; `hint` says what to do
   */
  constructor(message: string, code: SSErrorCode, options?: SSErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options?.hint !== undefined) this.hint = options.hint
    if (options?.details !== undefined && options.details.length > 0) this.details = [...options.details]
  }
}

/** A key path that is missing, holds no value, or is not a valid key path. */
export class SSKeyError extends SSError {
  override name = 'SSKeyError'
  /** The key path the error is about. */
  readonly key: readonly string[]

  constructor(message: string, key: readonly string[], code: SSErrorCode = 'KEY_NOT_FOUND', options?: SSErrorOptions) {
    super(message, code, options)
    this.key = [...key]
  }
}

/** A value that is not bytes, or that cannot be used where it was asked for. */
export class SSValueError extends SSError {
  override name = 'SSValueError'
  constructor(message: string, code: SSErrorCode = 'BAD_VALUE', options?: SSErrorOptions) {
    super(message, code, options)
  }
}

/**
 * Decryption failed: a wrong password, or a file whose bytes were changed.
 * The two cannot be told apart, by design.
 */
export class SSCryptoError extends SSError {
  override name = 'SSCryptoError'
  constructor(message: string, code: SSErrorCode = 'DECRYPT_FAILED', options?: SSErrorOptions) {
    super(message, code, options)
  }
}

/** The errno code of a system error (`ENOENT`), or undefined. */
export const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

/** What users read for the errno codes a file operation meets; never the raw code. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EBUSY: 'the file is busy',
  EXDEV: 'it is on another file system',
  EIO: 'an input/output error',
  ETXTBSY: 'the file is busy',
  EAGAIN: 'it would block',
  ENXIO: 'no reader or device is there',
  EFBIG: 'the file is too large',
  E2BIG: 'the argument list or environment is too large',
}

/** A system error's reason in words: "no such file or directory", not `ENOENT`. */
export function reasonOf(error: unknown): string {
  const code = errno(error)
  if (code !== undefined) return REASONS[code] ?? `system error ${code.toLowerCase()}`
  return error instanceof Error ? error.message : String(error)
}

/** An SSError naming the action, the file and the system's reason (never the file's content). */
export function ioError(action: string, path: string, error: unknown, code: SSErrorCode = 'IO_ERROR'): SSError {
  return new SSError(`cannot ${action} ${path}: ${reasonOf(error)}`, code, { cause: error })
}
