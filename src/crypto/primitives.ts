/**
 * The cryptographic primitives of both stashes that node:crypto (OpenSSL) provides: X25519,
 * ChaCha20-Poly1305, HKDF-SHA-256, HMAC-SHA-256, SHA-2, random bytes, constant-time equality,
 * and base64 as the formats spell it. Nothing here loads a JavaScript library, so opening a
 * team stash costs no start-up time beyond Node's own. XSalsa20-Poly1305 is ./secretbox.ts.
 */
import { createCipheriv, createDecipheriv, createHmac, hash as oneShotHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto'

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex')

/** Cryptographically secure random bytes. */
export const randomBytes = (n: number): Uint8Array => new Uint8Array(nodeRandomBytes(n))

/** An X25519 private key, made once per scalar: OpenSSL derives its public key when it is imported. */
export type X25519Key = KeyObject

/** Imports a 32-byte X25519 scalar. */
export const x25519Key = (scalar: Uint8Array): X25519Key => createPrivateKey({ key: Buffer.concat([PKCS8_X25519, scalar]), format: 'der', type: 'pkcs8' })

/**
 * X25519(scalar, u) as RFC 7748 defines it (the scalar is clamped).
 * @returns the shared point, or undefined when it is all zeros (a low-order point)
 */
export function x25519(scalar: Uint8Array | X25519Key, u: Uint8Array): Uint8Array | undefined {
  if (u.length !== 32 || (scalar instanceof Uint8Array && scalar.length !== 32)) return undefined
  const privateKey = scalar instanceof Uint8Array ? x25519Key(scalar) : scalar
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, u]), format: 'der', type: 'spki' })
  try {
    return new Uint8Array(diffieHellman({ privateKey, publicKey }))
  } catch {
    // OpenSSL refuses an all-zero result, as age requires.
    return undefined
  }
}

/** X25519(scalar, 9): the public key of a scalar. */
export function x25519Base(scalar: Uint8Array | X25519Key): Uint8Array {
  const privateKey = scalar instanceof Uint8Array ? x25519Key(scalar) : scalar
  return new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length))
}

/** HKDF-SHA-256. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array, length = 32): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length))
}

/** A 32-byte subkey of `key` for one purpose: HKDF-SHA-256 with an empty salt. */
export const subkey = (key: Uint8Array, purpose: string): Uint8Array => hkdf(key, new Uint8Array(0), purpose)

/** HMAC-SHA-256. */
export function hmac(key: Uint8Array, data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest())
}

/** SHA-256 or SHA-512 of bytes, or of text as UTF-8 (Node's one-shot hash: no Hash object per call, which matters at a record per value). */
export function hash(algorithm: 'sha256' | 'sha512', data: string | Uint8Array): Uint8Array {
  return new Uint8Array(oneShotHash(algorithm, data, 'buffer'))
}

/** The same, as lower-case hex. */
export const hexHash = (algorithm: 'sha256' | 'sha512', data: string | Uint8Array): string => oneShotHash(algorithm, data, 'hex')

/** Constant-time equality of two byte strings. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

const TAG = 16

/** ChaCha20-Poly1305 (RFC 8439) with a 12-byte nonce: ciphertext || tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  cipher.setAAD(ad, { plaintextLength: plaintext.length })
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]))
}

/** Opens {@link aeadSeal}'s output. @returns the plaintext, or undefined when the key, nonce, AD or bytes are wrong */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array | undefined {
  if (sealed.length < TAG) return undefined
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG))
  decipher.setAAD(ad, { plaintextLength: sealed.length - TAG })
  try {
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG)), decipher.final()]))
  } catch {
    return undefined
  }
}

/** Base64 without padding, as age writes stanza arguments and bodies. */
export const b64nopad = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64').replace(/=+$/, '')

/** Decodes canonical unpadded base64. @returns undefined for anything else */
export function fromB64nopad(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  return b64nopad(bytes) === text ? new Uint8Array(bytes) : undefined
}

/** Standard base64 with padding. */
export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Canonical padded base64: what {@link b64} writes (unused bits of the last character zero). Checked without decoding. */
const CANONICAL_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/

/** True for canonical padded base64, as {@link fromB64} accepts; costs no decoding (a file's values are decoded only when read). */
export const isCanonicalB64 = (text: string): boolean => CANONICAL_B64.test(text)

/** Decodes canonical padded base64. @returns undefined for anything else */
export function fromB64(text: string): Uint8Array | undefined {
  return isCanonicalB64(text) ? new Uint8Array(Buffer.from(text, 'base64')) : undefined
}
