/**
 * Every error sstash throws on purpose is an {@link SSError}. Each has a stable
 * `code` (SCREAMING_SNAKE) that programs can branch on, a message that names the file or
 * the key path involved but never a secret value, and optionally a hint: what to do about it.
 * {@link EXIT_STATUS} lists every code with its exit status; docs/ERRORS.md documents them, and
 * a test keeps the two in step.
 */

/**
 * The exit statuses of the binaries (README, docs/ERRORS.md). `sstash-run` otherwise exits with
 * its command's status.
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  KEY_NOT_FOUND: 3,
  /** A wrong password, or a damaged, truncated or tampered file: the two cannot be told apart. */
  BAD_PASSWORD: 4,
  NO_PASSWORD: 5,
  COMMAND_NOT_EXECUTABLE: 126,
  COMMAND_NOT_FOUND: 127,
} as const

/**
 * Every error code, with the status a binary exits with when it ends on it: the one table the
 * binaries follow (see exitCodeOf in src/cli/exit.ts), documented in docs/ERRORS.md and
 * checked against it by a test. A new code is one line here and one row there.
 */
export const EXIT_STATUS = {
  // The stash file and its formats: a damaged or truncated file exits as a wrong password does.
  NOT_A_STASH: EXIT.BAD_PASSWORD,
  UNSUPPORTED_FORMAT: EXIT.ERROR,
  BAD_PARAMETERS: EXIT.BAD_PASSWORD,
  BAD_FORMAT: EXIT.ERROR,
  CORRUPT_CONTENT: EXIT.BAD_PASSWORD,
  DECRYPT_FAILED: EXIT.BAD_PASSWORD,
  KEY_CHANGED: EXIT.BAD_PASSWORD,
  // Keys and values
  KEY_NOT_FOUND: EXIT.KEY_NOT_FOUND,
  NO_VALUE: EXIT.KEY_NOT_FOUND,
  HAS_CHILDREN: EXIT.ERROR,
  KEY_EXISTS: EXIT.ERROR,
  BAD_KEY: EXIT.ERROR,
  BAD_VALUE: EXIT.ERROR,
  BAD_KEYPATH_SYNTAX: EXIT.USAGE,
  NOT_REPRESENTABLE: EXIT.ERROR,
  UNRESOLVED_REFERENCE: EXIT.KEY_NOT_FOUND,
  // Files on disk
  STASH_NOT_FOUND: EXIT.ERROR,
  STASH_EXISTS: EXIT.ERROR,
  DEST_EXISTS: EXIT.ERROR,
  DANGLING_LINK: EXIT.ERROR,
  NOT_A_FILE: EXIT.ERROR,
  UNSAFE_FILE: EXIT.ERROR,
  FILE_TOO_LARGE: EXIT.ERROR,
  UNSAFE_DIRECTORY: EXIT.ERROR,
  LOCK_TIMEOUT: EXIT.ERROR,
  LOCK_LOST: EXIT.ERROR,
  WRITE_FAILED: EXIT.ERROR,
  IO_ERROR: EXIT.ERROR,
  // Passwords and the agent
  NO_PASSWORD: EXIT.NO_PASSWORD,
  CANCELLED: EXIT.NO_PASSWORD,
  EMPTY_PASSWORD: EXIT.ERROR,
  PASSWORD_MISMATCH: EXIT.ERROR,
  BAD_KDF_SPEC: EXIT.USAGE,
  BAD_DURATION: EXIT.ERROR,
  AGENT_UNSAFE: EXIT.ERROR,
  AGENT_FAILED: EXIT.ERROR,
  // Input, configuration and the command line
  BAD_INPUT: EXIT.ERROR,
  BAD_CONFIG: EXIT.ERROR,
  BAD_PROJECT_CONFIG: EXIT.ERROR,
  BAD_REFERENCE: EXIT.ERROR,
  BAD_TEMPLATE: EXIT.ERROR,
  USAGE: EXIT.USAGE,
  // Environment variables and the command sstash-run starts
  BAD_ENV_NAME: EXIT.ERROR,
  BAD_ENV_PREFIX: EXIT.ERROR,
  BAD_ENV_VALUE: EXIT.ERROR,
  ENV_NAME_COLLISION: EXIT.ERROR,
  DANGEROUS_ENV_NAME: EXIT.ERROR,
  COMMAND_NOT_FOUND: EXIT.COMMAND_NOT_FOUND,
  COMMAND_NOT_EXECUTABLE: EXIT.COMMAND_NOT_EXECUTABLE,
  SPAWN_FAILED: EXIT.COMMAND_NOT_EXECUTABLE,
  // The team stash
  BAD_RECIPIENT: EXIT.ERROR,
  BAD_IDENTITY: EXIT.ERROR,
  NO_IDENTITY: EXIT.ERROR,
  NOT_A_MEMBER: EXIT.ERROR,
  NO_ACCESS: EXIT.ERROR,
  BAD_SCOPE: EXIT.ERROR,
  MEMBER_EXISTS: EXIT.ERROR,
  MEMBER_NOT_FOUND: EXIT.ERROR,
  TEAM_TAMPERED: EXIT.BAD_PASSWORD,
  TEAM_ROLLBACK: EXIT.BAD_PASSWORD,
  TEAM_CONFLICT: EXIT.ERROR,
  TEAM_REPLACED: EXIT.BAD_PASSWORD,
  TEAM_STALE: EXIT.BAD_PASSWORD,
  NOT_A_TEAM_STASH: EXIT.ERROR,
  NOT_ADMIN: EXIT.ERROR,
  // Enrolled sources (sstash enroll)
  NO_SSH_KEY: EXIT.ERROR,
  BAD_SSH_KEY: EXIT.ERROR,
  KEYRING_FAILED: EXIT.ERROR,
  NOT_ENROLLED: EXIT.ERROR,
} as const satisfies Record<string, (typeof EXIT)[keyof typeof EXIT]>

/** Stable error codes: the keys of {@link EXIT_STATUS}, documented in docs/ERRORS.md. */
export type SSErrorCode = keyof typeof EXIT_STATUS

/** The status a binary exits with when it ends on an error with this code. */
export function exitStatusOf(code: SSErrorCode): number {
  return EXIT_STATUS[code] ?? EXIT.ERROR
}

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
