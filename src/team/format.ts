/**
 * The team stash file, sstash-team/1 (docs/TEAM.md is the spec): a header line, then sorted
 * records, one per line. Pure: parsing checks the syntax and the structural rules; the keys
 * and MACs are checked by team-stash.ts. Serialising writes each record from its fields, so a
 * record nobody changed keeps its exact bytes.
 */
import { SSError } from '../errors.js'
import { fromB64, hexHash, isCanonicalB64 } from './primitives.js'

export { isTeamStash } from './detect.js'

export const TEAM_MAGIC = 'sstash-team/1'
const MAX_GEN = 2 ** 31 - 1
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** A scope: a key-path prefix with its current key generation. */
export interface ScopeRecord {
  name: string
  prefix: string[]
  gen: number
  fingerprint: string
  mac: string
}

/** A scope key of one generation, wrapped to one member as a base64 age file. */
export interface WrapRecord {
  scope: string
  gen: number
  member: string
  file: string
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
  members: Map<string, string>
  scopes: Map<string, ScopeRecord>
  /** `${scope} ${member}` -> the wrap at the scope's current generation. */
  wraps: Map<string, WrapRecord>
  /** `${scope} ${gen}` -> the previous generation's key, sealed. */
  chains: Map<string, string>
  values: Map<string, ValueRecord>
  /** Their side of a merge conflict; null when they removed the value. */
  conflicts: Map<string, ValueRecord | null>
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
 * records sort by it, so that new key paths land at scattered places in the file rather than
 * next to their siblings: git's own merge conflicts on two additions at one place, and related
 * key paths (`dev/api/a`, `dev/api/b`) are what two people tend to add at once.
 */
export const slotOf = (spelling: string): string => hexHash('sha256', spelling).slice(0, 8)

/** The first line of a value or conflict record. */
export const valueHead = (kind: 'value' | 'conflict', spelling: string): string => `${kind} ${slotOf(spelling)} ${spelling}`

/** True when `path` is `prefix` or below it, by whole segments. */
export const isPrefix = (prefix: readonly string[], path: readonly string[]): boolean => prefix.length <= path.length && prefix.every((s, i) => path[i] === s)

/** The scope a key path belongs to: the one with the longest prefix of it. */
export function scopeOf(file: Pick<TeamFile, 'scopes'>, path: readonly string[]): ScopeRecord | undefined {
  let best: ScopeRecord | undefined
  for (const scope of file.scopes.values()) if (isPrefix(scope.prefix, path) && (!best || scope.prefix.length > best.prefix.length)) best = scope
  return best
}

/** Checks a member or scope name. @throws {SSError} BAD_SCOPE (kind 'scope') or USAGE */
export function checkName(name: string, kind: 'scope' | 'member'): void {
  if (!NAME.test(name)) throw new SSError(`invalid ${kind} name ${JSON.stringify(name)}: use a-z, 0-9, '.', '_' and '-', at most 64`, kind === 'scope' ? 'BAD_SCOPE' : 'USAGE')
}

function bad(what: string, line: number, why: string): never {
  throw new SSError(`${what} is not a valid team stash: line ${line}: ${why}`, 'NOT_A_STASH')
}

function parseGen(text: string | undefined): number | undefined {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text)) return undefined
  const n = Number(text)
  return n <= MAX_GEN ? n : undefined
}

interface Fields {
  kind: string
  f: string[]
}

/** The key path of a value or conflict record, after checking its slot. */
function recordPath(f: string[], what: string, line: number): string[] {
  const [kind, slot, spelling] = f
  const path = spelling === undefined ? undefined : decodePath(spelling)
  if (!path || path.length === 0) bad(what, line, `a ${kind} record is malformed`)
  if (slot !== slotOf(spelling as string)) bad(what, line, `the slot of the ${kind} record for ${spelling} is not the one its key path gives`)
  return path
}

function parseValue(f: string[], what: string, line: number): ValueRecord {
  const [, , , scope, gen, since, sealed] = f
  const g = parseGen(gen)
  const s = parseGen(since)
  if (f.length !== 7 || !NAME.test(scope ?? '') || !g || !s || s > g || !isCanonicalB64(sealed ?? '')) bad(what, line, `a ${f[0]} record is malformed`)
  return { path: recordPath(f, what, line), scope: scope as string, gen: g, since: s, sealed: sealed as string }
}

