/**
 * Enrolled sources of the native format (docs/FORMAT.md, "Enrolled sources"): recipients after
 * the password's `scrypt` one, each wrapping the **stash key** (the key scrypt derives from the
 * password, the one the agent and `SecureStash.openWithKey` carry) under a key that a source
 * other than the password gives back:
 *
 *   ssh-agent  HKDF of an ssh-agent signature (deterministic keys only) over a per-stash challenge
 *   keyring    HKDF of a random 32-byte secret kept in the OS keyring
 *
 * Wrapping the stash key rather than the file key keeps an enrolled open the same as a password
 * open from there on (key id, agent caching, writes). The stash key unwraps the file key, so the
 * two wraps give exactly the same power. Pure: no I/O here.
 */
import { createHash, hkdfSync } from 'node:crypto'
import { SSError } from '../errors.js'
import { KEY_BYTES, NONCE_BYTES, TAG_BYTES, open, seal } from '../crypto/secretbox.js'

/** An ssh key in an ssh-agent, by its public key, signs the stash's challenge. */
export interface SshAgentRecipient {
  type: 'ssh-agent'
  /** The public key's SSH wire form (`string type || ...`). */
  key: Uint8Array
  /** 32 random bytes, drawn when the key was enrolled. */
  challenge: Uint8Array
  wrappedKey: Uint8Array
}

/** A random secret in the OS keyring, found by `id`. */
export interface KeyringRecipient {
  type: 'keyring'
  /** 16 random bytes naming the keyring item. */
  id: Uint8Array
  wrappedKey: Uint8Array
}

/** A way to open a native stash other than its password. */
export type EnrolledRecipient = SshAgentRecipient | KeyringRecipient

/** The ssh key types whose signatures are deterministic, so a signature can be a key: ed25519 and RSA (PKCS#1 v1.5). */
export const DETERMINISTIC_SSH_KEYS = ['ssh-ed25519', 'ssh-rsa'] as const

/** The SSHSIG namespace of our signatures: no other use of the ssh key signs under it. */
export const SSH_NAMESPACE = 'sstash-unlock@sstash'
const WRAPPED_BYTES = NONCE_BYTES + TAG_BYTES + KEY_BYTES
const MAX_ENROLLED = 16
const FIELDS: Record<EnrolledRecipient['type'], string[]> = { 'ssh-agent': ['type', 'key', 'challenge', 'wrappedKey'], keyring: ['type', 'id', 'wrappedKey'] }

const sshString = (bytes: Uint8Array): Buffer => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

/** The key type named at the start of an SSH wire public key, or undefined when malformed. */
export function sshKeyType(key: Uint8Array): string | undefined {
  if (key.length < 4) return undefined
  const length = Buffer.from(key).readUInt32BE(0)
  return length <= 64 && 4 + length <= key.length ? Buffer.from(key.subarray(4, 4 + length)).toString('latin1') : undefined
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function sshFingerprint(key: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/**
 * What the ssh-agent signs: the preimage of an SSHSIG signature (as `ssh-keygen -Y sign -n
 * sstash-unlock@sstash` signs) of the challenge, with SHA-512. The namespace keeps the signature
 * from meaning anything to ssh itself or to any other program.
 */
export function sshSignedData(challenge: Uint8Array): Uint8Array {
  const digest = createHash('sha512').update(challenge).digest()
  return new Uint8Array(
    Buffer.concat([Buffer.from('SSHSIG'), sshString(Buffer.from(SSH_NAMESPACE)), sshString(new Uint8Array(0)), sshString(Buffer.from('sha512')), sshString(digest)]),
  )
}

/** The wrap key of an ssh-agent recipient: HKDF-SHA-256 of the agent's signature blob, salted by the challenge. */
export function sshAgentWrapKey(signature: Uint8Array, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', signature, challenge, 'sstash/1 ssh-agent', KEY_BYTES))
}

/** The wrap key of a keyring recipient: HKDF-SHA-256 of the keyring's secret, salted by the item's id. */
export function keyringWrapKey(secret: Uint8Array, id: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, id, 'sstash/1 keyring', KEY_BYTES))
}

