import { SSError } from '../errors.js'
import type { KdfParams } from './kdf.js'
import type { LockedStash, NewStash } from './stash-types.js'
import { isNativeStash, parseNative, createNative } from './native.js'
import { parsePython, createPython } from './python.js'

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