function parseRecord(file: TeamFile, { kind, f }: Fields, what: string, line: number): void {
  const malformed = (): never => bad(what, line, `a ${kind} record is malformed`)
  const once = <T>(map: Map<string, T>, key: string, value: T): void => {
    if (map.has(key)) bad(what, line, `a second ${kind} record for ${key}`)
    map.set(key, value)
  }
  if (kind === 'member') {
    const recipient = f.slice(2).join(' ')
    const ok = f.length === 3 ? /^age1[a-z0-9]+$/.test(recipient) : f.length === 4 && f[2] === 'ssh-ed25519' && fromB64(f[3] as string) !== undefined
    if (!NAME.test(f[1] ?? '') || !ok) malformed()
    once(file.members, f[1] as string, recipient)
  } else if (kind === 'scope') {
    const prefix = decodePath(f[2] ?? '')
    const gen = parseGen(f[3])
    if (f.length !== 6 || !NAME.test(f[1] ?? '') || !prefix || !gen || fromB64(f[4] as string)?.length !== 16 || fromB64(f[5] as string)?.length !== 32) malformed()
    once(file.scopes, f[1] as string, { name: f[1] as string, prefix: prefix as string[], gen: gen as number, fingerprint: f[4] as string, mac: f[5] as string })
  } else if (kind === 'wrap') {
    const gen = parseGen(f[2])
    if (f.length !== 5 || !NAME.test(f[1] ?? '') || !gen || !NAME.test(f[3] ?? '') || !isCanonicalB64(f[4] as string)) malformed()
    once(file.wraps, `${f[1]} ${f[3]}`, { scope: f[1] as string, gen: gen as number, member: f[3] as string, file: f[4] as string })
  } else if (kind === 'chain') {
    const gen = parseGen(f[2])
    if (f.length !== 4 || !NAME.test(f[1] ?? '') || !gen || gen < 2 || fromB64(f[3] as string)?.length !== 60) malformed()
    once(file.chains, `${f[1]} ${gen}`, f[3] as string)
  } else if (kind === 'value') {
    const value = parseValue(f, what, line)
    once(file.values, encodePath(value.path), value)
  } else if (kind === 'conflict') {
    if (f.length === 4 && f[3] === '-') {
      recordPath(f, what, line)
      once(file.conflicts, f[2] as string, null)
    } else {
      const value = parseValue(f, what, line)
      once(file.conflicts, encodePath(value.path), value)
    }
  } else bad(what, line, `unknown record ${JSON.stringify(kind)}`)
}

/** The structural rules of the spec that need the whole file (3 to 6). */
function checkStructure(file: TeamFile, what: string): void {
  const fail = (why: string): never => {
    throw new SSError(`${what} is not a valid team stash: ${why}`, 'NOT_A_STASH')
  }
  for (const wrap of file.wraps.values()) {
    const scope = file.scopes.get(wrap.scope)
    if (!scope) fail(`a wrap names the unknown scope ${wrap.scope}`)
    if (!file.members.has(wrap.member)) fail(`a wrap names the unknown member ${wrap.member}`)
    if (wrap.gen !== scope?.gen) fail(`a wrap of scope ${wrap.scope} is not at its current generation`)
  }
  for (const name of file.members.keys())
    if (![...file.wraps.values()].some((wrap) => wrap.member === name))
      throw new SSError(`${what}: member ${name} holds no scope (a planted member record?)`, 'TEAM_TAMPERED')
  for (const scope of file.scopes.values())
    for (let gen = 2; gen <= scope.gen; gen++) if (!file.chains.has(`${scope.name} ${gen}`)) fail(`scope ${scope.name} lacks its chain record for generation ${gen}`)
  for (const key of file.chains.keys()) {
    const [name, gen] = key.split(' ')
    const scope = file.scopes.get(name as string)
    if (!scope || Number(gen) > scope.gen) fail(`a chain record names scope ${name} generation ${gen}, which does not exist`)
  }
  for (const value of [...file.values.values(), ...file.conflicts.values()]) {
    if (!value) continue
    const scope = scopeOf(file, value.path)
    if (scope?.name !== value.scope || value.gen > scope.gen) fail(`the value at ${encodePath(value.path)} names the wrong scope or generation`)
  }
}

/**
 * Parses a team stash's bytes.
 * @param what - the file's name, for messages
 * @throws {SSError} NOT_A_STASH, UNSUPPORTED_FORMAT, TEAM_CONFLICT (git conflict markers), TEAM_TAMPERED (a member with no scope)
 */
