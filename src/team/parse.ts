/**
 * Reads a team stash (sstash-team/2, docs/TEAM.md): the syntax, the structural rules and the
 * membership signature (a read of a few key paths: parse-read.ts, with the pieces exported here). Linear in the file's size: every cross-reference goes through a map,
 * and each kind of record is bounded, so a hostile file of any shape is read or refused fast.
 */
import { SSError } from '../errors.js'
import { TEAM_MAGIC, anchor, byteOrder, decodePath, emptyTeamFile, encodePath, scopeOfSpelling, slotOf, type TeamFile, type TombstoneRecord, type ValueRecord } from './format.js'
import { fromB64, isCanonicalB64 } from '../crypto/primitives.js'
import { verifyMembership } from './signing.js'

/** The bounds a file is held to (docs/TEAM.md, Limits). */
export const LIMITS = { bytes: 64 * 1024 * 1024, members: 1000, scopes: 256, wraps: 20_000, values: 100_000, removals: 10_000, signKeys: 1000 }

const MAX_GEN = 2 ** 31 - 1
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/
const TEAM_ID = /^[A-Za-z0-9_-]{22}$/
const PRE_RELEASE = 'make the team again: `sstash --stash <new file> team init --as <you>`, `team add` each member, and `sstash set` each value again'

/** Refuses the file, naming the line. @throws {SSError} NOT_A_STASH */
export function bad(what: string, line: number, why: string): never {
  throw new SSError(`${what} is not a valid team stash: line ${line}: ${why}`, 'NOT_A_STASH')
}

function parseGen(text: string | undefined): number | undefined {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text)) return undefined
  const n = Number(text)
  return n <= MAX_GEN ? n : undefined
}

/** Refuses the file for a bound it exceeds. @throws {SSError} NOT_A_STASH */
export function tooMany(what: string, kind: string, limit: number): never {
  throw new SSError(`${what} is not a valid team stash: more than ${limit} ${kind}`, 'NOT_A_STASH', { hint: 'docs/TEAM.md, Limits, gives the bounds of a team stash' })
}

/** One membership record into `file`. */
function membershipRecord(file: TeamFile, f: string[], what: string, line: number): void {
  const [kind, a, b, c, d] = f
  const malformed = (): never => bad(what, line, `a ${kind} record is malformed`)
  const once = <T>(map: Map<string, T>, key: string, value: T, limit: number): void => {
    if (map.has(key)) bad(what, line, `a second ${kind} record for ${key}`)
    if (map.size >= limit) tooMany(what, `${kind} records`, limit)
    map.set(key, value)
  }
  if (kind === 'epoch') {
    const epoch = parseGen(a)
    if (f.length !== 2 || !epoch) malformed()
    file.epoch = epoch as number
  } else if (kind === 'admin') {
    if (f.length !== 2 || !NAME.test(a ?? '') || file.admins.size >= LIMITS.members) malformed()
    file.admins.add(a as string)
  } else if (kind === 'member') {
    const recipient = f.slice(2).join(' ')
    const ok = f.length === 3 ? /^age1[a-z0-9]{1,200}$/.test(recipient) : f.length === 4 && b === 'ssh-ed25519' && (c?.length ?? 0) < 200 && fromB64(c as string) !== undefined
    if (!NAME.test(a ?? '') || !ok) malformed()
    once(file.members, a as string, recipient, LIMITS.members)
  } else if (kind === 'removed') {
    const epoch = parseGen(a)
    const scopes = d === '-' ? [] : (d ?? '').split(',').map((pair) => pair.split(':'))
    if (f.length !== 5 || !epoch || !NAME.test(b ?? '') || !DATE.test(c ?? '') || scopes.some(([s, g, x]) => x !== undefined || !NAME.test(s ?? '') || !parseGen(g))) malformed()
    once(file.removals, `${epoch} ${b}`, { epoch: epoch as number, member: b as string, date: c as string, scopes: scopes.map(([s, g]) => [s as string, Number(g)]) }, LIMITS.removals)
  } else if (kind === 'scope') {
    const prefix = decodePath(b ?? '')
    const gen = parseGen(c)
    if (f.length !== 5 || !NAME.test(a ?? '') || !prefix || !gen || fromB64(d as string)?.length !== 16) malformed()
    once(file.scopes, a as string, { name: a as string, prefix: prefix as string[], gen: gen as number, fingerprint: d as string }, LIMITS.scopes)
  } else if (kind === 'signkey') {
    const gen = parseGen(a)
    if (f.length !== 4 || !gen || fromB64(b as string)?.length !== 32 || (gen === 1 ? c !== '-' : fromB64(c as string)?.length !== 64)) malformed()
    if (file.signKeys.has(gen as number)) bad(what, line, `a second signkey record for generation ${gen}`)
    if (file.signKeys.size >= LIMITS.signKeys) tooMany(what, 'signing keys', LIMITS.signKeys)
    file.signKeys.set(gen as number, { gen: gen as number, publicKey: b as string, endorsement: c as string })
  } else if (kind === 'signwrap') {
    const gen = parseGen(b)
    if (f.length !== 4 || !NAME.test(a ?? '') || !gen || !isCanonicalB64(c as string)) malformed()
    once(file.signWraps, a as string, { admin: a as string, gen: gen as number, file: c as string }, LIMITS.members)
  } else if (kind === 'wrap') {
    const gen = parseGen(b)
    if (f.length !== 5 || !NAME.test(a ?? '') || !gen || !NAME.test(c ?? '') || !isCanonicalB64(d as string)) malformed()
    once(file.wraps, `${a} ${c}`, { scope: a as string, gen: gen as number, member: c as string, file: d as string }, LIMITS.wraps)
  } else if (kind === 'signature') {
    if (f.length !== 2 || fromB64(a as string)?.length !== 64) malformed()
    // The signature line is outside what it signs: a second one would make two files of one meaning.
    if (file.signature !== '') bad(what, line, 'a second signature record')
    file.signature = a as string
  } else bad(what, line, `unknown record ${JSON.stringify(kind)}`)
}

