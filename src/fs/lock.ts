/**
 * The lock that serialises a stash's writers: `<stash>.lock`, created with O_EXCL, holding
 *
 *   <pid>\n<host name>\n<random nonce>\n<process start time, Linux only, else empty>\n
 *
 * Its rules (SECURITY.md, "Writes and the lock"):
 * - A lock whose owner still runs on this host is never broken, however old it is. The owner
 *   is its pid and, where /proc tells it, the process's start time, so a reused pid is no owner.
 * - A lock whose owner is gone from this host is broken at once, by one breaker at a time.
 * - A lock made on another host (a shared network directory) is never broken: sstash cannot
 *   see that host's processes. The wait ends with LOCK_TIMEOUT naming the host and the file.
 * - A lock file made by another user (neither this user nor root) was made by no writer of
 *   this stash: it is removed, or, where that is not allowed (a sticky directory), refused at once.
 * - A lock path that is not a regular file (a FIFO, a symlink) is refused at once, unread.
 * - Every wait ends at its deadline; no path around the loop skips it.
 * - A write checks that the lock is still its own just before it replaces the stash, and fails
 *   with LOCK_LOST rather than replace another writer's work.
 *
 * Only writers load this module (and node:fs/promises with it); doctor reads locks with it too.
 */
import { randomBytes } from 'node:crypto'
import { statSync, type Stats } from 'node:fs'
import { lstat, open, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { SSError, errno, ioError, reasonOf } from '../errors.js'
import { checkStashDirectory } from './directory.js'
import { READ_LIMITS, identityOf, readFileChecked, readRegularFile } from './read.js'

/** This machine's name; node:os is loaded only by a write (docs/SPEED.md: it is not free to load). */
const hostname = (): string => process.getBuiltinModule('node:os').hostname()

/** How long a writer waits for another writer's lock before giving up. */
export const LOCK_TIMEOUT_MS = 15_000
/** How long a lock file may name no owner: its writer may be between creating and writing it. */
const INCOMPLETE_MS = 2_000
/** The largest lock file read; a real one is under 100 bytes. */
const MAX_LOCK_BYTES = 4096

/** Who wrote a lock file. */
export interface LockOwner {
  pid: number
  host: string
  /** Random: no other writer's lock has the same text. */
  nonce: string
  /** The process's start time from /proc (Linux), or '' where it is not known. */
  start: string
}

/** A lock file as read from disk. */
export interface LockFile {
  /** Its text, compared whole to tell one lock from another. */
  raw: string
  /** undefined when the file names no owner (being written, or left empty). */
  owner: LockOwner | undefined
  /** The user who created it. */
  uid: number
  ageMs: number
  /** Device, inode and times: with `raw`, tells this file from a later one. */
  identity: string
}

/**
 * What a lock means to a writer that finds it:
 * - `held`: its owner runs on this host; wait
 * - `starting`: it names no owner yet, and is young; wait
 * - `abandoned`: its owner is gone from this host, or it never named one; break it
 * - `remote`: made on another host, which sstash cannot check; wait, never break
 * - `foreign`: made by another user, so by no writer of this stash; remove it
 */
export type LockState = 'held' | 'starting' | 'abandoned' | 'remote' | 'foreign'

/** Parses a lock file's text. @returns its owner, or undefined when it names none */
export function parseLock(text: string): LockOwner | undefined {
  const [pid, host, nonce, start] = text.split('\n')
  if (pid === undefined || !/^[1-9][0-9]{0,9}$/.test(pid) || !host) return undefined
  return { pid: Number(pid), host, nonce: nonce ?? '', start: start ?? '' }
}

/** The lock file that guards a stash's writers. */
export const lockPathOf = (stashPath: string): string => `${stashPath}.lock`

/**
 * Reads a lock file without following a symlink or blocking on a FIFO.
 * @returns undefined when there is none
 * @throws {SSError} NOT_A_FILE for anything but a regular file; FILE_TOO_LARGE; IO_ERROR
 */
export function readLock(lockPath: string): LockFile | undefined {
  const file = readFileChecked(lockPath, { maxBytes: MAX_LOCK_BYTES, noFollow: true })
  if (file === undefined) return undefined
  const raw = Buffer.from(file.bytes).toString('utf8')
  return {
    raw,
    owner: parseLock(raw),
    uid: Number(file.stats.uid),
    ageMs: Date.now() - Number(file.stats.mtimeMs),
    identity: identityOf(file.stats),
  }
}

/** True while a process with this pid exists (EPERM: it exists, as another user). */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errno(error) === 'EPERM'
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or ''. */
function startTimeOf(pid: number): string {
  try {
    const stat = Buffer.from(readRegularFile(`/proc/${pid}/stat`, READ_LIMITS.proc) ?? new Uint8Array(0)).toString('latin1')
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
  } catch {
    return ''
  }
}

/** True when the lock's owner still runs here; true too when it runs but its start time cannot be read. */
function ownerRuns(owner: LockOwner): boolean {
  if (!isAlive(owner.pid)) return false
  if (owner.start === '') return true
  const now = startTimeOf(owner.pid)
  return now === '' || now === owner.start
}

/**
 * The users whose lock files are locks of this stash: the writers it can have. This user,
 * root, and the stash file's owner (root writing a user's stash must respect the user's lock).
 * Empty where there are no uids (Windows): then no lock file counts as foreign.
 */
export function lockOwners(stashPath: string): number[] {
  const uid = process.getuid?.()
  if (uid === undefined) return []
  const owners = [uid, 0]
  try {
    owners.push(statSync(stashPath).uid)
  } catch {
    // No stash yet (init): only this user and root can be writing it.
  }
  return owners
}

/**
 * Judges a lock found on disk (see {@link LockState}).
 * @param owners - the users whose lock files count (see {@link lockOwners}); [] trusts every file
 */
export function judgeLock(lock: LockFile, owners: readonly number[]): LockState {
  if (owners.length > 0 && !owners.includes(lock.uid)) return 'foreign'
  if (lock.owner === undefined) return lock.ageMs > INCOMPLETE_MS ? 'abandoned' : 'starting'
  if (lock.owner.host !== hostname()) return 'remote'
  return ownerRuns(lock.owner) ? 'held' : 'abandoned'
}

/** The lock a writer holds, for the write to check just before it replaces the stash. */
export interface HeldLock {
  readonly path: string
  /** True when taking it broke an abandoned lock: its writer may have left a temp file. */
  readonly recovered: boolean
  /** @throws {SSError} LOCK_LOST when the lock file is no longer this writer's */
  check(): void
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `fn` while holding the stash's lock.
 * @param fn - gets the lock, to pass to {@link writeAtomic} so the write checks it is still held
 * @param timeoutMs - how long to wait for another writer (default {@link LOCK_TIMEOUT_MS})
 * @throws {SSError} LOCK_TIMEOUT when another writer holds it until the deadline; NOT_A_FILE,
 *   UNSAFE_DIRECTORY or WRITE_FAILED when the lock file cannot be used, at once
 */
export async function withLock<T>(stashPath: string, fn: (lock: HeldLock) => Promise<T>, timeoutMs = LOCK_TIMEOUT_MS): Promise<T> {
  const lockPath = lockPathOf(stashPath)
  const mine = `${process.pid}\n${hostname()}\n${randomBytes(12).toString('hex')}\n${startTimeOf(process.pid)}\n`
  const recovered = await acquire(stashPath, lockPath, mine, Date.now() + timeoutMs)
  // What is at the lock path now; anything unreadable is not our lock either.
  const current = (): LockFile | undefined => {
    try {
      return readLock(lockPath)
    } catch {
      return undefined
    }
  }
  const lock: HeldLock = {
    path: lockPath,
    recovered,
    check() {
      const now = current()
      if (now?.raw === mine) return
      const by = now?.owner ? `taken over by process ${now.owner.pid} on ${now.owner.host}` : now ? 'replaced' : 'removed'
      throw new SSError(`${stashPath} was not written: its lock ${lockPath} was ${by} while this write held it`, 'LOCK_LOST', {
        hint: 'nothing was lost; run the command again',
      })
    },
  }
  try {
    return await fn(lock)
  } finally {
    // Only our own lock is removed: a lock taken over is the other writer's.
    if (current()?.raw === mine) await unlink(lockPath).catch(() => {})
  }
}

/** Takes the lock by the deadline. @returns true when an abandoned lock was broken on the way */
async function acquire(stashPath: string, lockPath: string, mine: string, deadline: number): Promise<boolean> {
  // First, so that no lock is taken, or judged, in a directory sstash will not write in.
  checkStashDirectory(dirname(stashPath))
  const owners = lockOwners(stashPath)
  let recovered = false
  for (let attempt = 0; ; attempt++) {
    if (await create(lockPath, mine)) return recovered
    const lock = readLockOrFail(lockPath)
    const state = lock && judgeLock(lock, owners)
    // Before anything else: no state, and no way around the loop, waits past the deadline.
    if (Date.now() >= deadline) throw lockTimeout(stashPath, lockPath, lock, state)
    if (lock && (state === 'abandoned' || state === 'foreign')) {
      if (await breakLock(lockPath, lock, state)) recovered ||= state === 'abandoned'
      continue
    }
    await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 80) * (0.5 + Math.random()))
  }
}

