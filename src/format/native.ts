/**
 * The native format, version 1 (docs/FORMAT.md is the spec):
 *
 *   "sstash/1\n" || header JSON || "\n" || header MAC (32) || nonce (24) || secretbox(body)
 *
 * A random 32-byte file key encrypts the body; each recipient in the header wraps that
 * file key one way: the first is `scrypt` (the password); enrolled sources (./enroll.ts) follow
 * it and wrap the password's derived key. The header MAC binds every header byte to the file
 * key; the body is the tree in a compact binary encoding.
 */
import { SSCryptoError, SSError } from '../errors.js'
import { checkKdf, deriveKey, keyIdOf, type ScryptParams } from './kdf.js'
import { open, seal, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from '../crypto/secretbox.js'
import { hmac, randomBytes, sameBytes, subkey } from '../crypto/primitives.js'
import type { Tree } from '../tree/tree.js'
import { decodeTree, encodeTree } from '../tree/codec.js'
import type { LockedStash, NewStash } from './stash-types.js'
import { checkEnrolled, enrolledJson, parseEnrolled, type EnrolledRecipient } from './enroll.js'

const MAGIC = new Uint8Array(Buffer.from('sstash/1\n', 'latin1'))
const MAX_HEADER = 64 * 1024
const MAC_BYTES = 32
const SALT_BYTES = 32
const WRAPPED_BYTES = NONCE_BYTES + TAG_BYTES + KEY_BYTES
const SCRYPT_FIELDS = ['type', 'salt', 'N', 'r', 'p', 'wrappedKey']

/** A recipient that opens the stash with a password through scrypt. */
interface ScryptRecipient {
  type: 'scrypt'
  salt: Uint8Array
  kdf: ScryptParams
  wrappedKey: Uint8Array
}

/** True when the bytes start with the native magic line. */
export function isNativeStash(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b)
}

function notAStash(what: string, why: string): never {
  throw new SSError(`${what} is not a valid sstash file: ${why}`, 'NOT_A_STASH')
}

// Base64 with padding, and only the canonical encoding of its bytes.
function strictBase64(value: unknown, size: number, what: string, field: string): Uint8Array {
  if (typeof value !== 'string') notAStash(what, `"${field}" must be a base64 string`)
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length !== size || bytes.toString('base64') !== value) notAStash(what, `"${field}" must be ${size} bytes of base64`)
  return new Uint8Array(bytes)
}

function parseRecipient(raw: unknown, what: string): ScryptRecipient {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) notAStash(what, 'a recipient must be an object')
  const fields = raw as Record<string, unknown>
  if (fields.type !== 'scrypt') throw new SSError(`${what} has a recipient of unsupported type ${JSON.stringify(fields.type)}`, 'UNSUPPORTED_FORMAT')
  const names = Object.keys(fields)
  for (const name of SCRYPT_FIELDS) if (!names.includes(name)) notAStash(what, `field "${name}" is missing`)
  for (const name of names) if (!SCRYPT_FIELDS.includes(name)) notAStash(what, `unexpected field ${JSON.stringify(name)}`)
  for (const name of ['N', 'r', 'p']) if (typeof fields[name] !== 'number') notAStash(what, `"${name}" must be a number`)
  const kdf: ScryptParams = { name: 'scrypt', N: fields.N as number, r: fields.r as number, p: fields.p as number }
  checkKdf(kdf)
  return {
    type: 'scrypt',
    kdf,
    salt: strictBase64(fields.salt, SALT_BYTES, what, 'salt'),
    wrappedKey: strictBase64(fields.wrappedKey, WRAPPED_BYTES, what, 'wrappedKey'),
  }
}

