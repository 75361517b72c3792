/**
 * The team stash file, sstash-team/2 (docs/TEAM.md is the spec): a header line, the membership
 * section (one-line records, sorted, signed as one byte string by the team's signing key), then
 * the values section: 256 anchor lines `@ 00` to `@ ff`, each followed by the value records
 * whose slot starts with it. The model and the writer are here; the reader is parse.ts.
 * Serialising writes each record from its fields, so a record nobody changed keeps its bytes.
 */
import { SSError } from '../errors.js'
import { hexHash } from '../crypto/primitives.js'

export { isTeamStash } from './detect.js'

export const TEAM_MAGIC = 'sstash-team/2'
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** A scope: a key-path prefix with its current key generation and that key's fingerprint. */
export interface ScopeRecord {
  name: string
  prefix: string[]
  gen: number
  fingerprint: string
}

/** A scope key of one generation, wrapped to one member as a base64 age file. */
export interface WrapRecord {
  scope: string
  gen: number
  member: string
  file: string
}

/** One generation of the team's signing key: its public half, endorsed by the previous generation ('-' for the first). */
export interface SignKeyRecord {
  gen: number
  publicKey: string
  endorsement: string
}

/** The signing key's private half of one generation, wrapped to one admin. */
export interface SignWrapRecord {
  admin: string
  gen: number
  file: string
}

/** A member's removal: at which membership epoch, when, and the new generation of each scope it rotated. */
export interface RemovalRecord {
  epoch: number
  member: string
  date: string
  scopes: [string, number][]
}

/** One encrypted value. */
export interface ValueRecord {
  path: string[]
  scope: string
  gen: number
  since: number
  sealed: string
}

/** A parsed team stash. Maps are keyed by name, or by the encoded path for values. */
export interface TeamFile {
  teamId: string
  /** Raised by every membership change; a clone refuses a lower one than it has seen. */
  epoch: number
  members: Map<string, string>
  admins: Set<string>
  scopes: Map<string, ScopeRecord>
  /** `${scope} ${member}` -> the wrap at the scope's current generation. */
  wraps: Map<string, WrapRecord>
  /** Generation -> the signing key of that generation; 1..n, each endorsed by the one before. */
  signKeys: Map<number, SignKeyRecord>
  /** Admin -> the current signing key wrapped to them. */
  signWraps: Map<string, SignWrapRecord>
  /** `${epoch} ${member}` -> the removal. */
  removals: Map<string, RemovalRecord>
  /** Ed25519 signature of the membership section by the newest signing key, base64. */
  signature: string
  values: Map<string, ValueRecord>
  /** Key paths whose value was removed: kept as a record, so that a removal and an addition next to it never touch in a merge. */
  tombstones: Set<string>
  /** Their side of a merge conflict; null when they removed the value. */
  conflicts: Map<string, ValueRecord | null>
}

/** An empty team file with the given id: the start of `team init`. */
export function emptyTeamFile(teamId: string): TeamFile {
  return {
    teamId, epoch: 1, members: new Map(), admins: new Set(), scopes: new Map(), wraps: new Map(), signKeys: new Map(), signWraps: new Map(),
    removals: new Map(), signature: '', values: new Map(), tombstones: new Set(), conflicts: new Map(),
  }
}

const ESCAPED = /[%/\x00-\x20\x7f]/g
const PLAIN_PATH = /^(?:\/[^%/\x00-\x20\x7f]+)+$/

