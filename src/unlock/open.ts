/**
 * Opening any stash: a team stash with the member's identity (./open-team.ts, loaded only for
 * one), any other as ./open-personal.ts opens a personal stash (the agent first, then the
 * enrolled and password sources). The names of ./open-personal.ts are exported here too, so
 * that a caller imports the opening of stashes from one module.
 */
import type { SecureStash } from '../store/secure-stash.js'
import type { TeamStash } from '../team/team-stash.js'
import { checkKey, checkValue, type Tree } from '../tree/tree.js'
import { detectStash, type StashFile } from '../stash/detect.js'
import { agentWriteValues } from '../agent/client.js'
import { openPersonal, readPersonal, type OpenStashOptions } from './open-personal.js'

export {
  PASSWORD_TRIES,
  agentTimeoutFromEnv,
  openPersonalStash,
  openWithAgent,
  openWithPassword,
  requireStash,
  shareWithAgent,
  type OpenStashOptions,
  type OpenedWithPassword,
} from './open-personal.js'

/** A stash {@link openStash} opened: a personal stash with its key, or a team stash with the member's identity. */
export type OpenedStash = SecureStash | TeamStash

/**
 * Opens a stash: a team stash with the member's identity (src/unlock/identity-source.ts); any
 * other with the key or password from the first source that has one: the agent (unless
 * `options.agent` is false), then the password sources (see {@link openWithPassword}). A
 * password a person gave also unlocks the stash in the agent (see {@link agentTimeoutFromEnv}).
 * @param stashPath - the stash file
 * @throws {SSError} STASH_NOT_FOUND (unless options.create), NOT_A_STASH, NO_PASSWORD, BAD_DURATION; {@link SSCryptoError}
 */
export async function openStash(stashPath: string, options: OpenStashOptions = {}): Promise<OpenedStash> {
  return openFound(detectStash(stashPath), options)
}

/** The one open step: the file was read and its format found once, and the key source follows from the format. */
async function openFound(found: StashFile, options: OpenStashOptions): Promise<OpenedStash> {
  if (found.kind === 'team') return (await import('./open-team.js')).openTeamStash(found, options.env ?? process.env)
  return openPersonal(found, options)
}

/**
 * Reads the subtrees at `keys` (`[[]]` for everything) for a command that only reads. When
 * the agent holds the stash, it decrypts and sends just those subtrees: this process derives
 * nothing and loads no cipher. Otherwise the stash is opened as {@link openStash} does.
 * @returns a tree holding at least the subtrees asked for
 * @throws as {@link openStash}
 */
export async function readStash(stashPath: string, keys: string[][], options: OpenStashOptions = {}): Promise<Tree> {
  const found = detectStash(stashPath)
  if (found.kind === 'team') return (await import('./open-team.js')).readTeamStash(found, keys, options.env ?? process.env)
  return readPersonal(found, keys, options)
}

/**
 * Stores `values` in one write. When the agent holds the stash, it writes them (through the
 * stash's lock and an atomic replace, like any write) and this process loads no cipher.
 * Otherwise the stash is opened as {@link openStash} does.
 * @throws as {@link openStash}, and as {@link SecureStash.update}
 */
export async function writeValues(stashPath: string, values: [string[], Uint8Array][], options: OpenStashOptions = {}): Promise<void> {
  for (const [key, value] of values) {
    checkKey(key)
    checkValue(value)
  }
  const found = detectStash(stashPath)
  if (options.agent !== false && found.kind !== 'team' && (await agentWriteValues(found.real, values, options.env ?? process.env))) return
  // A write too large for one request still uses the key the agent holds.
  const stash = await openFound(found, options)
  await stash.update((tree) => {
    for (const [key, value] of values) tree.write(key, value)
  })
}