/** A value or conflict record (three lines) into `file`; `bucket` is the anchor it is under. */
export function valueRecord(file: TeamFile, head: string, payload: string, bucket: number, what: string, line: number): void {
  const [kind, slot, spelling, extra] = head.split(' ')
  const path = spelling === undefined ? undefined : decodePath(spelling)
  if ((kind !== 'value' && kind !== 'conflict') || extra !== undefined || !path || path.length === 0) bad(what, line, 'a value record is malformed')
  if (slot !== slotOf(spelling as string)) bad(what, line, `the slot of the ${kind} record for ${spelling} is not the one its key path gives`)
  if (parseInt((slot as string).slice(0, 2), 16) !== bucket) bad(what, line, `the ${kind} record for ${spelling} is not under the anchor of its slot`)
  const enc = spelling as string
  if (file.values.size + file.tombstones.size + file.conflicts.size >= LIMITS.values) tooMany(what, 'values', LIMITS.values)
  if (kind === 'value' ? file.values.has(enc) || file.tombstones.has(enc) : file.conflicts.has(enc)) bad(what, line, `a second ${kind} record for ${enc}`)
  const f = payload.split(' ')
  // The payload of a pre-release draft of this format: no version, an untagged tombstone.
  if (payload === ' -' || (f.length === 5 && f[1] !== '-'))
    throw new SSError(`${what} is not a valid team stash: line ${line + 1}: the ${kind} record for ${enc} has no version (a pre-release sstash wrote it)`, 'NOT_A_STASH', { hint: PRE_RELEASE })
  if (f[1] === '-') {
    const [empty, , scope, gen, version, tag, more] = f
    const [g, n] = [parseGen(gen), parseGen(version)]
    if (empty !== '' || more !== undefined || !NAME.test(scope ?? '') || !g || !n || fromB64(tag as string)?.length !== 32) bad(what, line, `a ${kind} record's tombstone is malformed`)
    const record: TombstoneRecord = { path: path as string[], scope: scope as string, gen: g as number, version: n as number, tag: tag as string }
    if (kind === 'value') file.tombstones.set(enc, record)
    else file.conflicts.set(enc, record)
    return
  }
  const [empty, scope, gen, since, version, sealed, more] = f
  const [g, s, n] = [parseGen(gen), parseGen(since), parseGen(version)]
  if (empty !== '' || more !== undefined || !NAME.test(scope ?? '') || !g || !s || !n || s > g || !isCanonicalB64(sealed ?? '') || (sealed ?? '').length < 40) bad(what, line, `a ${kind} record is malformed`)
  const record: ValueRecord = { path: path as string[], scope: scope as string, gen: g as number, since: s as number, version: n as number, sealed: sealed as string }
  if (kind === 'value') file.values.set(enc, record)
  else file.conflicts.set(enc, record)
}

