/**
 * XSalsa20-Poly1305 (`crypto_secretbox`, tweetnacl), as PyNaCl's SecretBox: the personal
 * stash's cipher, in both formats. The other primitives are node:crypto's (./primitives.ts).
 */
import nacl from 'tweetnacl'
import { SSCryptoError } from '../errors.js'
import { randomBytes } from './primitives.js'

/** XSalsa20-Poly1305 sizes. */
export const KEY_BYTES = nacl.secretbox.keyLength
export const NONCE_BYTES = nacl.secretbox.nonceLength
export const TAG_BYTES = nacl.secretbox.overheadLength

/** Encrypts `plaintext` under `key` with a fresh random nonce: returns nonce || tag || ciphertext. */
export function seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES)
  const boxed = nacl.secretbox(plaintext, nonce, key)
  const out = new Uint8Array(NONCE_BYTES + boxed.length)
  out.set(nonce, 0)
  out.set(boxed, NONCE_BYTES)
  return out
}

/**
 * Decrypts nonce || tag || ciphertext.
 * @throws {SSCryptoError} DECRYPT_FAILED for a wrong key or changed bytes (indistinguishable)
 */
export function open(key: Uint8Array, sealed: Uint8Array, what: string): Uint8Array {
  const plain =
    sealed.length >= NONCE_BYTES + TAG_BYTES
      ? nacl.secretbox.open(sealed.subarray(NONCE_BYTES), sealed.subarray(0, NONCE_BYTES), key)
      : null
  if (!plain) throw new SSCryptoError(`cannot decrypt ${what}: wrong password or damaged file`)
  return plain
}
