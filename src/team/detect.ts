/**
 * Is this file a team stash? The one check the opening code makes for every stash, so it reads
 * 12 bytes and loads nothing: a personal stash never loads the team code.
 */
import { SSError } from '../errors.js'
import { readFileHead } from '../fs/read.js'

const PREFIX = 'sstash-team/'

/** True when the bytes start with the team stash magic (any version). */
export function isTeamStash(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, PREFIX.length)).toString('latin1') === PREFIX
}

/** True when `path` is a regular file starting with the team stash magic; false for anything else, never throws. */
export function isTeamStashFile(path: string): boolean {
  try {
    const head = readFileHead(path, PREFIX.length)
    return head !== undefined && head.length === PREFIX.length && isTeamStash(head)
  } catch {
    return false
  }
}

/** The error for a password command (`passwd`, `unlock`, `migrate`) on a team stash, which members open with their own keys. */
export function teamHasNoPassword(path: string): SSError {
  return new SSError(`${path} is a team stash: it has no password; members open it with their own keys`, 'USAGE', {
    hint: '`sstash team rm` and `sstash team add` change who can open it',
  })
}
