/**
 * `sstash enroll`: adding, listing and removing the enrolled sources of a personal stash
 * (./enrolled.ts opens with them). Enrolling asks for the password once (never the agent's
 * key: a new way in is given by someone who knows the password), after everything that could
 * refuse the enrollment was checked, so nobody types a password for nothing.
 */
import { SSError } from '../errors.js'
import { DETERMINISTIC_SSH_KEYS, sshFingerprint, sshKeyType, sshSignedData, sshAgentWrapKey, keyringWrapKey, wrapStashKey, type EnrolledRecipient } from '../format/enroll.js'
import { randomBytes } from '../crypto/primitives.js'
import { readIfExists, resolveStashPath } from '../fs/read.js'
import { describeEnrolled, pythonFormat, rewriteEnrolled } from './enrolled.js'
import { openPersonalStash, openWithPassword, requireStash, type OpenStashOptions } from './open.js'
import { chooseKey, SshAgent } from './ssh-agent.js'

type Env = Record<string, string | undefined>

/** One way to open a stash, as `sstash enroll --list --json` prints it. */
export interface EnrolledSource {
  /** `password`, `ssh-agent` or `keyring`. */
  type: 'password' | 'ssh-agent' | 'keyring'
  /** ssh-agent: the key's type, such as `ssh-ed25519`. */
  keyType?: string
  /** ssh-agent: the key's `SHA256:` fingerprint, as `ssh-add -l` prints it. */
  fingerprint?: string
}

/** Reads the stash's header, refusing the Python format before any prompt. */
async function checkedFormat(stashPath: string): Promise<readonly EnrolledRecipient[]> {
  requireStash(stashPath)
  const bytes = readIfExists(resolveStashPath(stashPath))
  if (bytes === undefined) throw new SSError(`no stash at ${stashPath}`, 'STASH_NOT_FOUND')
  const { parseStash } = await import('../format/stash-file.js')
  const locked = parseStash(bytes, stashPath)
  if (locked.format !== 'native') throw pythonFormat(stashPath)
  return locked.enrolled ?? []
}

/**
 * How the stash can be opened: the password (always), then each enrolled source. Reads the
 * header only: no password is needed.
 * @throws {SSError} STASH_NOT_FOUND, NOT_A_STASH
 */
export async function listEnrolled(stashPath: string): Promise<EnrolledSource[]> {
  requireStash(stashPath)
  const bytes = readIfExists(resolveStashPath(stashPath))
  const { parseStash } = await import('../format/stash-file.js')
  const enrolled = bytes === undefined ? [] : (parseStash(bytes, stashPath).enrolled ?? [])
  return [
    { type: 'password' },
    ...enrolled.map((r): EnrolledSource => (r.type === 'keyring' ? { type: 'keyring' } : { type: 'ssh-agent', keyType: sshKeyType(r.key) ?? 'unknown', fingerprint: sshFingerprint(r.key) })),
  ]
}

function refuseKeyType(type: string | undefined): void {
  if (DETERMINISTIC_SSH_KEYS.includes(type as (typeof DETERMINISTIC_SSH_KEYS)[number])) return
  const why = type?.startsWith('sk-') ? 'a hardware key (sk-*) signs with a counter, so its signatures differ each time' : 'its signatures are not deterministic (they differ each time)'
  throw new SSError(`the ssh key ${type ?? ''} cannot open a stash: ${why}`, 'BAD_SSH_KEY', { hint: 'enroll an ed25519 or RSA key (`ssh-keygen -t ed25519`, then `ssh-add`), and pick it with --key' })
}

/**
 * Enrolls a key of the ssh-agent (SSH_AUTH_SOCK): from now on, whoever can use that agent with
 * that key opens the stash without its password.
 * @param selector - a `SHA256:` fingerprint or a comment (`ssh-add -l`); default: the first ed25519 key
 * @returns how the new source is named (`ssh-agent ssh-ed25519 SHA256:...`)
 * @throws {SSError} NO_SSH_KEY, BAD_SSH_KEY, UNSUPPORTED_FORMAT, and as openWithPassword
 */
