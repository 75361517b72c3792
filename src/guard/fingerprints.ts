/**
 * Keyed fingerprints of a stash's values: what the leak guard knows about them while the stash
 * is locked. For each form of each value (forms.ts) it keeps the form's length, a 20-bit keyed
 * hash of its first {@link PREFIX_BYTES} bytes (the bucket the matcher looks up at every
 * position of a text) and a 64-bit tag, HMAC-SHA-256 of the whole form truncated, which
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
  /** Tabulation hashing: one random 32-bit word per (prefix position, byte). */
  table: Uint32Array
}

/** One fingerprinted form: [bucket, length in bytes, tag (16 hex digits), index of its key path, encoding]. */
export type Fingerprint = [number, number, string, number, Encoding]

/** The fingerprints of one stash's values. */
export interface FingerprintSet {
  /** Key paths in the command-line spelling; fingerprints point into this list. */
  paths: string[]
  prints: Fingerprint[]
  /** How many values were fingerprinted. */
  values: number
  /** How many values were too short to fingerprint (see {@link MIN_GUARD_LENGTH}). */
  short: number
}

/** Derives the matcher's hash table from the 32-byte secret. */
export function guardKey(secret: Uint8Array): GuardKey {
  const table = new Uint32Array(PREFIX_BYTES * 256)
  const bytes = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sstash guard prefix table', table.byteLength / 2))
  const more = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sstash guard prefix table 2', table.byteLength / 2))
  const all = Buffer.concat([bytes, more])
  for (let i = 0; i < table.length; i++) table[i] = all.readUInt32LE(i * 4)
  const hmac = Buffer.alloc(64)
  Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sstash guard tag', 32)).copy(hmac)
  const pad = (byte: number, room: number): Buffer => Buffer.concat([Buffer.from(hmac.map((b) => b ^ byte)), Buffer.alloc(room)])
  return { inner: pad(0x36, 0), outer: pad(0x5c, 32), table }
}

/** The bucket of the {@link PREFIX_BYTES} bytes of `text` at `at` (which must all exist). */
export function bucketAt(table: Uint32Array, text: Uint8Array, at: number): number {
  let h = 0
  for (let i = 0; i < PREFIX_BYTES; i++) h ^= table[i * 256 + (text[at + i] as number)] as number
  return h >>> (32 - BUCKET_BITS)
}

/**
 * The tag of `text[start, end)`: HMAC-SHA-256 (RFC 2104) truncated to 64 bits, written with
 * Node's one-shot hash, which costs a fifth of a `createHmac` object per tag.
 */
export function tagOf(key: GuardKey, text: Uint8Array, start = 0, end = text.length): string {
  const inner = hash('sha256', Buffer.concat([key.inner, text.subarray(start, end)]), 'buffer')
  inner.copy(key.outer, 64)
  return hash('sha256', key.outer, 'hex').slice(0, 16)
}

/**
 * Fingerprints every value of `entries` of at least {@link MIN_GUARD_LENGTH} characters (and
 * every such line of a multi-line value), in all its forms.
 */
export function fingerprint(key: GuardKey, entries: readonly Entry[]): FingerprintSet {
  const set: FingerprintSet = { paths: [], prints: [], values: 0, short: 0 }
  for (const { key: path, value } of entries) {
    const forms = formsOf(value)
    if (forms.length === 0) {
      // An empty value is no secret to find, and is not counted as one left out.
      if (value.length > 0 && lengthOf(value) < MIN_GUARD_LENGTH) set.short++
      continue
    }
    set.values++
    const index = set.paths.push(formatKeyPath(path)) - 1
    for (const form of forms) set.prints.push([bucketAt(key.table, form.bytes, 0), form.bytes.length, tagOf(key, form.bytes), index, form.encoding])
  }
  return set
}
