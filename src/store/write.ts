/**
 * Safe file writes and the inter-process lock. A stash file is only ever replaced whole:
 * temp file (0600) in the same directory, fsync, rename, fsync the directory. Writers
 * serialise on `<stash>.lock`, created with O_EXCL; a lock left by a dead process is
 * broken at once, any lock older than a minute is broken too.
 *
 * Only writers load this module (and node:fs/promises with it); reads live in file-read.ts.
 */
import { open, readdir, rename, link, unlink, stat, mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { SSError, errno, ioError } from '../errors.js'
import { readRegularFile } from './read.js'

/** How long a writer waits for another writer's lock before giving up. */
export const LOCK_TIMEOUT_MS = 15_000
/** A lock older than this is stale even when its process seems alive (pid reuse). */
export const LOCK_STALE_MS = 60_000

/** Creates a directory (and its parents) that only the user can enter. */
export async function makePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw ioError('create directory', path, error)
  }
}

// Names only need to be unique (O_EXCL catches a clash), not secret: no need to load node:crypto.
const randomHex = (digits: number): string => {
  let out = ''
  while (out.length < digits) out += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  return out.slice(0, digits)
}

const tempName = (path: string): string => `.${basename(path)}.${process.pid}.${randomHex(12)}.tmp`

/** Removes temp files that dead writers left beside `path`. */
async function sweepTempFiles(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  for (const name of names) {
    const match = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length)) : null
    if (match && !isAlive(Number(match[1]))) await unlink(join(dirname(path), name)).catch(() => {})
  }
}

/**
 * Replaces `path` with `bytes` atomically: readers and crashes see the old file or the new one.
 * @param exclusive - fail with STASH_EXISTS instead of replacing an existing file
 * @throws {SSError} WRITE_FAILED, leaving the old file as it was
 */
export async function writeAtomic(path: string, bytes: Uint8Array, exclusive = false): Promise<void> {
  const dir = dirname(path)
  await checkDirectory(dir)
  const tmp = join(dir, tempName(path))
  let handle
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
    await handle.close()
    handle = undefined
    if (exclusive) {
      // link() fails if the name exists, where rename() would replace it.
      await link(tmp, path).catch((error: unknown) => {
        throw errno(error) === 'EEXIST' ? new SSError(`${path} already exists`, 'STASH_EXISTS') : error
      })
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
  } catch (error) {
    await handle?.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    if (error instanceof SSError) throw error
    throw ioError('write', path, error, 'WRITE_FAILED')
  }
  await syncDir(dir)
}

/**
 * Refuses a directory that another user could write to: whoever can rename files in it can
 * swap the stash for an older copy or take its lock. Owned by us or root, and not writable by
 * the world unless sticky (like /tmp). Group-writable is allowed: with per-user groups (umask
 * 002) it is common and the group is the user alone.
 * @throws {SSError} UNSAFE_DIRECTORY
 */
export async function checkDirectory(dir: string): Promise<void> {
  let info
  try {
    info = await stat(dir)
  } catch (error) {
    throw ioError('write in', dir, error, 'WRITE_FAILED')
  }
  const uid = process.getuid?.()
  if (uid !== undefined && info.uid !== uid && info.uid !== 0)
    throw new SSError(`refusing to write in ${dir}: it belongs to another user (uid ${info.uid})`, 'UNSAFE_DIRECTORY')
  if ((info.mode & 0o002) !== 0 && (info.mode & 0o1000) === 0)
    throw new SSError(`refusing to write in ${dir}: anyone can write there (mode ${(info.mode & 0o7777).toString(8)})`, 'UNSAFE_DIRECTORY')
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface LockInfo {
  pid: number
  host: string
  raw: string
  ageMs: number
}

async function readLock(lockPath: string): Promise<LockInfo | undefined> {
  try {
    // Never waits: a FIFO or a device in the lock's place is an error, not a read that blocks.
    const bytes = readRegularFile(lockPath, 4096)
    if (bytes === undefined) return undefined
    const info = await stat(lockPath)
    const raw = new TextDecoder().decode(bytes)
    const [pid, host] = raw.split('\n')
    return { pid: Number(pid), host: host ?? '', raw, ageMs: Date.now() - info.mtimeMs }
  } catch (error) {
    if (error instanceof SSError) throw error
    if (errno(error) === 'ENOENT') return undefined
    throw ioError('read lock', lockPath, error)
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errno(error) === 'EPERM'
  }
}

/** True when a lock was left by a process that is gone, or is too old to be live. */
export function isStale(lock: { pid: number; host: string; ageMs: number }): boolean {
  if (lock.ageMs > LOCK_STALE_MS) return true
  // A lock file with no owner yet is being written: give its writer a moment.
  if (!Number.isSafeInteger(lock.pid) || lock.pid <= 0) return lock.ageMs > 2_000
  return lock.host === hostname() && !isAlive(lock.pid)
}

/** The lock file that guards a stash's writers. */
export const lockPathOf = (stashPath: string): string => `${stashPath}.lock`

/**
 * Runs `fn` while holding the stash's lock.
 * @throws {SSError} LOCK_TIMEOUT when another live writer holds it for too long
 */
export async function withLock<T>(stashPath: string, fn: () => Promise<T>, timeoutMs = LOCK_TIMEOUT_MS): Promise<T> {
  const lockPath = lockPathOf(stashPath)
  const mine = `${process.pid}\n${hostname()}\n${randomHex(16)}\n`
  const deadline = Date.now() + timeoutMs
  let brokeStale = false
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600)
      try {
        await handle.writeFile(mine)
      } finally {
        await handle.close()
      }
      break
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw ioError('create lock', lockPath, error)
    }
    const lock = await readLock(lockPath)
    if (lock && isStale(lock)) {
      await breakLock(lockPath, lock.raw)
      brokeStale = true
      continue
    }
    if (Date.now() > deadline)
      throw new SSError(`${stashPath} is locked by process ${lock?.pid ?? 'unknown'}`, 'LOCK_TIMEOUT')
    await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 80) * (0.5 + Math.random()))
  }
  // A writer that died holding the lock may have left its temp file.
  if (brokeStale) await sweepTempFiles(stashPath)
  try {
    return await fn()
  } finally {
    const lock = await readLock(lockPath).catch(() => undefined)
    if (lock?.raw === mine) await unlink(lockPath).catch(() => {})
  }
}

// Two processes may judge the same lock stale; a short-lived guard lets only one break it,
// and only if the lock is still the one judged stale.
async function breakLock(lockPath: string, staleRaw: string): Promise<void> {
  const guard = `${lockPath}.break`
  try {
    await (await open(guard, 'wx', 0o600)).close()
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw ioError('create lock', guard, error)
    const info = await stat(guard).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > 5_000) await unlink(guard).catch(() => {})
    await sleep(5)
    return
  }
  try {
    const lock = await readLock(lockPath)
    if (lock?.raw === staleRaw) await unlink(lockPath).catch(() => {})
  } finally {
    await unlink(guard).catch(() => {})
  }
}
