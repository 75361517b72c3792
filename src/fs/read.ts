/**
 * Reading files, with synchronous calls: a command does one thing at a time, and a read then
 * starts neither node:fs/promises (with the readline and stream modules it pulls in) nor
 * libuv's thread pool, which the commands that only read never need. Writing lives in write.ts,
 * the lock in lock.ts.
 */
import { closeSync, constants, fstatSync, openSync, readSync, readlinkSync, realpathSync, statSync, type BigIntStats } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SSError, errno, ioError } from '../errors.js'
import { MAX_TREE_BYTES } from '../tree/tree.js'

/**
 * The real path a stash lives at: symlinks are followed, so writes replace the target
 * and keep the link. A missing file resolves through its directory.
 * @throws {SSError} DANGLING_LINK for a link to nothing; IO_ERROR
 */
export function resolveStashPath(path: string): string {
  try {
    return realpathSync(path)
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw ioError('read', path, error)
  }
  // A dangling link: writing "through" it would replace the link itself (or, with create,
  // loop forever between "missing" and "exists"); refuse rather than guess.
  let target: string | undefined
  try {
    target = readlinkSync(path)
  } catch {
    target = undefined
  }
  if (target !== undefined) throw new SSError(`${path} is a symbolic link to ${target}, which does not exist`, 'DANGLING_LINK')
  try {
    return join(realpathSync(dirname(path)), basename(path))
  } catch (error) {
    if (errno(error) === 'ENOENT') return path
    throw ioError('read', path, error)
  }
}

/** The largest file sstash reads as a stash, or as a file git hands the team stash's drivers: 1 GiB. */
export const MAX_FILE_BYTES = 1024 ** 3

const MiB = 1024 * 1024

/**
 * How much sstash reads of each kind of file: far above any real one, far below what would
 * hurt. One table, so that docs/DESIGN.md can list it; each caller names its line.
 */
export const READ_LIMITS = {
  /** A stash file, personal or team, and the files git hands the team stash's drivers. */
  stash: MAX_FILE_BYTES,
  /** A value file (`set --file`, `storeFile`): what a value can hold. */
  value: MAX_TREE_BYTES,
  /** SSTASH_PASSWORD_FILE and SSTASH_NEW_PASSWORD_FILE. */
  password: 64 * 1024,
  /** SSTASH_IDENTITY_FILE, and a public key file (`team add --key`). */
  key: MiB,
  /** git.json (the mapping rules), .gitattributes. */
  config: 4 * MiB,
  /** A reference file (`--env-file`), a package.json. */
  references: 16 * MiB,
  /** A template (`inject -i`). */
  template: 64 * MiB,
  /** A file to import (a .env, ~/.git-credentials), read by `import` and by `doctor`. */
  import: 64 * MiB,
  /** The team stash generations seen (team-seen). */
  state: 16 * MiB,
  /** A file of /proc (a process's start time, the bytes of argv and the environment). */
  proc: 16 * MiB,
} as const

/**
 * What {@link readFileChecked} may be asked to do besides reading. Every file sstash reads goes
 * through it (a test holds that), each caller with the limit that fits what it reads.
 */
export interface ReadOptions {
  /** The most bytes read: a larger file is refused before it is read, a file that grows is cut off at this. */
  maxBytes: number
  /**
   * Also read a FIFO: a pipe the user named, such as `--file <(pass show x)`. It is read without
   * blocking on the open: a FIFO nobody writes to reads as empty at once; one whose writer is
   * there is read until the writer closes it (or `maxBytes`). Devices, sockets and directories
   * are refused whatever this says.
   */
  allowFifo?: boolean
  /** Refuse a symbolic link (a lock file is never one) instead of following it. */
  noFollow?: boolean
  /** Refuse a file owned by any other uid, checked on the open file itself (nothing can be swapped in between). */
  owners?: readonly number[]
}

/** A file read by {@link readFileChecked}: its bytes and what fstat said before the read. */
export interface CheckedFile {
  bytes: Uint8Array
  stats: BigIntStats
}

