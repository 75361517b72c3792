/**
 * The diff driver's view of a team stash (git's textconv): members with their key
 * fingerprints and scopes, scopes with their generations, and one line per value with its key
 * path, its version and a short tag of its record, so that a diff says what was added, changed or removed
 * and who joined or left. It needs no identity and shows no value and no ciphertext.
 */
import { formatKeyPath } from '../tree/key-path.js'
import { TEAM_MAGIC, inPathOrder, isValue, type TeamFile, type ValueRecord } from './format.js'
import { listMembers } from './listing.js'
import { parseTeamFile } from './parse.js'
import { hexHash } from '../crypto/primitives.js'
import { teamFingerprint } from './signing.js'

const tag = (sealed: string | Uint8Array): string => hexHash('sha256', sealed).slice(0, 8)

function valueLine(kind: string, record: ValueRecord, file: TeamFile): string {
  const gen = file.scopes.get(record.scope)?.gen ?? 0
  const state = record.gen < gen ? ' set-again' : record.since < gen ? ' exposed' : ''
  // The version shows a replay in review: a diff where it goes down copied an older record back.
  return `${kind} ${formatKeyPath(record.path)} scope ${record.scope} version ${record.version} [${tag(record.sealed)}]${state}`
}

/** The textconv rendering of a parsed team stash, line by line (each with its newline). */
function* renderTeamFile(file: TeamFile): Generator<string> {
  yield `${TEAM_MAGIC} ${file.teamId} fingerprint ${teamFingerprint(file)}\n`
  yield `epoch ${file.epoch} signing key generation ${file.signKeys.size}\n`
  for (const member of listMembers(file)) yield `member ${member.name}${member.admin ? ' admin' : ''} ${member.fingerprint} scopes ${member.scopes.join(' ')}\n`
  for (const scope of file.scopes.values()) yield `scope ${scope.name} ${formatKeyPath(scope.prefix)} generation ${scope.gen}\n`
  for (const r of file.removals.values()) yield `removed ${r.member} ${r.date} ${r.scopes.map(([s, g]) => `${s}:${g}`).join(' ')}\n`
  for (const [, record] of inPathOrder(file.values)) yield `${valueLine('value', record, file)}\n`
  for (const [, record] of inPathOrder(file.conflicts)) yield `${isValue(record) ? valueLine('conflict', record, file) : `conflict ${formatKeyPath(record.path)} removed on their side`}\n`
}

/** Fields of at least this many bytes are shown as their tag: a ciphertext, a key, a signature. */
const LONG_FIELD = 24

/** One field of a file that does not parse: a long one by its tag, control characters (a terminal's escapes) as \xNN. */
function shownField(field: Uint8Array): string {
  if (field.length >= LONG_FIELD) return `[${tag(field)}]`
  return Buffer.from(field).toString('utf8').replace(/[\x00-\x1f\x7f\x80-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** The byte ranges of `bytes` between separators `sep` (each range without it; as many as separators plus one). */
function* split(bytes: Uint8Array, sep: number): Generator<Uint8Array> {
  let start = 0
  for (let end = bytes.indexOf(sep); end !== -1; start = end + 1, end = bytes.indexOf(sep, start)) yield bytes.subarray(start, end)
  yield bytes.subarray(start)
}

/**
 * The textconv rendering of a file's bytes, in pieces (about a line each) whose concatenation
 * is the text for git to print. A file that does not parse (git conflict markers, damage) is shown
 * line by line with every long field replaced by its tag, never as it is. Its bytes are split as
 * bytes, not decoded whole, and the lines are yielded as they are made: a file of up to a
 * gibibyte is shown in bounded memory, where one string of it would be over V8's limit.
 */
export function* textconv(bytes: Uint8Array, what: string): Generator<string> {
  let file: TeamFile
  try {
    file = parseTeamFile(bytes, what)
  } catch {
    let first = true
    for (const line of split(bytes, 0x0a)) {
      const fields: string[] = []
      for (const field of split(line, 0x20)) fields.push(shownField(field))
      yield `${first ? '' : '\n'}${fields.join(' ')}`
      first = false
    }
    return
  }
  yield* renderTeamFile(file)
}
