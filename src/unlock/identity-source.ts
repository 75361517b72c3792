/**
 * Where a member's identity comes from, in this order:
 *   1. SSTASH_IDENTITY: an AGE-SECRET-KEY-1... string (CI);
 *   2. SSTASH_IDENTITY_FILE: an age identity file, or an OpenSSH ed25519 key (its passphrase
 *      asked as src/unlock/ssh-key.ts does);
 *   3. the identity kept at `sstash/identity` in the member's personal stash, unlocked as
 *      every stash is (the agent, an enrolled source, then the password sources), and
 *      `~/.ssh/id_ed25519` (see {@link loadIdentities}).
 * `sstash identity` makes the third on first use.
 */
import { SSError, SSKeyError, ioError } from '../errors.js'
import { defaultSshKeyPath, defaultStashPath, stashPath } from '../locations.js'
import { readRegularFile } from '../fs/read.js'
import type { Identity } from '../team/age-file.js'
import { isTeamStashFile } from '../team/detect.js'
import { ed25519Identity, generateIdentity, parseIdentities } from '../team/keys.js'
import { isOpenSshKey } from '../format/openssh-key.js'
import { randomBytes } from '../crypto/primitives.js'

type Env = Record<string, string | undefined>

/** The key path of the identity in the personal stash. */
export const IDENTITY_KEY = ['sstash', 'identity']

/** The personal stash: $SSTASH_FILE unless that is a team stash, else the default location. */
export function personalStashPath(env: Env = process.env): string {
  const chosen = stashPath(undefined, env)
  return isTeamStashFile(chosen) ? defaultStashPath(env) : chosen
}

/** An OpenSSH key file as an identity, asking for its passphrase when it has one (src/unlock/ssh-key.ts). */
async function sshKeyIdentity(file: string, content: string, env: Env, prompt = true): Promise<Identity[]> {
  const [{ unlockSshKey }, { agentTimeoutFromEnv }] = await Promise.all([import('./ssh-key.js'), import('./open-personal.js')])
  return [ed25519Identity(await unlockSshKey(file, content, { env, prompt, cacheForMs: agentTimeoutFromEnv(env) }))]
}

/**
 * The identities from SSTASH_IDENTITY or SSTASH_IDENTITY_FILE, or undefined when neither is set.
 * A passphrase-protected OpenSSH key asks for its passphrase (the agent, SSTASH_ASKPASS, the terminal).
 * @throws {SSError} BAD_IDENTITY, IO_ERROR, NO_PASSWORD
 */
export async function identitiesFromEnvironment(env: Env = process.env): Promise<Identity[] | undefined> {
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
  const content = Buffer.from(bytes).toString('utf8')
  return isOpenSshKey(content) ? sshKeyIdentity(file, content, env) : parseIdentities(content, file)
}

/**
 * `~/.ssh/id_ed25519` as an identity: always when it has no passphrase or the agent holds it;
 * with a passphrase prompt only when `prompt` (no other identity was found).
 */
async function defaultSshIdentity(env: Env, prompt: boolean): Promise<Identity[]> {
  const file = defaultSshKeyPath(env)
  let bytes: Uint8Array | undefined
  try {
    bytes = readRegularFile(file, 1024 * 1024)
  } catch {
    return []
  }
  const content = bytes === undefined ? '' : Buffer.from(bytes).toString('utf8')
  if (!isOpenSshKey(content)) return []
  try {
    return await sshKeyIdentity(file, content, env, prompt)
  } catch (error) {
    // Beside an identity from the personal stash, a key that needs a passphrase the agent does
    // not hold (or that is not an ed25519 key) is simply not a candidate.
    if (!prompt && error instanceof SSError) return []
    throw error
  }
}

/**
 * The identities to open a team stash with: SSTASH_IDENTITY, else SSTASH_IDENTITY_FILE, else the
 * identity in the personal stash together with `~/.ssh/id_ed25519` when that needs no passphrase
 * (or the agent holds it); `~/.ssh/id_ed25519` is asked for with its passphrase only when the
 * personal stash holds no identity.
 * @throws {SSError} NO_IDENTITY when there is none; BAD_IDENTITY; and as openStash for the personal stash
 */
export async function loadIdentities(env: Env = process.env): Promise<Identity[]> {
  const fromEnv = await identitiesFromEnvironment(env)
  if (fromEnv) return fromEnv
  const personal = personalStashPath(env)
  const hint = 'set SSTASH_IDENTITY_FILE to the key a member added you with, or `sstash identity --import FILE` to keep it in your personal stash; not added yet: `sstash identity` makes a key for a member to add'
  const [{ readPersonal }, { detectStash }] = await Promise.all([import('./open-personal.js'), import('../stash/detect.js')])
  let stored: Identity[] = []
  let why = `no personal stash at ${personal}`
  // Read once: missing, a team stash, or the personal stash read (through the agent when it holds it).
  const found = detectStash(personal)
  // A team stash cannot hold the identity that opens team stashes (it would need itself to open).
  if (found.kind === 'team') why = `${personal} is a team stash, not a personal stash`
  else if (found.read !== undefined) {
    const node = (await readPersonal(found, [IDENTITY_KEY], { env })).find(IDENTITY_KEY)
    if (node?.value !== undefined) stored = parseIdentities(Buffer.from(node.value).toString('utf8'), `the identity in ${personal}`)
    else why = `no identity in your personal stash ${personal}`
  }
  const ssh = await defaultSshIdentity(env, stored.length === 0)
  const all = [...stored, ...ssh]
  if (all.length === 0) throw new SSError(`no identity to open a team stash with (${why}, and no ${defaultSshKeyPath(env)})`, 'NO_IDENTITY', { hint })
  return all
}

/**
 * The public key of the member's identity; makes an identity in the personal stash when no
 * source has one (creating the personal stash is `sstash init`'s job, not this one's).
 * @returns the recipient, and whether it was just created
 */
export async function ensureIdentity(env: Env = process.env): Promise<{ recipient: string; created: boolean; where: string }> {
  const fromEnv = await identitiesFromEnvironment(env)
  if (fromEnv) return { recipient: (fromEnv[0] as Identity).recipient, created: false, where: env.SSTASH_IDENTITY ? 'SSTASH_IDENTITY' : (env.SSTASH_IDENTITY_FILE as string) }
  const personal = personalStashPath(env)
  const { openPersonalStash } = await import('./open-personal.js')
  const stash = await openPersonalStash(personal, { env })
  const existing = await stash.view((tree) => tree.find(IDENTITY_KEY)?.value)
  const created = existing === undefined
  const secret = existing === undefined ? `${generateIdentity(randomBytes(32))}\n` : Buffer.from(existing).toString('utf8')
  if (created) await stash.writeValue(IDENTITY_KEY, new Uint8Array(Buffer.from(secret)))
  const [identity] = parseIdentities(secret, `the identity in ${personal}`)
  if (!identity) throw new SSKeyError(`no identity in ${personal}`, IDENTITY_KEY, 'NO_IDENTITY')
  return { recipient: identity.recipient, created, where: personal }
}
