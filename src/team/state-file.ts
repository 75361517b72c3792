/**
 * This clone's memory of team stashes (team-seen, team-versions/<team-id>): files of this user's
 * alone, read only when this user owns them, and updated by any number of commands at once
 * without losing what one of them learnt.
 */
import { dirname } from 'node:path'
import { SSError } from '../errors.js'
import { THIS_USER, readRegularFile } from '../fs/read.js'

/** A state file as it is now: undefined when it is missing. @throws {SSError} NOT_A_FILE, UNSAFE_FILE (another user's), IO_ERROR */
export const readStateFile = (path: string, maxBytes: number): Uint8Array | undefined => readRegularFile(path, maxBytes, THIS_USER)

/**
 * Updates a state file: makes its private directory, takes its lock, reads it as it is then,
 * merges what this command learnt into it, and writes the result atomically (0600).
 * @param merge - the new contents, from the contents on disk now (undefined when missing)
 * @throws {SSError} WRITE_FAILED
 */
export async function updateStateFile(path: string, maxBytes: number, merge: (now: Uint8Array | undefined) => Uint8Array): Promise<void> {
  const [{ makePrivateDir, writeAtomic }, { withLock }] = await Promise.all([import('../fs/write.js'), import('../fs/lock.js')])
  try {
    await makePrivateDir(dirname(path))
    await withLock(path, async (lock) => {
      await writeAtomic(path, merge(readStateFile(path, maxBytes)), { lock })
    })
  } catch (error) {
    throw new SSError(`cannot remember what this clone saw of the team stash in ${path}: ${(error as Error).message}`, 'WRITE_FAILED', { cause: error })
  }
}