/**
 * Creates the lock file holding `mine`. @returns false when a lock file exists
 * @throws {SSError} WRITE_FAILED, leaving no lock file behind (a full disk leaves no empty one)
 */
async function create(lockPath: string, mine: string): Promise<boolean> {
  let handle
  try {
    handle = await open(lockPath, 'wx', 0o600)
  } catch (error) {
    if (errno(error) === 'EEXIST') return false
    throw ioError('create the lock', lockPath, error, 'WRITE_FAILED')
  }
  let created: Stats | undefined
  try {
    created = await handle.stat()
    await handle.writeFile(mine)
    await handle.close()
    return true
  } catch (error) {
    await handle.close().catch(() => {})
    // Ours by its inode, unless a writer judged it abandoned meanwhile and took the name.
    const now = await lstat(lockPath).catch(() => undefined)
    if (now && (created === undefined || (now.ino === created.ino && now.dev === created.dev))) await unlink(lockPath).catch(() => {})
    throw ioError('write the lock', lockPath, error, 'WRITE_FAILED')
  }
}

// A lock path sstash did not make (a FIFO, a symlink, a huge file): refused at once, unread.
function readLockOrFail(lockPath: string): LockFile | undefined {
  try {
    return readLock(lockPath)
  } catch (error) {
    if (!(error instanceof SSError)) throw error
    throw new SSError(error.message, error.code, { cause: error, hint: `sstash makes its lock as a small regular file; if you made ${lockPath}, remove it` })
  }
}