/** The structural rules of the spec that need the whole file, each in one pass over maps. */
export function checkStructure(file: TeamFile, what: string, signedFile: boolean): void {
  const fail = (why: string): never => {
    throw new SSError(`${what} is not a valid team stash: ${why}`, 'NOT_A_STASH')
  }
  if (file.signKeys.size === 0 || (signedFile && file.signature === '')) fail('it has no signing key or no signature')
  for (let gen = 1; gen <= file.signKeys.size; gen++) if (!file.signKeys.has(gen)) fail(`signing key generation ${gen} is missing`)
  const holders = new Set<string>()
  for (const wrap of file.wraps.values()) {
    const scope = file.scopes.get(wrap.scope)
    if (!scope) fail(`a wrap names the unknown scope ${wrap.scope}`)
    if (!file.members.has(wrap.member)) fail(`a wrap names the unknown member ${wrap.member}`)
    if (wrap.gen !== scope?.gen) fail(`a wrap of scope ${wrap.scope} is not at its current generation`)
    holders.add(wrap.member)
  }
  for (const admin of file.admins) if (!file.members.has(admin) || file.signWraps.get(admin)?.gen !== file.signKeys.size) fail(`admin ${admin} is not a member holding the current signing key`)
  for (const w of file.signWraps.values()) if (!file.admins.has(w.admin)) fail(`the signing key is wrapped to ${w.admin}, who is not an admin`)
  if (file.admins.size === 0) fail('it has no admin')
  for (const name of file.members.keys()) if (!holders.has(name) && !file.admins.has(name)) fail(`member ${name} holds no scope and is not an admin`)
  const prefixes = new Set<string>()
  for (const scope of file.scopes.values()) {
    const spelling = encodePath(scope.prefix)
    if (prefixes.has(spelling)) fail(`two scopes have the prefix ${spelling}`)
    prefixes.add(spelling)
  }
  for (const r of file.removals.values()) if (r.epoch > file.epoch) fail(`a removal is from membership epoch ${r.epoch}, after the file's ${file.epoch}`)
  for (const map of [file.values, file.tombstones, file.conflicts])
    for (const [spelling, value] of map) {
      const scope = scopeOfSpelling(file, spelling)
      if (scope?.name !== value.scope || value.gen > scope.gen) fail(`the value at ${spelling} names the wrong scope or generation`)
    }
}

/** The header line's checks, and git's conflict markers anywhere. @throws {SSError} UNSUPPORTED_FORMAT, NOT_A_STASH, TEAM_CONFLICT */
export function checkHeader(first: string, text: string, what: string): string {
  const header = first.split(' ')
  const version = /^sstash-team\/([0-9]+)$/.exec(header[0] ?? '')
  if (version?.[1] === '1')
    throw new SSError(`${what} is in format sstash-team/1, a pre-release format this version of sstash does not read`, 'UNSUPPORTED_FORMAT', { hint: PRE_RELEASE })
  if (version && header[0] !== TEAM_MAGIC) throw new SSError(`${what} is in format ${header[0]}, which this version of sstash cannot read`, 'UNSUPPORTED_FORMAT')
  if (header[0] !== TEAM_MAGIC || header.length !== 2 || !TEAM_ID.test(header[1] as string)) bad(what, 1, `the header is not ${TEAM_MAGIC} <team-id>`)
  if (hasConflictMarker(text))
    throw new SSError(`${what} holds git conflict markers`, 'TEAM_CONFLICT', {
      hint: 'run `sstash team git-setup`, then `git checkout -m <file>` to merge it again with the sstash merge driver',
    })
  return header[1] as string
}

/**
 * True when a line starts with a git conflict marker (seven of `<`, `=` or `>`, then a space or
 * the line's end). Searched for, not matched line by line: the first line is the header.
 */
function hasConflictMarker(text: string): boolean {
  for (const marker of ['\n<<<<<<<', '\n=======', '\n>>>>>>>'])
    for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
      const next = text.charCodeAt(at + 8)
      if (next === 0x20 || next === 0x0a || at + 8 === text.length) return true
    }
  return false
}

