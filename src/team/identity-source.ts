/**
 * Where a member's identity comes from, in this order:
 *   1. SSTASH_IDENTITY: an AGE-SECRET-KEY-1... string (CI);
 *   2. SSTASH_IDENTITY_FILE: an age identity file, or an unencrypted OpenSSH ed25519 key;
 *   3. the identity kept at `sstash/identity` in the member's personal stash, unlocked as
 *      every stash is (the agent, then the password sources).
 * `sstash identity` makes the third on first use.
 */
import { SSError, SSKeyError, ioError } from '../errors.js'
import { defaultStashPath, stashPath } from '../locations.js'
import { readRegularFile } from '../store/read.js'
import type { Identity } from './age-file.js'
import { isTeamStashFile } from './detect.js'
import { generateIdentity, parseIdentities } from './keys.js'
import { randomBytes } from './primitives.js'

type Env = Record<string, string | undefined>

/** The key path of the identity in the personal stash. */
export const IDENTITY_KEY = ['sstash', 'identity']

/** The personal stash: $SSTASH_FILE unless that is a team stash, else the default location. */
export function personalStashPath(env: Env = process.env): string {
  const chosen = stashPath(undefined, env)
  return isTeamStashFile(chosen) ? defaultStashPath(env) : chosen
}

/**
 * The identities from SSTASH_IDENTITY or SSTASH_IDENTITY_FILE, or undefined when neither is set.
 * @throws {SSError} BAD_IDENTITY, IO_ERROR
 */
export function identitiesFromEnvironment(env: Env = process.env): Identity[] | undefined {
  if (env.SSTASH_IDENTITY) return parseIdentities(env.SSTASH_IDENTITY, 'SSTASH_IDENTITY')
  const file = env.SSTASH_IDENTITY_FILE
  if (!file) return undefined
  let bytes: Uint8Array | undefined
  try {
    bytes = readRegularFile(file, 1024 * 1024)
  } catch (error) {
    throw error instanceof SSError ? error : ioError('read SSTASH_IDENTITY_FILE', file, error)
  }
  if (bytes === undefined) throw new SSError(`cannot read SSTASH_IDENTITY_FILE ${file}: no such file or directory`, 'BAD_IDENTITY')
  return parseIdentities(Buffer.from(bytes).toString('utf8'), file)
}

/**
 * The identities to open a team stash with, from the first source that has one.
 * @throws {SSError} NO_IDENTITY when there is none; BAD_IDENTITY; and as openStash for the personal stash
 */
export async function loadIdentities(env: Env = process.env): Promise<Identity[]> {
  const fromEnv = identitiesFromEnvironment(env)
  if (fromEnv) return fromEnv
  const personal = personalStashPath(env)
  const hint = 'set SSTASH_IDENTITY or SSTASH_IDENTITY_FILE, or run `sstash identity` to keep one in your personal stash'
  const { readStash, requireStash } = await import('../unlock/open.js')
  try {
    requireStash(personal)
  } catch {
    throw new SSError(`no identity to open a team stash with (no personal stash at ${personal})`, 'NO_IDENTITY', { hint })
  }
  // A team stash cannot hold the identity that opens team stashes (it would need itself to open).
  if (isTeamStashFile(personal)) throw new SSError(`no identity to open a team stash with: ${personal} is a team stash, not a personal stash`, 'NO_IDENTITY', { hint })
  const tree = await readStash(personal, [IDENTITY_KEY], { env })
  const node = tree.find(IDENTITY_KEY)
  if (node?.value === undefined) throw new SSError(`no identity in your personal stash ${personal}`, 'NO_IDENTITY', { hint })
  return parseIdentities(Buffer.from(node.value).toString('utf8'), `the identity in ${personal}`)
}

/**
 * The public key of the member's identity; makes an identity in the personal stash when no
 * source has one (creating the personal stash is `sstash init`'s job, not this one's).
 * @returns the recipient, and whether it was just created
 */
export async function ensureIdentity(env: Env = process.env): Promise<{ recipient: string; created: boolean; where: string }> {
  const fromEnv = identitiesFromEnvironment(env)
  if (fromEnv) return { recipient: (fromEnv[0] as Identity).recipient, created: false, where: env.SSTASH_IDENTITY ? 'SSTASH_IDENTITY' : (env.SSTASH_IDENTITY_FILE as string) }
  const personal = personalStashPath(env)
  const { openPersonalStash } = await import('../unlock/open.js')
  const stash = await openPersonalStash(personal, { env })
  const existing = await stash.view((tree) => tree.find(IDENTITY_KEY)?.value)
  const created = existing === undefined
  const secret = existing === undefined ? `${generateIdentity(randomBytes(32))}\n` : Buffer.from(existing).toString('utf8')
  if (created) await stash.writeValue(IDENTITY_KEY, new Uint8Array(Buffer.from(secret)))
  const [identity] = parseIdentities(secret, `the identity in ${personal}`)
  if (!identity) throw new SSKeyError(`no identity in ${personal}`, IDENTITY_KEY, 'NO_IDENTITY')
  return { recipient: identity.recipient, created, where: personal }
}
