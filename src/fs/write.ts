/**
 * Safe file writes. A stash file is only ever replaced whole: temp file (0600) in the same
 * directory, fsync, a check that the writer still holds the stash's lock (lock.ts), rename,
 * fsync the directory.
 *
 * Only writers load this module (and node:fs/promises with it); reads live in read.ts.
 */
import { randomBytes } from 'node:crypto'
import { open, readdir, rename, link, unlink, mkdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { SSError, errno, ioError } from '../errors.js'
import { checkStashDirectory } from './directory.js'
import { isAlive, type HeldLock } from './lock.js'
import { identityOf } from './read.js'

/** Creates a directory (and its parents) that only the user can enter. */
export async function makePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw ioError('create directory', path, error)
  }
}

// Names only need to be unique (O_EXCL catches a clash); the pid says whose a leftover is.
const tempName = (path: string): string => `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`

/**
 * The pid in the name of a temp file that a write of `path` makes beside it, or undefined
 * when `name` is not one.
 */
export function tempFileOwner(path: string, name: string): number | undefined {
  const prefix = `.${basename(path)}.`
  const match = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length)) : null
  return match ? Number(match[1]) : undefined
}

/** Removes temp files that dead writers left beside `path`. */
async function sweepTempFiles(path: string): Promise<void> {
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  for (const name of names) {
    const owner = tempFileOwner(path, name)
    if (owner !== undefined && !isAlive(owner)) await unlink(join(dirname(path), name)).catch(() => {})
  }
}

/** What {@link writeAtomic} may be asked besides the bytes. */
export interface WriteOptions {
  /** Fail with STASH_EXISTS instead of replacing an existing file. */
  exclusive?: boolean
  /** The stash's lock, held by this writer: checked just before the file is replaced. */
  lock?: HeldLock
}

/**
 * Replaces `path` with `bytes` atomically: readers and crashes see the old file or the new one.
 * @returns the {@link identityOf} the file written has, or '' when it could not be had
 * @throws {SSError} WRITE_FAILED, STASH_EXISTS, UNSAFE_DIRECTORY, LOCK_LOST, leaving the old file as it was
 */
export async function writeAtomic(path: string, bytes: Uint8Array, options: WriteOptions = {}): Promise<string> {
  const dir = dirname(path)
  checkStashDirectory(dir)
  // A writer that died holding the lock may have left its temp file.
  if (options.lock?.recovered) await sweepTempFiles(path)
  const tmp = join(dir, tempName(path))
  let handle
  let identity = ''
  try {
    handle = await open(tmp, 'wx', 0o600)
  } catch (error) {
    throw ioError('write', path, error, 'WRITE_FAILED')
  }
  try {
    // The umask may have taken bits from 0600; secrets files are exactly 0600.
    await handle.chmod(0o600)
    await handle.writeFile(bytes)
    await handle.sync()
    // The last moment to find that another writer took the lock: fail rather than replace its work.
    options.lock?.check()
    if (options.exclusive) {
      // link() fails if the name exists, where rename() would replace it.
      await link(tmp, path).catch((error: unknown) => {
        throw errno(error) === 'EEXIST' ? new SSError(`${path} already exists`, 'STASH_EXISTS') : error
      })
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
    // The identity of the file written, from its own descriptor (after the rename, which changes
    // its ctime): a stat of the path could be of a file another writer renamed in since, which a
    // cache keyed by it would then take for ours.
    identity = await handle.stat({ bigint: true }).then(identityOf, () => '')
    await handle.close()
    handle = undefined
  } catch (error) {
    await handle?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    if (error instanceof SSError) throw error
    throw ioError('write', path, error, 'WRITE_FAILED')
  }
  await syncDir(dir)
  return identity
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself has happened.
  }
}
