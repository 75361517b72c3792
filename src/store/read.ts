/**
 * Reading files, with synchronous calls: a command does one thing at a time, and a read then
 * starts neither node:fs/promises (with the readline and stream modules it pulls in) nor
 * libuv's thread pool, which the commands that only read never need. Writing and the lock
 * live in file-io.ts.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SSError, errno, ioError } from '../errors.js'

/**
 * The real path a stash lives at: symlinks are followed, so writes replace the target
 * and keep the link. A missing file resolves through its directory.
 * @throws {SSError} DANGLING_LINK for a link to nothing; IO_ERROR
 */
export function resolveStashPath(path: string): string {
  try {
    return realpathSync(path)
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw ioError('resolve', path, error)
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
    throw ioError('resolve', path, error)
  }
}

/** The largest file sstash reads as a stash, a lock or a configuration file: 1 GiB. */
export const MAX_FILE_BYTES = 1024 ** 3

/**
 * Reads a regular file without ever blocking: it is opened non-blocking (a FIFO with no writer
 * opens at once), checked with fstat to be a regular file (not a FIFO, a device such as
 * /dev/zero, a socket or a directory), and read up to `maxBytes`. Symlinks are followed.
 * With `owners`, a file owned by any other uid is refused, checked on the open file itself (so
 * nothing can be swapped in between the check and the read).
 * @returns the bytes, or undefined when the file does not exist
 * @throws {SSError} NOT_A_FILE, UNSAFE_FILE, FILE_TOO_LARGE, IO_ERROR naming the file and the reason
 */
export function readRegularFile(path: string, maxBytes = MAX_FILE_BYTES, owners?: readonly number[]): Uint8Array | undefined {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined
    throw ioError('read', path, error)
  }
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) throw new SSError(`${path} is not a regular file`, 'NOT_A_FILE')
    if (owners !== undefined && !owners.includes(info.uid)) throw new SSError(`${path} belongs to another user (uid ${info.uid})`, 'UNSAFE_FILE')
    if (info.size > maxBytes) throw new SSError(`${path} is too large (${info.size} bytes, at most ${maxBytes})`, 'FILE_TOO_LARGE')
    // Read to the end, which may be past the size fstat saw if the file grew; never past the cap.
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(Math.min(info.size - total, maxBytes - total + 1), 64 * 1024))
      const read = readSync(fd, chunk, 0, chunk.length, null)
      if (read === 0) break
      total += read
      if (total > maxBytes) throw new SSError(`${path} is too large (more than ${maxBytes} bytes)`, 'FILE_TOO_LARGE')
      chunks.push(chunk.subarray(0, read))
    }
    return new Uint8Array(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total))
  } catch (error) {
    if (error instanceof SSError) throw error
    throw ioError('read', path, error)
  } finally {
    closeSync(fd)
  }
}

/** A stash file's bytes, or undefined when it does not exist. @throws as {@link readRegularFile} */
export function readIfExists(path: string): Uint8Array | undefined {
  return readRegularFile(path)
}

/** A file's bytes. @throws {SSError} IO_ERROR naming the file and the reason */
export function readLocalFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path))
  } catch (error) {
    throw ioError('read', path, error)
  }
}

/**
 * Device, inode, size and change times to the nanosecond: equal identities mean the file was
 * not replaced or written in between. '' when the file cannot be stat'ed (then nothing is reused).
 */
export function fileIdentity(path: string): string {
  try {
    const info = statSync(path, { bigint: true })
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`
  } catch {
    return ''
  }
}
