import nacl from 'tweetnacl'
import { createHmac, randomBytes as nodeRandomBytes, hkdfSync, timingSafeEqual } from 'node:crypto'
import { SSCryptoError } from '../errors.js'

/** XSalsa20-Poly1305 sizes. */
export const KEY_BYTES = nacl.secretbox.keyLength
export const NONCE_BYTES = nacl.secretbox.nonceLength
export const TAG_BYTES = nacl.secretbox.overheadLength

/** Cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n))
}

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

/** A 32-byte subkey of `key` for one purpose (HKDF-SHA-256, empty salt). */
export function subkey(key: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), purpose, 32))
}

/** HMAC-SHA-256 of `data` under `key`. */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest())
}

/** Constant-time comparison of two MACs. */
export function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
