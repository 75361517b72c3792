/**
 * Keyed fingerprints of a stash's values: what the leak guard knows about them while the stash
 * is locked. For each form of each value (forms.ts) it keeps the form's length, a 20-bit keyed
 * hash of its first {@link PREFIX_BYTES} bytes (the bucket the matcher looks up at every
 * position of a text: a rolling hash, so that moving by one byte costs three multiplications) and a 64-bit tag, HMAC-SHA-256 of the whole form truncated, which
 * confirms a match. Both are keyed by a random per-user key (sources.ts), so the file alone
 * says nothing about a value; with the key, it lets one test guesses offline (SECURITY.md).
 */
import { hash, hkdfSync } from 'node:crypto'
import { formatKeyPath } from '../tree/key-path.js'
import type { Entry } from '../tree/tree.js'
import { formsOf, lengthOf, MIN_GUARD_LENGTH, PREFIX_BYTES, type Encoding } from './forms.js'

/** Bits of the prefix hash kept: enough that few positions of a text need an HMAC. */
export const BUCKET_BITS = 20

/** The per-user key, and what is derived from it. */
export interface GuardKey {
  /** HMAC-SHA-256's key XOR ipad and XOR opad (RFC 2104), each followed by room for the message. */
  inner: Buffer
  outer: Buffer
  /** The prefix hash: a polynomial in a secret odd base, mod 2^32, then a secret odd multiplier. */
  base: number
  /** base^(PREFIX_BYTES - 1) mod 2^32, to roll the window by one byte. */
  top: number
  mix: number
}

/** One fingerprinted form: [bucket, length in bytes, tag (16 hex digits), index of its key path, encoding]. */
export type Fingerprint = [number, number, string, number, Encoding]

/** The fingerprints of one stash's values. */
export interface FingerprintSet {
  /** Key paths in the command-line spelling; fingerprints point into this list. */
  paths: string[]
  /** Per key path, the tag of the path with its value, to tell an unchanged value at the next refresh. */
  entryTags: string[]
  prints: Fingerprint[]
  /** How many values were fingerprinted. */
  values: number
  /** How many values were too short to fingerprint (see {@link MIN_GUARD_LENGTH}). */
  short: number
}

/** Derives the tag key and the prefix hash's constants from the 32-byte secret (HKDF-SHA-256). */
export function guardKey(secret: Uint8Array): GuardKey {
  const hmac = Buffer.alloc(64)
  Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sstash guard tag', 32)).copy(hmac)
  const pad = (byte: number, room: number): Buffer => Buffer.concat([Buffer.from(hmac.map((b) => b ^ byte)), Buffer.alloc(room)])
  const words = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sstash guard prefix hash', 8))
  const base = words.readUInt32LE(0) | 1
  const mix = words.readUInt32LE(4) | 1
  let top = 1
  for (let i = 1; i < PREFIX_BYTES; i++) top = Math.imul(top, base)
  return { inner: pad(0x36, 0), outer: pad(0x5c, 32), base, top, mix }
}

/** The prefix hash of the {@link PREFIX_BYTES} bytes of `text` at `at` (which must all exist), before {@link bucketOf}. */
export function prefixHash(key: GuardKey, text: Uint8Array, at: number): number {
  let h = 0
  for (let i = 0; i < PREFIX_BYTES; i++) h = (Math.imul(h, key.base) + (text[at + i] as number)) | 0
  return h
}

/** The prefix hash of the window one byte further on: `out` leaves it, `into` enters. */
export const rollHash = (key: GuardKey, h: number, out: number, into: number): number => (Math.imul(h - Math.imul(out, key.top), key.base) + into) | 0

/** The bucket of a prefix hash: its top {@link BUCKET_BITS} bits after the secret multiplier. */
export const bucketOf = (key: GuardKey, h: number): number => Math.imul(h, key.mix) >>> (32 - BUCKET_BITS)

/** The bucket of the {@link PREFIX_BYTES} bytes of `text` at `at`. */
export const bucketAt = (key: GuardKey, text: Uint8Array, at: number): number => bucketOf(key, prefixHash(key, text, at))

/**
 * The tag of `text[start, end)`: HMAC-SHA-256 (RFC 2104) truncated to 64 bits, written with
 * Node's one-shot hash, which costs a fifth of a `createHmac` object per tag.
 */
export function tagOf(key: GuardKey, text: Uint8Array, start = 0, end = text.length): string {
  const inner = hash('sha256', Buffer.concat([key.inner, text.subarray(start, end)]), 'buffer')
  inner.copy(key.outer, 64)
  return hash('sha256', key.outer, 'hex').slice(0, 16)
}

/** The tag of a key path with its value: says whether a value changed since it was fingerprinted. */
const entryTag = (key: GuardKey, path: string, value: Uint8Array): string => tagOf(key, Buffer.concat([Buffer.from(`${path}\0`), value]))

/**
 * Fingerprints every value of `entries` of at least {@link MIN_GUARD_LENGTH} characters (and
 * every such line of a multi-line value), in all its forms.
 * @param previous - fingerprints made earlier with the same key: a value unchanged since keeps
 *   its fingerprints, so that a write, which refreshes them, pays for the values it changed only
 */
export function fingerprint(key: GuardKey, entries: readonly Entry[], previous?: FingerprintSet): FingerprintSet {
  const set: FingerprintSet = { paths: [], entryTags: [], prints: [], values: 0, short: 0 }
  const reuse = new Map<string, Fingerprint[]>()
  if (previous && Array.isArray(previous.entryTags))
    for (const print of previous.prints) {
      const tag = previous.entryTags[print[3]]
      if (tag !== undefined) reuse.set(tag, [...(reuse.get(tag) ?? []), print])
    }
  for (const { key: keyPath, value } of entries) {
    const path = formatKeyPath(keyPath)
    const tag = entryTag(key, path, value)
    const kept = reuse.get(tag)
    const prints = kept ? kept.map(([bucket, length, t, , encoding]): [number, number, string, Encoding] => [bucket, length, t, encoding]) : printsOf(key, value)
    if (prints.length === 0) {
      // An empty value is no secret to find, and is not counted as one left out.
      if (value.length > 0 && lengthOf(value) < MIN_GUARD_LENGTH) set.short++
      continue
    }
    set.values++
    const index = set.paths.push(path) - 1
    set.entryTags.push(tag)
    for (const [bucket, length, t, encoding] of prints) set.prints.push([bucket, length, t, index, encoding])
  }
  return set
}

function printsOf(key: GuardKey, value: Uint8Array): [number, number, string, Encoding][] {
  return formsOf(value).map((form) => [bucketAt(key, form.bytes, 0), form.bytes.length, tagOf(key, form.bytes), form.encoding])
}