/** Parses and checks a native file without deriving anything. */
export function parseNative(bytes: Uint8Array, what: string): LockedStash {
  const headerEnd = bytes.indexOf(0x0a, MAGIC.length)
  if (headerEnd < 0 || headerEnd - MAGIC.length > MAX_HEADER) notAStash(what, 'the header line is missing or too long')
  const headerBytes = bytes.subarray(0, headerEnd + 1)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(MAGIC.length, headerEnd)))
  } catch {
    notAStash(what, 'the header is not JSON')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) notAStash(what, 'the header is not a JSON object')
  const keys = Object.keys(header)
  if (keys.length !== 1 || keys[0] !== 'recipients') notAStash(what, 'the header must hold exactly "recipients"')
  const list = (header as { recipients: unknown }).recipients
  if (!Array.isArray(list) || list.length === 0) notAStash(what, '"recipients" must list at least the password\'s recipient')
  const recipient = parseRecipient(list[0], what)
  const enrolled = list.slice(1).map((raw) => parseEnrolled(raw, what))
  checkEnrolled(enrolled, what)
  const rest = bytes.subarray(headerEnd + 1)
  if (rest.length < MAC_BYTES + NONCE_BYTES + TAG_BYTES) notAStash(what, 'the file is truncated')
  const headerMac = rest.subarray(0, MAC_BYTES)
  const body = rest.subarray(MAC_BYTES)
  const fileKeyOf = (key: Uint8Array): Uint8Array => {
    const fileKey = open(key, recipient.wrappedKey, what)
    if (!sameBytes(hmac(subkey(fileKey, 'sstash/1 header'), headerBytes), headerMac))
      throw new SSCryptoError(`cannot decrypt ${what}: wrong password or damaged file`)
    return fileKey
  }
  return {
    format: 'native',
    kdf: recipient.kdf,
    salt: recipient.salt,
    keyId: keyIdOf('native', recipient.kdf, recipient.salt),
    enrolled,
    unlock(key) {
      const fileKey = fileKeyOf(key)
      const tree = decodeTree(open(subkey(fileKey, 'sstash/1 body'), body, what))
      return { tree, seal: (next) => writeFile(headerBytes, fileKey, next) }
    },
    reenroll(key, next) {
      const fileKey = fileKeyOf(key)
      checkEnrolled(next, what)
      const nextHeader = headerOf(recipient.kdf, recipient.salt, recipient.wrappedKey, next)
      // Same file key, same body: only the header and its MAC change.
      return new Uint8Array(Buffer.concat([nextHeader, hmac(subkey(fileKey, 'sstash/1 header'), nextHeader), body]))
    },
  }
}

/** The header line: magic, the JSON of the password's recipient and the enrolled ones, "\n". */
function headerOf(kdf: ScryptParams, salt: Uint8Array, wrappedKey: Uint8Array, enrolled: readonly EnrolledRecipient[]): Uint8Array {
  const scrypt = { type: 'scrypt', salt: Buffer.from(salt).toString('base64'), N: kdf.N, r: kdf.r, p: kdf.p, wrappedKey: Buffer.from(wrappedKey).toString('base64') }
  const header = { recipients: [scrypt, ...enrolled.map(enrolledJson)] }
  return new Uint8Array(Buffer.concat([MAGIC, Buffer.from(JSON.stringify(header) + '\n', 'utf8')]))
}

/** Derives the keys of a new native stash: a fresh salt and a fresh random file key. */
export async function createNative(kdf: ScryptParams, password: string): Promise<NewStash> {
  checkKdf(kdf)
  const salt = randomBytes(SALT_BYTES)
  const key = await deriveKey(kdf, password, salt)
  const fileKey = randomBytes(KEY_BYTES)
  const headerBytes = headerOf(kdf, salt, seal(key, fileKey), [])
  return { key, keyId: keyIdOf('native', kdf, salt), seal: (tree) => writeFile(headerBytes, fileKey, tree) }
}

function writeFile(headerBytes: Uint8Array, fileKey: Uint8Array, tree: Tree): Uint8Array {
  const headerMac = hmac(subkey(fileKey, 'sstash/1 header'), headerBytes)
  const body = seal(subkey(fileKey, 'sstash/1 body'), encodeTree(tree))
  return new Uint8Array(Buffer.concat([headerBytes, headerMac, body]))
}