export async function enrollSshAgent(stashPath: string, selector: string | undefined, options: OpenStashOptions = {}): Promise<string> {
  const env: Env = options.env ?? process.env
  await checkedFormat(stashPath)
  const agent = await SshAgent.connect(env)
  if (!agent)
    throw new SSError(env.SSH_AUTH_SOCK ? `cannot reach the ssh-agent at ${env.SSH_AUTH_SOCK}` : 'no ssh-agent: SSH_AUTH_SOCK is not set', 'NO_SSH_KEY', {
      hint: 'start one with `eval "$(ssh-agent)"` and add your key with `ssh-add`',
    })
  try {
    const key = chooseKey(await agent.keys(), selector)
    refuseKeyType(sshKeyType(key.blob))
    const { stash } = await openWithPassword(stashPath, options)
    const challenge = randomBytes(32)
    const data = sshSignedData(challenge)
    const first = await agent.sign(key.blob, data, 60_000)
    if (!first) throw new SSError(`the ssh-agent refused to sign with ${sshFingerprint(key.blob)}`, 'NO_SSH_KEY', { hint: 'a key added with `ssh-add -c` asks for a confirmation: accept it' })
    const second = await agent.sign(key.blob, data, 60_000)
    if (!second || !Buffer.from(first).equals(second)) refuseKeyType(undefined)
    const wrapKey = sshAgentWrapKey(first, challenge)
    const recipient: EnrolledRecipient = { type: 'ssh-agent', key: key.blob, challenge, wrappedKey: new Uint8Array(0) }
    await rewriteEnrolled(stash, async (enrolled, stashKey) => [
      ...enrolled.filter((r) => r.type !== 'ssh-agent' || !Buffer.from(r.key).equals(key.blob)),
      { ...recipient, wrappedKey: wrapStashKey(wrapKey, stashKey) },
    ])
    return describeEnrolled(recipient)
  } finally {
    agent.close()
  }
}

/**
 * Enrolls the OS keyring: a random secret is stored there (never the password), and its wrap
 * of the stash key in the stash. Replaces an earlier keyring enrollment.
 * @throws {SSError} KEYRING_FAILED, UNSUPPORTED_FORMAT, and as openWithPassword
 */
export async function enrollKeyring(stashPath: string, options: OpenStashOptions = {}): Promise<void> {
  const env: Env = options.env ?? process.env
  await checkedFormat(stashPath)
  const { keyringClear, keyringLookup, keyringStore } = await import('./os-keyring.js')
  const { stash } = await openWithPassword(stashPath, options)
  const id = randomBytes(16)
  const idHex = Buffer.from(id).toString('hex')
  const secret = randomBytes(32)
  const text = Buffer.from(secret).toString('base64')
  await keyringStore(idHex, text, `sstash: key of the stash ${stash.path}`, env)
  // A keyring that accepted the secret but cannot give it back would leave a source that never works.
  if ((await keyringLookup(idHex, env)) !== text) {
    await keyringClear(idHex, env)
    throw new SSError('the keyring did not give back the key sstash stored in it', 'KEYRING_FAILED')
  }
  let replaced: EnrolledRecipient[] = []
  try {
    await rewriteEnrolled(stash, async (enrolled, stashKey) => {
      replaced = enrolled.filter((r) => r.type === 'keyring')
      return [...enrolled.filter((r) => r.type !== 'keyring'), { type: 'keyring', id, wrappedKey: wrapStashKey(keyringWrapKey(secret, id), stashKey) }]
    })
  } catch (error) {
    await keyringClear(idHex, env)
    throw error
  }
  for (const old of replaced) if (old.type === 'keyring') await keyringClear(Buffer.from(old.id).toString('hex'), env)
}

/**
 * Removes the enrolled sources of one kind (with `selector`, only that ssh key), and the
 * keyring's secret. Any source may open the stash for this.
 * @returns the sources removed
 * @throws {SSError} NOT_ENROLLED when none matched
 */
export async function removeEnrolled(stashPath: string, kind: 'ssh-agent' | 'keyring', selector: string | undefined, options: OpenStashOptions = {}): Promise<string[]> {
  const env: Env = options.env ?? process.env
  const present = await checkedFormat(stashPath)
  const matches = (r: EnrolledRecipient): boolean =>
    r.type === kind && (selector === undefined || (r.type === 'ssh-agent' && sshFingerprint(r.key) === selector))
  if (!present.some(matches)) throw new SSError(`${stashPath} has no ${selector ?? kind} enrolled`, 'NOT_ENROLLED', { hint: '`sstash enroll --list` shows how it can be opened' })
  const stash = await openPersonalStash(stashPath, options)
  let removed: EnrolledRecipient[] = []
  await rewriteEnrolled(stash, async (enrolled) => {
    removed = enrolled.filter(matches)
    return enrolled.filter((r) => !matches(r))
  })
  const { keyringClear } = await import('./os-keyring.js')
  for (const old of removed) if (old.type === 'keyring') await keyringClear(Buffer.from(old.id).toString('hex'), env)
  return removed.map(describeEnrolled)
}