/** A key path in the file's spelling: `/` + segments, `%XX` for `%`, `/`, space and controls, `%` for an empty segment. */
export function encodePath(path: readonly string[]): string {
  return `/${path.map((segment) => (segment === '' ? '%' : segment.replace(ESCAPED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`))).join('/')}`
}

/** Reads {@link encodePath}'s spelling. @returns undefined for anything that is not its canonical output */
export function decodePath(text: string): string[] | undefined {
  // Most key paths escape nothing: then the spelling is canonical as it stands.
  if (PLAIN_PATH.test(text)) {
    const path = text.slice(1).split('/')
    return path.every((segment) => segment.isWellFormed()) ? path : undefined
  }
  if (!text.startsWith('/')) return undefined
  if (text === '/') return []
  const path = text.slice(1).split('/').map((segment) => (segment === '%' ? '' : segment.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))))
  return encodePath(path) === text && path.every((segment) => segment.isWellFormed()) ? path : undefined
}

/**
 * The slot of a key path: the first 8 hex digits of SHA-256 of its spelling in the file. Value
 * records go under the anchor of their slot's first two digits, so that new key paths land at
 * scattered places in the file rather than next to their siblings (git's own merge conflicts
 * on two additions at one place).
 */
export const slotOf = (spelling: string): string => hexHash('sha256', spelling).slice(0, 8)

/** The first line of a value or conflict record. */
export const valueHead = (kind: 'value' | 'conflict', spelling: string): string => `${kind} ${slotOf(spelling)} ${spelling}`

/** True when `path` is `prefix` or below it, by whole segments. */
export const isPrefix = (prefix: readonly string[], path: readonly string[]): boolean => prefix.length <= path.length && prefix.every((s, i) => path[i] === s)

/** A trie of the scopes' prefixes, by segment in the file's spelling: what {@link scopeOf} walks. */
interface PrefixNode { scope?: ScopeRecord; readonly below: Map<string, PrefixNode> }
/** Built once per file (scopes are only ever added, so a change of size is a change). */
const prefixIndex = new WeakMap<Map<string, ScopeRecord>, { size: number; root: PrefixNode }>()

function prefixTrie(scopes: Map<string, ScopeRecord>): PrefixNode {
  const cached = prefixIndex.get(scopes)
  if (cached?.size === scopes.size) return cached.root
  const root: PrefixNode = { below: new Map() }
  for (const scope of scopes.values()) {
    let node = root
    for (const segment of scope.prefix.length ? encodePath(scope.prefix).slice(1).split('/') : []) {
      let next = node.below.get(segment)
      if (!next) node.below.set(segment, (next = { below: new Map() }))
      node = next
    }
    node.scope = scope
  }
  prefixIndex.set(scopes, { size: scopes.size, root })
  return root
}

/** The scope a key path belongs to: the one with the longest prefix of it. O(length of the path). */
export function scopeOf(file: Pick<TeamFile, 'scopes'>, path: readonly string[]): ScopeRecord | undefined {
  return scopeOfSpelling(file, encodePath(path))
}

/**
 * {@link scopeOf} for a key path already in the file's spelling (the parser has it). It walks the
 * spelling once, segment by segment, and stops where no scope goes deeper: linear in the path
 * whatever its shape (a lookup per prefix would hash each prefix whole, which is quadratic for a
 * million segments).
 */
export function scopeOfSpelling(file: Pick<TeamFile, 'scopes'>, encoded: string): ScopeRecord | undefined {
  let node = prefixTrie(file.scopes)
  let found = node.scope
  // The spelling escapes '/' inside segments, so cutting it at '/' gives each segment.
  for (let start = 1; encoded !== '/' && start <= encoded.length; ) {
    const end = encoded.indexOf('/', start)
    const next = node.below.get(encoded.slice(start, end < 0 ? undefined : end))
    if (!next) break
    node = next
    found = next.scope ?? found
    if (end < 0) break
    start = end + 1
  }
  return found
}

/** Checks a member or scope name. @throws {SSError} BAD_SCOPE (kind 'scope') or USAGE */
export function checkName(name: string, kind: 'scope' | 'member'): void {
  if (!NAME.test(name)) throw new SSError(`invalid ${kind} name ${JSON.stringify(name)}: use a-z, 0-9, '.', '_' and '-', at most 64`, kind === 'scope' ? 'BAD_SCOPE' : 'USAGE')
}

const HIGH_UNIT = /[\ud800-\uffff]/

/**
 * Compares two strings by their UTF-8 bytes, as the spec sorts, without encoding them: UTF-8
 * byte order is code point order, which differs from UTF-16 code unit order only where a
 * surrogate (a character above U+FFFF) meets a unit of U+E000 to U+FFFF; those are moved apart
 * at the first difference, as ICU's code point order comparison does. For well-formed text.
 */
export function byteOrder(a: string, b: string): number {
  // Without a unit at or above U+D800 in either, the engine's own comparison is that order.
  if (!HIGH_UNIT.test(a) && !HIGH_UNIT.test(b)) return a < b ? -1 : a > b ? 1 : 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x += x >= 0xe000 ? -0x800 : 0x2000
      y += y >= 0xe000 ? -0x800 : 0x2000
    }
    return x < y ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

/** Records keyed by their key path's spelling (`file.values`, `file.conflicts`), in key-path order: what users see, whatever the file's order. */
export function inPathOrder<T>(records: ReadonlyMap<string, T>): [string, T][] {
  const keys = [...records.keys()]
  // The engine's own sort (UTF-16 code units, no comparator to call) is that order when no key
  // has a unit at or above U+D800: ten times faster, on every read of a large team stash.
  if (keys.some((key) => HIGH_UNIT.test(key))) keys.sort(byteOrder)
  else keys.sort()
  return keys.map((key) => [key, records.get(key) as T])
}

/** The membership records' lines, sorted, without the signature: the byte string the signature covers (after the header). */
export function membershipLines(file: TeamFile): string[] {
  const out: string[] = [`epoch ${file.epoch}`]
  for (const name of file.admins) out.push(`admin ${name}`)
  for (const [name, recipient] of file.members) out.push(`member ${name} ${recipient}`)
  for (const r of file.removals.values()) out.push(`removed ${r.epoch} ${r.member} ${r.date} ${r.scopes.length === 0 ? '-' : r.scopes.map(([s, g]) => `${s}:${g}`).join(',')}`)
  for (const s of file.scopes.values()) out.push(`scope ${s.name} ${encodePath(s.prefix)} ${s.gen} ${s.fingerprint}`)
  for (const k of file.signKeys.values()) out.push(`signkey ${k.gen} ${k.publicKey} ${k.endorsement}`)
  for (const w of file.signWraps.values()) out.push(`signwrap ${w.admin} ${w.gen} ${w.file}`)
  for (const w of file.wraps.values()) out.push(`wrap ${w.scope} ${w.gen} ${w.member} ${w.file}`)
  return out.sort(byteOrder)
}

/** The anchor line of bucket `i` (0..255) of the values section. */
export const anchor = (i: number): string => `@ ${i.toString(16).padStart(2, '0')}`

/** A value record (or their side of a conflict) in its three lines; a tombstone or a removal on their side has payload `-`. */
export const valueLines = (kind: 'value' | 'conflict', spelling: string, v: ValueRecord | null): string =>
  `${valueHead(kind, spelling)}\n ${v ? `${v.scope} ${v.gen} ${v.since} ${v.sealed}` : '-'}\n`

/**
 * Joins the header, membership lines and value records (each `valueLines`' output) into a file:
 * value records under the anchor of their slot, sorted by their first line.
 */
export function joinFile(header: string, membership: readonly string[], values: readonly string[]): Uint8Array {
  const buckets: { first: string; record: string }[][] = Array.from({ length: 256 }, () => [])
  for (const record of values) {
    const first = record.slice(0, record.indexOf('\n'))
    const slot = first.slice(first.indexOf(' ') + 1, first.indexOf(' ') + 3)
    buckets[parseInt(slot, 16)]?.push({ first, record })
  }
  const parts = [`${header}\n`, ...membership.map((line) => `${line}\n`)]
  buckets.forEach((bucket, i) => {
    parts.push(`${anchor(i)}\n`)
    for (const { record } of bucket.sort((a, b) => byteOrder(a.first, b.first))) parts.push(`${record}\n`)
  })
  return new Uint8Array(Buffer.from(parts.join('')))
}

/** The value records of a file, each in its lines. */
export function valueRecords(file: TeamFile): string[] {
  const out: string[] = []
  for (const [enc, v] of file.values) out.push(valueLines('value', enc, v))
  for (const enc of file.tombstones) if (!file.values.has(enc)) out.push(valueLines('value', enc, null))
  for (const [enc, v] of file.conflicts) out.push(valueLines('conflict', enc, v))
  return out
}

/** Writes a team stash: the header, the signed membership section, then the values section. */
export function serializeTeamFile(file: TeamFile): Uint8Array {
  return joinFile(`${TEAM_MAGIC} ${file.teamId}`, [...membershipLines(file), `signature ${file.signature}`].sort(byteOrder), valueRecords(file))
}
