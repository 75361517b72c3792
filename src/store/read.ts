/**
 * Reading files, with synchronous calls: a command does one thing at a time, and a read then
 * starts neither node:fs/promises (with the readline and stream modules it pulls in) nor
 * libuv's thread pool, which the commands that only read never need. Writing and the lock
 * live in file-io.ts.
 */
import { readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs'
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

/** The file's bytes, or undefined when it does not exist. @throws {SSError} IO_ERROR */
export function readIfExists(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path))
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined
    throw ioError('read', path, error)
  }
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
