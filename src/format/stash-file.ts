import { SSError } from '../errors.js'
import type { KdfParams } from './kdf.js'
import type { EnrolledRecipient } from './enroll.js'
import type { Tree } from '../tree/tree.js'
import { isNativeStash, parseNative, createNative } from './native.js'
import { parsePython, createPython } from './python.js'

/** The two on-disk formats: sstash's own, and the Python package's. */
export type FormatName = 'native' | 'python'

/**
 * A stash file read and checked, but not yet decrypted: everything needed to derive
 * its key. No key derivation has run yet.
 */
export interface LockedStash {
  format: FormatName
  kdf: KdfParams
  salt: Uint8Array
  /** Names the (format, KDF, parameters, salt) a derived key belongs to; a password change changes it. */
  keyId: string
  /**
   * Decrypts with a key derived by {@link deriveKey}.
   * @throws {SSCryptoError} for a wrong key or a damaged file; {@link SSError} for content that is not a tree
   */
  unlock(key: Uint8Array): UnlockedStash
  /** The native format's enrolled sources (./enroll.ts); absent in the Python format, which has none. */
  enrolled?: readonly EnrolledRecipient[]
  /**
   * The file's bytes with `enrolled` as its enrolled sources, the same file key and body.
   * Absent in the Python format.
   * @throws {SSCryptoError} DECRYPT_FAILED for a wrong key
   */
  reenroll?(key: Uint8Array, enrolled: readonly EnrolledRecipient[]): Uint8Array
}

/** A decrypted stash: its tree, and a way to seal a new tree with the same keys and parameters. */
export interface UnlockedStash {
  tree: Tree
  seal(tree: Tree): Uint8Array
}

/** A brand new stash's keys: `seal` encrypts a tree into a file's bytes. */
export interface NewStash {
  key: Uint8Array
  keyId: string
  seal(tree: Tree): Uint8Array
}

/**
 * Reads a stash file's bytes into a {@link LockedStash}, checking every field first.
 * @param what - the file's name, for messages
 * @throws {SSError} NOT_A_STASH, UNSUPPORTED_FORMAT or BAD_PARAMETERS
 */
export function parseStash(bytes: Uint8Array, what: string): LockedStash {
  if (isNativeStash(bytes)) return parseNative(bytes, what)
  // A native magic line with another version: say so, rather than "not JSON".
  const version = /^sstash\/([0-9]{1,6})\n/.exec(Buffer.from(bytes.subarray(0, 16)).toString('latin1'))
  if (version) throw new SSError(`${what} is in format sstash/${version[1]}, which this version of sstash cannot read`, 'UNSUPPORTED_FORMAT')
  // Neither format's start (a .env, a text file): say what it is not, rather than why it is not JSON.
  const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)
  if (first !== undefined && first !== 0x7b)
    throw new SSError(`${what} is not a stash file`, 'NOT_A_STASH', { hint: 'check --stash and SSTASH_FILE: a stash starts with sstash/1, or is the JSON of Python sstash 0.17' })
  return parsePython(bytes, what)
}

/**
 * Derives keys for a new, empty stash; the KDF's name picks the format.
 * @throws {SSError} BAD_PARAMETERS
 */
export function createStash(kdf: KdfParams, password: string): Promise<NewStash> {
  if (kdf.name === 'scrypt') return createNative(kdf, password)
  if (kdf.name === 'pbkdf2-sha512') return createPython(kdf, password)
  throw new SSError('unknown key derivation', 'BAD_PARAMETERS')
}
