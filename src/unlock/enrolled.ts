/**
 * Enrolled sources: ways other than the password to open a personal stash (an ssh key in the
 * ssh-agent, a secret in the OS keyring), tried after the sstash agent and before the prompt
 * (see ./open.ts). The file format is src/format/enroll.ts's; this module asks the ssh-agent
 * (./ssh-agent.ts) and the keyring (./os-keyring.ts) for the wrap keys, and rewrites the
 * header under the stash's lock. A source that is not there (no SSH_AUTH_SOCK, a dead socket,
 * the key not in the agent, no keyring) is skipped at once: the password always works.
 */
import { SSCryptoError, SSError } from '../errors.js'
import { keyringWrapKey, sshAgentWrapKey, sshFingerprint, sshKeyType, sshSignedData, unwrapStashKey, wrapStashKey, type EnrolledRecipient } from '../format/enroll.js'
import type { LockedStash } from '../format/stash-types.js'
import type { SecureStash } from '../store/secure-stash.js'
import { readIfExists } from '../fs/read.js'
import type { StashFile } from '../stash/detect.js'
import type { SshAgent } from './ssh-agent.js'

type Env = Record<string, string | undefined>

/** Parses the stash found for its enrolled sources, or undefined when it has none (or is not a native stash). */
async function lockedWithEnrolled(found: StashFile): Promise<LockedStash | undefined> {
  if (found.read === undefined) return undefined
  const { parseStash } = await import('../format/stash-file.js')
  let locked: LockedStash
  try {
    locked = parseStash(found.read.bytes, found.given)
  } catch {
    // A damaged file gets its error from the password path, with the ordinary message.
    return undefined
  }
  return locked.enrolled?.length ? locked : undefined
}

/** One enrolled source asked: its wrap key, or why it gave none, in words (never a secret). */
export type Asked = { key: Uint8Array } | { why: string }

/**
 * The wrap key an ssh-agent gives for `recipient`, or why it gives none. The agent is asked to
 * sign at once: an agent without the key answers the sign request with a failure as fast as it
 * answers a list, so the list is asked for (once, by `held`) only to say which of the two
 * failures it was (docs/UNLOCK.md's reasons).
 */
async function sshWrapKey(agent: SshAgent, recipient: Extract<EnrolledRecipient, { type: 'ssh-agent' }>, held: () => Promise<Uint8Array[]>): Promise<Asked> {
  const signature = await agent.sign(recipient.key, sshSignedData(recipient.challenge))
  if (signature) return { key: sshAgentWrapKey(signature, recipient.challenge) }
  const holds = (await held()).some((blob) => Buffer.from(blob).equals(recipient.key))
  return { why: holds ? 'the ssh-agent refused to sign with it' : 'the ssh-agent does not hold it' }
}

/** The wrap key the keyring gives for `recipient`, or why it gives none. */
async function keyringWrapKeyOf(recipient: Extract<EnrolledRecipient, { type: 'keyring' }>, env: Env): Promise<Asked> {
  const { keyringFind } = await import('./os-keyring.js')
  const found = await keyringFind(Buffer.from(recipient.id).toString('hex'), env)
  if (!('secret' in found)) return found
  const bytes = Buffer.from(found.secret, 'base64')
  return bytes.length === 32 ? { key: keyringWrapKey(bytes, recipient.id) } : { why: 'its entry is not a key sstash stored' }
}

/** Why no ssh-agent key can serve: no SSH_AUTH_SOCK, or nobody answers there. */
const noSshAgent = (env: Env): string => (env.SSH_AUTH_SOCK ? 'no ssh-agent answers at SSH_AUTH_SOCK' : 'SSH_AUTH_SOCK is not set')

/** Asks enrolled sources for their wrap keys, one at a time; {@link EnrolledAsker.close} when done. */
interface EnrolledAsker {
  ask(recipient: EnrolledRecipient): Promise<Asked>
  close(): void
}

/**
 * One ssh-agent connection for all the ssh keys asked (opened at the first), one sign request
 * per ssh key, and one list of the agent's keys only when a signature was refused. The keyring
 * is asked only for a keyring recipient.
 */
function enrolledAsker(env: Env): EnrolledAsker {
  let agent: SshAgent | undefined | null = null
  let keys: Promise<Uint8Array[]> | undefined
  const held = (): Promise<Uint8Array[]> => (keys ??= (agent ? agent.keys() : Promise.resolve([])).then((list) => list.map((key) => key.blob)))
  return {
    async ask(recipient) {
      if (recipient.type === 'keyring') return keyringWrapKeyOf(recipient, env)
      if (agent === null) {
        const { SshAgent } = await import('./ssh-agent.js')
        agent = await SshAgent.connect(env)
      }
      return agent ? sshWrapKey(agent, recipient, held) : { why: noSshAgent(env) }
    },
    close: () => agent?.close(),
  }
}

/**
 * Asks each enrolled source for its wrap key, in the header's order: the key, or why the source
 * cannot give one now (the key not in the agent, no keyring). One ssh-agent connection.
 */
export async function askEnrolled(enrolled: readonly EnrolledRecipient[], env: Env = process.env): Promise<Asked[]> {
  const asker = enrolledAsker(env)
  try {
    const out: Asked[] = []
    for (const recipient of enrolled) out.push(await asker.ask(recipient))
    return out
  } finally {
    asker.close()
  }
}

/**
 * The wrap key of each enrolled source that can give one now, in the header's order; a source
 * that cannot (the key not in the agent, no keyring) gets undefined. One ssh-agent connection.
 */