/**
 * The one way sstash reads a file: it never blocks, never fills memory. The file is opened
 * non-blocking (a FIFO with no writer opens at once, a terminal is not made ours), checked with
 * fstat on the open file to be a regular file (not a FIFO unless `allowFifo`, a device such as
 * /dev/zero or /dev/urandom, a socket or a directory), and read up to `maxBytes`. Symlinks are
 * followed unless `noFollow` is set.
 * @returns the bytes and the file's fstat, or undefined when the file does not exist
 * @throws {SSError} NOT_A_FILE, FILE_TOO_LARGE, UNSAFE_FILE (`owners`), IO_ERROR naming the file and the reason
 */
export function readFileChecked(path: string, options: ReadOptions): CheckedFile | undefined {
  const { maxBytes } = options
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (options.noFollow ? constants.O_NOFOLLOW : 0))
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined
    if (options.noFollow && errno(error) === 'ELOOP') throw new SSError(`${path} is a symbolic link, not a regular file`, 'NOT_A_FILE')
    throw ioError('read', path, error)
  }
  try {
    const stats = fstatSync(fd, { bigint: true })
    const fifo = stats.isFIFO() && options.allowFifo === true
    if (!stats.isFile() && !fifo) throw new SSError(`${path} is not a regular file`, 'NOT_A_FILE')
    if (options.owners !== undefined && !options.owners.includes(Number(stats.uid)))
      throw new SSError(`${path} belongs to another user (uid ${stats.uid})`, 'UNSAFE_FILE')
    const size = Number(stats.size)
    if (size > maxBytes) throw new SSError(`${path} is too large (${size} bytes, at most ${maxBytes})`, 'FILE_TOO_LARGE')
    return { bytes: readToEnd(fd, path, size, maxBytes), stats }
  } catch (error) {
    if (error instanceof SSError) throw error
    throw ioError('read', path, error)
  } finally {
    closeSync(fd)
  }
}

let pause: Int32Array | undefined

/** Sleeps `ms` without the event loop: a FIFO's writer has not written yet. */
function sleepSync(ms: number): void {
  pause ??= new Int32Array(new SharedArrayBuffer(4))
  Atomics.wait(pause, 0, 0, ms)
}

// Reads to the end, which may be past the size fstat saw if the file grew; never past the cap.
// A FIFO opened non-blocking answers EAGAIN while its writer is silent: wait a little, read again.
function readToEnd(fd: number, path: string, size: number, maxBytes: number): Uint8Array {
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.max(Math.min(size - total, maxBytes - total + 1), 64 * 1024))
    let read: number
    try {
      read = readSync(fd, chunk, 0, chunk.length, null)
    } catch (error) {
      if (errno(error) !== 'EAGAIN') throw error
      sleepSync(10)
      continue
    }
    if (read === 0) break
    total += read
    if (total > maxBytes) throw new SSError(`${path} is too large (more than ${maxBytes} bytes)`, 'FILE_TOO_LARGE')
    chunks.push(chunk.subarray(0, read))
  }
  return new Uint8Array(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total))
}

/**
 * The owners a file of this user's own state may have: this user (`owners` of
 * {@link readRegularFile}). What another user wrote there (a shared or pre-created state
 * directory) is refused, never believed: it would steer what a clone remembers.
 */
export const THIS_USER: readonly number[] | undefined = process.getuid ? [process.getuid()] : undefined

/**
 * Reads a regular file without ever blocking, as {@link readFileChecked} does.
 * @param maxBytes - the most bytes read
 * @param owners - the uids the file may belong to (default: any)
 * @returns the bytes, or undefined when the file does not exist
 * @throws {SSError} NOT_A_FILE, FILE_TOO_LARGE, IO_ERROR naming the file and the reason
 */
export function readRegularFile(path: string, maxBytes: number, owners?: readonly number[]): Uint8Array | undefined {
  return readFileChecked(path, { maxBytes, owners })?.bytes
}

