/**
 * Is this file a team stash? For the commands that only need to know that (the identity's
 * personal stash, the guard, team help): it reads 12 bytes and loads nothing. Opening a stash
 * detects it once, with src/stash/detect.ts, which knows every format's start.
 */
import { SSError } from '../errors.js'
import { readFileHead } from '../fs/read.js'
import { isTeamStash } from '../stash/detect.js'

export { isTeamStash }

/** True when `path` is a regular file starting with the team stash magic; false for anything else, never throws. */
export function isTeamStashFile(path: string): boolean {
  try {
    const head = readFileHead(path, 'sstash-team/'.length)
    return head !== undefined && isTeamStash(head)
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