/** The UTF-8 text of a file within the size bound, ending with a newline. */
export function decode(bytes: Uint8Array, what: string): string {
  if (bytes.length > LIMITS.bytes) tooMany(what, 'bytes', LIMITS.bytes)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    bad(what, 1, 'it is not UTF-8')
  }
  if (!text.endsWith('\n')) bad(what, lineAt(text, text.length), 'the last line does not end with a newline')
  return text
}

/** The line number of the character at `offset`, for a message. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length

/**
 * The membership section, lines 2.. of `lines` up to the first anchor, into `file`.
 * @returns the signed lines (all but the signature), and the index of the first anchor line
 */
export function membershipSection(file: TeamFile, lines: readonly string[], what: string): { signed: string[]; end: number } {
  const signed: string[] = []
  let i = 1
  let previous: string | undefined
  for (; i < lines.length && !(lines[i] as string).startsWith('@'); i++) {
    const line = lines[i] as string
    if (previous !== undefined && byteOrder(previous, line) >= 0) bad(what, i + 1, 'records are not sorted, or one is repeated')
    previous = line
    const f = line.split(' ')
    if (f.some((field) => field === '')) bad(what, i + 1, 'a field is empty, or there are two spaces')
    membershipRecord(file, f, what, i + 1)
    if (f[0] !== 'signature') signed.push(line)
  }
  return { signed, end: i }
}

/**
 * Parses a team stash's bytes and checks its membership signature.
 * @param what - the file's name, for messages
 * @throws {SSError} NOT_A_STASH, UNSUPPORTED_FORMAT, TEAM_CONFLICT (git conflict markers); {@link SSCryptoError} TEAM_TAMPERED
 */
export function parseTeamFile(bytes: Uint8Array, what: string): TeamFile {
  return bounded(what, () => parse(bytes, what, true))
}

/** Parses a membership the merge driver is about to sign: every rule but the signature. @throws as {@link parseTeamFile} */
export function parseUnsigned(bytes: Uint8Array, what: string): TeamFile {
  return bounded(what, () => parse(bytes, what, false))
}

/**
 * Runs a parse, with the engine's own limit turned into a refusal: a line of megabytes (one
 * key path segment of 12 MB) overflows the regular expressions' stack, which is a malformed
 * file to the reader, never a crash.
 * @throws {SSError} NOT_A_STASH where the engine ran out of stack; as `parse`
 */
export function bounded<T>(what: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof RangeError) throw new SSError(`${what} is not a valid team stash: a record is too large to check`, 'NOT_A_STASH')
    throw error
  }
}

function parse(bytes: Uint8Array, what: string, signedFile: boolean): TeamFile {
  const text = decode(bytes, what)
  const lines = text.split('\n')
  lines.pop()
  const file = emptyTeamFile(checkHeader(lines[0] as string, text, what))
  const { signed, end } = membershipSection(file, lines, what)
  let i = end
  let previous: string | undefined
  for (let bucket = 0; bucket < 256; bucket++) {
    if (lines[i] !== anchor(bucket)) bad(what, i + 1, `expected the anchor line ${anchor(bucket)}`)
    previous = undefined
    for (i++; i < lines.length && !(lines[i] as string).startsWith('@'); i += 3) {
      const head = lines[i] as string
      const payload = lines[i + 1]
      if (payload === undefined || !payload.startsWith(' ') || lines[i + 2] !== '') bad(what, i + 1, THREE_LINES)
      if (previous !== undefined && byteOrder(previous, head) >= 0) bad(what, i + 1, 'records are not sorted, or one is repeated')
      previous = head
      valueRecord(file, head, payload, bucket, what, i + 1)
    }
  }
  if (i !== lines.length) bad(what, i + 1, 'a line follows the last anchor\'s records')
  // The signature first: anything planted in the membership is then named for what it is.
  if (signedFile) verifyMembership(file, signed, what)
  checkStructure(file, what, signedFile)
  return file
}

/** The message of a value record that is not three lines. */
export const THREE_LINES = 'a value record must be three lines: value <slot> <path>, " <scope> <gen> <since> <version> <sealed>" or " - <scope> <gen> <version> <tag>", an empty line'