/**
 * The first `bytes` bytes of a regular file (what it starts with: a magic number, a `#!` line),
 * read as {@link readFileChecked} reads; a longer file is no error.
 * @returns fewer bytes when the file is shorter; undefined when it does not exist
 * @throws {SSError} NOT_A_FILE, IO_ERROR
 */
export function readFileHead(path: string, bytes: number): Uint8Array | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined
    throw ioError('read', path, error)
  }
  try {
    if (!fstatSync(fd).isFile()) throw new SSError(`${path} is not a regular file`, 'NOT_A_FILE')
    const head = Buffer.alloc(bytes)
    return new Uint8Array(head.subarray(0, readSync(fd, head, 0, bytes, 0)))
  } catch (error) {
    if (error instanceof SSError) throw error
    throw ioError('read', path, error)
  } finally {
    closeSync(fd)
  }
}

/**
 * A file the user chose that decides what we do (a reference file, a template): a regular
 * file, owned by the user or root, that nobody else can write. Whoever else can write it could
 * choose which secrets go where.
 * @param maxBytes - the most bytes read
 * @throws {SSError} UNSAFE_FILE; as {@link readFileChecked}; IO_ERROR when it does not exist
 */
export function readOwnFile(path: string, maxBytes: number): Uint8Array {
  const file = readFileChecked(path, { maxBytes })
  if (file === undefined) throw new SSError(`cannot read ${path}: no such file or directory`, 'IO_ERROR')
  // The fstat of the very file read: a swap between a check and the read changes nothing.
  const { uid, mode } = file.stats
  const me = process.getuid?.()
  if (me !== undefined && uid !== BigInt(me) && uid !== 0n)
    throw new SSError(`refusing to read ${path}: it belongs to another user (uid ${uid})`, 'UNSAFE_FILE', { hint: 'copy it to a file of your own, or have it given to you with chown' })
  if ((mode & 0o002n) !== 0n)
    throw new SSError(`refusing to read ${path}: anyone can write it (mode ${(mode & 0o777n).toString(8)})`, 'UNSAFE_FILE', { hint: `chmod o-w ${path}` })
  return file.bytes
}

/** A stash file's bytes, or undefined when it does not exist. @throws as {@link readRegularFile} */
export function readIfExists(path: string): Uint8Array | undefined {
  return readRegularFile(path, MAX_FILE_BYTES)
}

/**
 * A file the user named, that must exist: a regular file, or a FIFO when `allowFifo` (a pipe
 * the user chose, such as `<(command)`), read as {@link readFileChecked} reads it.
 * @throws {SSError} IO_ERROR when it does not exist; as {@link readFileChecked}
 */
export function readNamedFile(path: string, options: ReadOptions): CheckedFile {
  const file = readFileChecked(path, options)
  if (file === undefined) throw new SSError(`cannot read ${path}: no such file or directory`, 'IO_ERROR')
  return file
}

/**
 * The bytes of a value file the user named (`set --file`, a file or directory import): a
 * regular file, or a pipe the user chose such as `<(command)`; never more than a value can hold
 * ({@link MAX_TREE_BYTES}). A device such as /dev/zero is refused without being read.
 * @throws {SSError} NOT_A_FILE, FILE_TOO_LARGE; IO_ERROR naming the file and the reason
 */
export function readLocalFile(path: string): Uint8Array {
  return readNamedFile(path, { maxBytes: MAX_TREE_BYTES, allowFifo: true }).bytes
}

/**
 * Device, inode, size and change times to the nanosecond: equal identities mean the file was
 * not replaced or written in between.
 */
export function identityOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`
}

/** The {@link identityOf} the file at `path` has now; '' when it cannot be stat'ed (then nothing is reused). */
export function fileIdentity(path: string): string {
  try {
    return identityOf(statSync(path, { bigint: true }))
  } catch {
    return ''
  }
}