export function parseTeamFile(bytes: Uint8Array, what: string): TeamFile {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    bad(what, 1, 'it is not UTF-8')
  }
  const lines = text.split('\n')
  if (lines.pop() !== '') bad(what, lines.length, 'the last line does not end with a newline')
  const header = (lines[0] ?? '').split(' ')
  const version = /^sstash-team\/([0-9]+)$/.exec(header[0] ?? '')
  if (version && version[1] !== '1') throw new SSError(`${what} is in format sstash-team/${version[1]}, which this version of sstash cannot read`, 'UNSUPPORTED_FORMAT')
  if (header[0] !== TEAM_MAGIC || header.length !== 2 || !/^[A-Za-z0-9_-]{22}$/.test(header[1] as string)) bad(what, 1, 'the header is not sstash-team/1 <team-id>')
  if (lines.some((line) => /^(<{7}|={7}|>{7})( |$)/.test(line)))
    throw new SSError(`${what} holds git conflict markers`, 'TEAM_CONFLICT', {
      hint: 'run `sstash team git-setup`, then `git checkout -m <file>` to merge it again with the sstash merge driver',
    })
  const file: TeamFile = { teamId: header[1] as string, members: new Map(), scopes: new Map(), wraps: new Map(), chains: new Map(), values: new Map(), conflicts: new Map() }
  let previous: string | undefined
  for (const record of splitRecords(lines, (line, why) => bad(what, line, why))) {
    const first = record.first
    if (previous !== undefined && byteOrder(previous, first) >= 0) bad(what, record.line, 'records are not sorted, or one is repeated')
    previous = first
    const f = record.text.split(' ')
    if (f.some((field) => field === '')) bad(what, record.line, 'a field is empty, or there are two spaces')
    parseRecord(file, { kind: f[0] as string, f }, what, record.line)
  }
  checkStructure(file, what)
  return file
}

/**
 * Compares two strings by their UTF-8 bytes, as the spec sorts, without encoding them: UTF-8
 * byte order is code point order, which differs from UTF-16 code unit order only where a
 * surrogate (a character above U+FFFF) meets a unit of U+E000 to U+FFFF; those are moved apart
 * at the first difference, as ICU's code point order comparison does. For well-formed text.
 */
export function byteOrder(a: string, b: string): number {
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
export const inPathOrder = <T>(records: ReadonlyMap<string, T>): [string, T][] => [...records].sort(([a], [b]) => byteOrder(a, b))

/** One record of the file: its first line (what records are sorted by), its fields as one line, and its line number. */
export interface RawRecord {
  first: string
  text: string
  line: number
}

/**
 * The records after the header. A value or conflict record spans three lines: `value <slot> <path>`,
 * then ` <scope> <gen> <since> <sealed>`, then an empty line, so that changes of neighbouring
 * values are never on adjacent lines and git's own merge keeps them apart.
 */
export function splitRecords(lines: readonly string[], fail: (line: number, why: string) => never): RawRecord[] {
  const out: RawRecord[] = []
  for (let i = 1; i < lines.length; i++) {
    const first = lines[i] as string
    if (!first.startsWith('value ') && !first.startsWith('conflict ')) {
      out.push({ first, text: first, line: i + 1 })
      continue
    }
    const payload = lines[i + 1]
    if (payload === undefined || !payload.startsWith(' ') || lines[i + 2] !== '') fail(i + 1, 'a value record must be three lines: value <path>, " <scope> <gen> <since> <sealed>", an empty line')
    out.push({ first, text: `${first}${payload}`, line: i + 1 })
    i += 2
  }
  return out
}

/** A value record (or their side of a conflict) in its three lines. */
const valueLines = (kind: 'value' | 'conflict', v: ValueRecord): string => `${valueHead(kind, encodePath(v.path))}\n ${v.scope} ${v.gen} ${v.since} ${v.sealed}\n`

/** Their side of a conflict, when they removed the value: the record's lines. */
export const removedLines = (spelling: string): string => `${valueHead('conflict', spelling)}\n -\n`

/**
 * Joins records, each given as its lines without the final newline, sorted by their first line
 * (by bytes, as the spec says: String comparison is by UTF-16 code unit, which differs above U+FFFF).
 */
export function joinRecords(header: string, records: readonly string[]): Uint8Array {
  const sorted = records.map((record) => ({ first: record.split('\n', 1)[0] as string, record })).sort((a, b) => byteOrder(a.first, b.first))
  return new Uint8Array(Buffer.from(`${header}\n${sorted.map(({ record }) => `${record}\n`).join('')}`))
}

/** Writes a team stash: the header, then every record, sorted. */
export function serializeTeamFile(file: TeamFile): Uint8Array {
  const records: string[] = []
  for (const [name, recipient] of file.members) records.push(`member ${name} ${recipient}`)
  for (const s of file.scopes.values()) records.push(`scope ${s.name} ${encodePath(s.prefix)} ${s.gen} ${s.fingerprint} ${s.mac}`)
  for (const w of file.wraps.values()) records.push(`wrap ${w.scope} ${w.gen} ${w.member} ${w.file}`)
  for (const [key, sealed] of file.chains) records.push(`chain ${key} ${sealed}`)
  for (const v of file.values.values()) records.push(valueLines('value', v))
  for (const [path, v] of file.conflicts) records.push(v ? valueLines('conflict', v) : removedLines(path))
  return joinRecords(`${TEAM_MAGIC} ${file.teamId}`, records)
}
