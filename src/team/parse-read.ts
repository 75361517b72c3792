/**
 * The parse of a read of a few key paths (docs/TEAM.md, Reading a few values): the header and
 * the membership as parse.ts reads them, the values section in one cheap pass, and the records
 * at or below the keys read through parse.ts's own checks of a value record.
 */
import { SSError } from '../errors.js'
import { anchor, byteOrder, emptyTeamFile, type TeamFile } from './format.js'
import { LIMITS, THREE_LINES, bad, bounded, checkHeader, checkStructure, decode, membershipSection, tooMany, valueRecord } from './parse.js'
import { verifyMembership } from './signing.js'

/**
 * Parses a team stash for a read of some key paths: every rule of {@link parseTeamFile} over the
 * header and the membership (the signature included), one cheap pass over the values section
 * (anchors, each record's three lines, its head's syntax and canonical key path, its anchor,
 * the byte order, the bound), and every rule over the records at or below the key paths asked
 * for, which are the only value records in the result. What is left to the writers for the
 * other records, and why, is in docs/TEAM.md (Reading a few values).
 * @param spellings - the key paths read, in the file's spelling (encodePath), none the root
 * @returns undefined when one of them has no value at or below it: the caller reads the whole
 *   file then, for the error that names the nearest key path there is
 * @throws as {@link parseTeamFile}
 */
export function parseForRead(bytes: Uint8Array, what: string, spellings: readonly string[]): TeamFile | undefined {
  return bounded(what, () => parseRead(bytes, what, spellings))
}

function parseRead(bytes: Uint8Array, what: string, spellings: readonly string[]): TeamFile | undefined {
  const text = decode(bytes, what)
  const firstAnchor = text.indexOf('\n@')
  const start = firstAnchor < 0 ? text.length : firstAnchor + 1
  const lines = text.slice(0, start).split('\n')
  lines.pop()
  const file = emptyTeamFile(checkHeader(lines[0] as string, text, what))
  const { signed, end } = membershipSection(file, lines, what)
  scanSection(file, text, start, end + 1, spellings, what)
  verifyMembership(file, signed, what)
  checkStructure(file, what, true)
  // What makes a key path in the tree: a value, or a conflict (a removal alone does not).
  const paths = [...file.values.keys(), ...file.conflicts.keys()]
  return spellings.every((spelling) => paths.some((enc) => enc === spelling || enc.startsWith(`${spelling}/`))) ? file : undefined
}

/**
 * A value record's first line, as the file must spell it: its kind, an 8-hex-digit slot, and a
 * key path of one segment or more in its canonical spelling (docs/TEAM.md, Fields: `%XX` only
 * for `%`, `/`, space and the controls, `%` alone for an empty segment). Sticky: matched in place.
 */
const HEAD = /(?:value|conflict) [0-9a-f]{8} (?:\/(?:%(?=[/\n])|(?:[^%/\x00-\x20\x7f]|%(?:[01][0-9A-F]|2[05F]|7F))+))+\n/y

const HEX = '0123456789abcdef'
/** A unit at or above U+D800: where JavaScript's string order and UTF-8 byte order may differ. */
const HIGH_UNIT = /[\ud800-\uffff]/
/** An anchor line and the records under it, each as {@link HEAD} and its payload line and empty line, its slot under the anchor. */
const BUCKET = new RegExp(`@ ([0-9a-f]{2})\\n(?:${HEAD.source.replace(' [0-9a-f]{8} ', ' \\1[0-9a-f]{6} ').slice(0, -2)}\\n [^\\n]*\\n\\n)*`, 'y')

/** {@link scanFast}, or where it finds a rule broken, {@link scanValues} for the first one and its line. */
function scanSection(file: TeamFile, text: string, pos: number, line: number, spellings: readonly string[], what: string): void {
  try {
    scanFast(file, text, pos, spellings, what)
    return
  } catch (error) {
    // The engine's stack, overflowed by a line of megabytes, is a broken rule too: the slow pass
    // names it, else `bounded` refuses the file as parse.ts does.
    if (!(error instanceof SSError) && !(error instanceof RangeError)) throw error
    for (const records of [file.values, file.tombstones, file.conflicts]) records.clear()
    scanValues(file, text, pos, line, spellings, what)
    throw error
  }
}

/**
 * The values section from `pos`, checked as {@link scanValues} does with a few native calls per
 * anchor instead of many per record (a loop over each record would be hot enough for V8 to
 * compile it on a second thread: 10 ms of CPU at 1,000 values on Node 26). Its records at or
 * below `spellings` are found by searching for their spelling.
 * @throws {SSError} for any broken rule, not always the first one nor with its line: the caller then runs scanValues
 */