function lockTimeout(stashPath: string, lockPath: string, lock: LockFile | undefined, state: LockState | undefined): SSError {
  const owner = lock?.owner
  if (state === 'remote' && owner)
    return new SSError(`${stashPath} is locked by process ${owner.pid} on ${owner.host}`, 'LOCK_TIMEOUT', {
      hint: `sstash cannot see whether it still runs there; if no sstash runs on ${owner.host}, remove ${lockPath}`,
    })
  if (state === 'held' && owner)
    return new SSError(`${stashPath} is locked by process ${owner.pid}, which is still running`, 'LOCK_TIMEOUT', {
      hint: `wait for it to finish; if process ${owner.pid} is not sstash (a reused pid), remove ${lockPath}`,
    })
  return new SSError(`${stashPath} is locked (${lockPath})`, 'LOCK_TIMEOUT')
}

/**
 * Removes an abandoned or foreign lock, if it is still the one judged. Two writers may judge
 * the same lock; a short-lived guard lets one at a time break it, after reading it again.
 * @returns true when the lock was removed
 * @throws {SSError} when it may not be removed (another user's file in a sticky directory)
 */
async function breakLock(lockPath: string, judged: LockFile, state: 'abandoned' | 'foreign'): Promise<boolean> {
  const guard = `${lockPath}.break`
  try {
    await (await open(guard, 'wx', 0o600)).close()
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw ioError('create the lock', guard, error, 'WRITE_FAILED')
    // A breaker holds the guard for microseconds: an old guard was left by a killed one.
    const info = await lstat(guard).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > 5_000) await remove(guard, `the lock guard ${guard}`)
    await sleep(5)
    return false
  }
  try {
    const now = readLock(lockPath)
    if (now?.raw !== judged.raw || now.identity !== judged.identity) return false
    await remove(
      lockPath,
      state === 'foreign'
        ? `the lock file ${lockPath} of another user (uid ${judged.uid})`
        : `the stale lock ${lockPath}${judged.owner ? ` (process ${judged.owner.pid} is gone)` : ''}`,
    )
    return true
  } finally {
    await unlink(guard).catch(() => {})
  }
}

// A file we must remove to go on; when we may not (a sticky directory, another user's file),
// waiting would never help, so the write fails at once and says why.
async function remove(path: string, what: string): Promise<void> {
  try {
    await unlink(path)
  } catch (error) {
    if (errno(error) === 'ENOENT') return
    if (errno(error) === 'EPERM' || errno(error) === 'EACCES')
      throw new SSError(`cannot remove ${what}: ${reasonOf(error)}`, 'UNSAFE_DIRECTORY', {
        hint: `another user can create files in ${dirname(path)}; ask them or root to remove it, or keep the stash in a directory of your own`,
      })
    throw ioError('remove', path, error, 'WRITE_FAILED')
  }
}