/** `wrappedKey` for a stash key: 24-byte nonce || secretbox(stashKey, nonce, wrapKey). */
export function wrapStashKey(wrapKey: Uint8Array, stashKey: Uint8Array): Uint8Array {
  return seal(wrapKey, stashKey)
}

/**
 * The stash key from an enrolled recipient's wrap.
 * @throws {SSCryptoError} DECRYPT_FAILED when the wrap key is not this recipient's
 */
export function unwrapStashKey(wrapKey: Uint8Array, recipient: EnrolledRecipient, what: string): Uint8Array {
  return open(wrapKey, recipient.wrappedKey, what)
}

function notAStash(what: string, why: string): never {
  throw new SSError(`${what} is not a valid sstash file: ${why}`, 'NOT_A_STASH')
}

function base64Field(value: unknown, what: string, field: string, min: number, max = min): Uint8Array {
  if (typeof value !== 'string') notAStash(what, `"${field}" must be a base64 string`)
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length < min || bytes.length > max || bytes.toString('base64') !== value) notAStash(what, `"${field}" must be ${min === max ? min : `${min} to ${max}`} bytes of base64`)
  return new Uint8Array(bytes)
}

/**
 * Checks an enrolled recipient of a header (every field, no other), before anything is derived.
 * @throws {SSError} NOT_A_STASH; UNSUPPORTED_FORMAT for a type this version does not know
 */
export function parseEnrolled(raw: unknown, what: string): EnrolledRecipient {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) notAStash(what, 'a recipient must be an object')
  const fields = raw as Record<string, unknown>
  const type = fields.type
  if (type === 'scrypt') notAStash(what, 'only the first recipient is the password (scrypt)')
  if (type !== 'ssh-agent' && type !== 'keyring') throw new SSError(`${what} has a recipient of unsupported type ${JSON.stringify(type)}`, 'UNSUPPORTED_FORMAT')
  const allowed = FIELDS[type]
  const names = Object.keys(fields)
  for (const name of allowed) if (!names.includes(name)) notAStash(what, `field "${name}" is missing`)
  for (const name of names) if (!allowed.includes(name)) notAStash(what, `unexpected field ${JSON.stringify(name)}`)
  const wrappedKey = base64Field(fields.wrappedKey, what, 'wrappedKey', WRAPPED_BYTES)
  if (type === 'keyring') return { type, id: base64Field(fields.id, what, 'id', 16), wrappedKey }
  const key = base64Field(fields.key, what, 'key', 8, 2048)
  const keyType = sshKeyType(key)
  if (!DETERMINISTIC_SSH_KEYS.includes(keyType as (typeof DETERMINISTIC_SSH_KEYS)[number])) notAStash(what, `an ssh-agent recipient's key must be ssh-ed25519 or ssh-rsa`)
  return { type, key, challenge: base64Field(fields.challenge, what, 'challenge', 32), wrappedKey }
}

/** Checks the enrolled recipients of a header together: how many, and no key or keyring twice. */
export function checkEnrolled(list: readonly EnrolledRecipient[], what: string): void {
  if (list.length > MAX_ENROLLED) notAStash(what, `at most ${MAX_ENROLLED} enrolled sources`)
  const seen = new Set<string>()
  for (const recipient of list) {
    const name = recipient.type === 'keyring' ? 'keyring' : `ssh-agent ${Buffer.from(recipient.key).toString('base64')}`
    if (seen.has(name)) notAStash(what, `${recipient.type === 'keyring' ? 'the keyring' : 'an ssh key'} is enrolled twice`)
    seen.add(name)
  }
}

/** The JSON form of an enrolled recipient, in the header's field order. */
export function enrolledJson(recipient: EnrolledRecipient): Record<string, string> {
  const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
  if (recipient.type === 'keyring') return { type: 'keyring', id: b64(recipient.id), wrappedKey: b64(recipient.wrappedKey) }
  return { type: 'ssh-agent', key: b64(recipient.key), challenge: b64(recipient.challenge), wrappedKey: b64(recipient.wrappedKey) }
}
