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

const tag = (sealed: string): string => hexHash('sha256', sealed).slice(0, 8)

function valueLine(kind: string, record: ValueRecord, file: TeamFile): string {
  const gen = file.scopes.get(record.scope)?.gen ?? 0
  const state = record.gen < gen ? ' set-again' : record.since < gen ? ' exposed' : ''
  // The version shows a replay in review: a diff where it goes down copied an older record back.
  return `${kind} ${formatKeyPath(record.path)} scope ${record.scope} version ${record.version} [${tag(record.sealed)}]${state}`
}

/** The textconv rendering of a parsed team stash. */
export function renderTeamFile(file: TeamFile): string {
  const lines = [`${TEAM_MAGIC} ${file.teamId} fingerprint ${teamFingerprint(file)}`, `epoch ${file.epoch} signing key generation ${file.signKeys.size}`]
  for (const member of listMembers(file)) lines.push(`member ${member.name}${member.admin ? ' admin' : ''} ${member.fingerprint} scopes ${member.scopes.join(' ')}`)
  for (const scope of file.scopes.values()) lines.push(`scope ${scope.name} ${formatKeyPath(scope.prefix)} generation ${scope.gen}`)
  for (const r of file.removals.values()) lines.push(`removed ${r.member} ${r.date} ${r.scopes.map(([s, g]) => `${s}:${g}`).join(' ')}`)
  for (const [, record] of inPathOrder(file.values)) lines.push(valueLine('value', record, file))
  for (const [, record] of inPathOrder(file.conflicts)) lines.push(isValue(record) ? valueLine('conflict', record, file) : `conflict ${formatKeyPath(record.path)} removed on their side`)
  return `${lines.join('\n')}\n`
}

/**
 * The textconv rendering of a file's bytes. A file that does not parse (git conflict markers,
 * damage) is shown line by line with every long field replaced by its tag, never as it is.
 */
export function textconv(bytes: Uint8Array, what: string): string {
  try {
    return renderTeamFile(parseTeamFile(bytes, what))
  } catch {
    const lines = Buffer.from(bytes).toString('utf8').split('\n')
    // Control characters (a terminal's escapes) are shown as \xNN: git prints this to a terminal.
    const shown = (field: string): string => (field.length >= 24 ? `[${tag(field)}]` : field.replace(/[\x00-\x1f\x7f\x80-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
    return lines.map((line) => line.split(' ').map(shown).join(' ')).join('\n')
  }
}