export async function wrapKeysOf(enrolled: readonly EnrolledRecipient[], env: Env = process.env): Promise<(Uint8Array | undefined)[]> {
  return (await askEnrolled(enrolled, env)).map((asked) => ('key' in asked ? asked.key : undefined))
}

/**
 * Opens a personal stash with its first enrolled source that answers, in the header's order.
 * Each source is asked only when the previous ones could not open it (the ssh-agent once).
 * @returns the stash, or the sources tried and why each did not open it (`ssh-agent ssh-ed25519
 *   SHA256:... (the ssh-agent does not hold it)`), for the error when no password source works;
 *   an empty list when the stash has no enrolled source
 */
export async function openWithEnrolled(found: StashFile, env: Env = process.env): Promise<{ stash: SecureStash } | { tried: string[] }> {
  const locked = await lockedWithEnrolled(found)
  if (!locked?.enrolled) return { tried: [] }
  const { SecureStash } = await import('../store/secure-stash.js')
  const asker = enrolledAsker(env)
  const tried: string[] = []
  try {
    for (const recipient of locked.enrolled) {
      const answer = await asker.ask(recipient)
      if (!('key' in answer)) {
        tried.push(`${describeEnrolled(recipient)} (${answer.why})`)
        continue
      }
      try {
        const key = unwrapStashKey(answer.key, recipient, found.given)
        // The header was parsed above from these same bytes: not a second time.
        return { stash: await SecureStash.openDetected(found, { key: { keyId: locked.keyId, key } }, { create: false }, locked) }
      } catch (error) {
        // A wrap that does not open (a changed file, a key whose signature changed): try the next.
        if (!(error instanceof SSCryptoError)) throw error
        tried.push(`${describeEnrolled(recipient)} (what it gave does not open the stash)`)
      }
    }
  } finally {
    asker.close()
  }
  return { tried }
}

/**
 * Rewrites the enrolled sources of an open personal stash, under its lock: `change` gets the
 * list in the file now and the stash key, and returns the new list.
 * @throws {SSError} UNSUPPORTED_FORMAT for a Python-format stash; KEY_CHANGED when the password changed meanwhile
 */
export async function rewriteEnrolled(
  stash: SecureStash,
  change: (enrolled: readonly EnrolledRecipient[], stashKey: Uint8Array) => Promise<EnrolledRecipient[]>,
): Promise<EnrolledRecipient[]> {
  if (stash.info.format !== 'native') throw pythonFormat(stash.path)
  const { keyId, key } = await stash.exportKey()
  const next = await change((await currentLocked(stash.path)).enrolled ?? [], key)
  const [{ withLock }, { writeAtomic }] = await Promise.all([import('../fs/lock.js'), import('../fs/write.js')])
  await withLock(stash.path, async (lock) => {
    const locked = await currentLocked(stash.path)
    if (locked.keyId !== keyId || !locked.reenroll) throw new SSError(`the password of ${stash.path} changed meanwhile; nothing was enrolled`, 'KEY_CHANGED')
    await writeAtomic(stash.path, locked.reenroll(key, next), { lock })
  })
  return next
}

async function currentLocked(path: string): Promise<LockedStash> {
  const { parseStash } = await import('../format/stash-file.js')
  const bytes = readIfExists(path)
  if (bytes === undefined) throw new SSError(`no stash at ${path}`, 'STASH_NOT_FOUND')
  return parseStash(bytes, path)
}

/** The error for enrolling a Python-format stash. */
export function pythonFormat(path: string): SSError {
  return new SSError(`${path} is in the Python format, which has no room for other ways to open it`, 'UNSUPPORTED_FORMAT', {
    hint: '`sstash migrate` turns it into the native format (the Python package then no longer opens it); then enroll',
  })
}

/**
 * Changes the password of `stash` and keeps its enrolled sources working: each source that
 * can give its wrap key now (the key in the ssh-agent, the keyring reachable) wraps the new
 * stash key; the others are removed.
 * @param changePassword - the change itself (SecureStash.changePassword)
 * @returns the sources removed, as {@link describeEnrolled} names them
 */
export async function keepEnrolledThrough(stash: SecureStash, changePassword: () => Promise<void>, env: Env = process.env): Promise<string[]> {
  const enrolled = stash.info.format === 'native' ? ((await currentLocked(stash.path)).enrolled ?? []) : []
  if (enrolled.length === 0) {
    await changePassword()
    return []
  }
  const wraps = await wrapKeysOf(enrolled, env)
  await changePassword()
  const removed = enrolled.filter((_, i) => !wraps[i]).map(describeEnrolled)
  if (stash.info.format !== 'native') return enrolled.map(describeEnrolled)
  await rewriteEnrolled(stash, async (_, stashKey) =>
    enrolled.flatMap((recipient, i) => {
      const wrapKey = wraps[i]
      return wrapKey ? [{ ...recipient, wrappedKey: wrapStashKey(wrapKey, stashKey) }] : []
    }),
  )
  return removed
}

/** How `enroll --list` and messages name an enrolled source: `ssh-agent ssh-ed25519 SHA256:...`, `keyring`. */
export function describeEnrolled(recipient: EnrolledRecipient): string {
  if (recipient.type === 'keyring') return 'keyring'
  return `ssh-agent ${sshKeyType(recipient.key) ?? 'unknown'} ${sshFingerprint(recipient.key)}`
}