function scanFast(file: TeamFile, text: string, pos: number, spellings: readonly string[], what: string): void {
  const start = pos
  const order = HIGH_UNIT.test(text) ? byteOrder : (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const broken = (): never => bad(what, 0, 'the values section is malformed')
  let count = 0
  for (let bucket = 0; bucket < 256; bucket++) {
    BUCKET.lastIndex = pos
    if (!BUCKET.test(text) || text.charCodeAt(pos + 2) !== HEX.charCodeAt(bucket >> 4) || text.charCodeAt(pos + 3) !== HEX.charCodeAt(bucket & 15)) broken()
    const end = BUCKET.lastIndex
    if (end < text.length && text.charCodeAt(end) !== 0x40) broken()
    if (end > pos + 5) {
      const lines = text.slice(pos + 5, end).split('\n')
      count += (lines.length - 1) / 3
      for (let j = 3; j < lines.length - 1; j += 3) if (order(lines[j - 3] as string, lines[j] as string) >= 0) broken()
    }
    pos = end
  }
  if (pos !== text.length) broken()
  if (count > LIMITS.values) tooMany(what, 'values', LIMITS.values)
  const heads = new Set<number>()
  for (const spelling of spellings)
    for (const needle of [` ${spelling}\n`, ` ${spelling}/`])
      for (let at = text.indexOf(needle, start); at >= 0; at = text.indexOf(needle, at + 1)) {
        // A head's spelling follows `value <slot> ` or `conflict <slot> ` at the start of a line
        // (the section's lines are checked above): looked at in place, never by walking back
        // along a long line, which a line of many copies of the needle would make quadratic.
        for (const line of [at - 14, at - 17])
          if (line > start && text.charCodeAt(line - 1) === 0x0a && (line === at - 14 ? text.startsWith('value ', line) : text.startsWith('conflict ', line))) heads.add(line)
      }
  for (const head of [...heads].sort((a, b) => a - b)) {
    const headEnd = text.indexOf('\n', head)
    const slot = text.indexOf(' ', head) + 1
    valueRecord(file, text.slice(head, headEnd), text.slice(headEnd + 1, text.indexOf('\n', headEnd + 1)), parseInt(text.slice(slot, slot + 2), 16), what, 0)
  }
}

/**
 * The values section from `pos` (its first anchor, line `line`), in one pass over the text:
 * the records at or below `spellings` go into `file` through the full checks of valueRecord.
 */
function scanValues(file: TeamFile, text: string, pos: number, line: number, spellings: readonly string[], what: string): void {
  // Without a unit at or above U+D800 in the file, the engine's own comparison is byte order.
  const order = HIGH_UNIT.test(text) ? byteOrder : (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  let count = 0
  for (let bucket = 0; bucket < 256; bucket++) {
    const hi = HEX.charCodeAt(bucket >> 4)
    const lo = HEX.charCodeAt(bucket & 15)
    if (text.charCodeAt(pos) !== 0x40 || text.charCodeAt(pos + 1) !== 0x20 || text.charCodeAt(pos + 2) !== hi || text.charCodeAt(pos + 3) !== lo || text.charCodeAt(pos + 4) !== 0x0a)
      bad(what, line, `expected the anchor line ${anchor(bucket)}`)
    pos += 5
    line++
    let previous: string | undefined
    while (pos < text.length && text.charCodeAt(pos) !== 0x40) {
      const headEnd = text.indexOf('\n', pos)
      const payloadEnd = text.indexOf('\n', headEnd + 1)
      if (payloadEnd < 0 || text.charCodeAt(headEnd + 1) !== 0x20 || text.charCodeAt(payloadEnd + 1) !== 0x0a) bad(what, line, THREE_LINES)
      const head = text.slice(pos, headEnd)
      if (previous !== undefined && order(previous, head) >= 0) bad(what, line, 'records are not sorted, or one is repeated')
      HEAD.lastIndex = pos
      if (!HEAD.test(text)) bad(what, line, 'a value record is malformed')
      // The slot follows the kind: `value ` or `conflict `.
      const slot = pos + (text.charCodeAt(pos) === 0x76 ? 6 : 9)
      if (text.charCodeAt(slot) !== hi || text.charCodeAt(slot + 1) !== lo) bad(what, line, `the record for ${text.slice(slot + 9, headEnd)} is not under the anchor of its slot`)
      if (++count > LIMITS.values) tooMany(what, 'values', LIMITS.values)
      const read = spellings.some((spelling) => {
        const after = text.charCodeAt(slot + 9 + spelling.length)
        return (after === 0x0a || after === 0x2f) && text.startsWith(spelling, slot + 9)
      })
      if (read) valueRecord(file, head, text.slice(headEnd + 1, payloadEnd), bucket, what, line)
      previous = head
      pos = payloadEnd + 2
      line += 3
    }
  }
  if (pos !== text.length) bad(what, line, 'a line follows the last anchor\'s records')
}
