/**
 * The command-line spelling of key paths: segments joined by `/`.
 *
 *   project/SomeService/token1        ['project', 'SomeService', 'token1']
 *   with\/slash/back\\slash           ['with/slash', 'back\\slash']
 *   a/\e/b                            ['a', '', 'b']          (\e is an empty segment)
 *   tab\x09name                       ['tab\tname']           (\xHH for control characters)
 *   a\u202eb                          ['a\u202eb']            (\uHHHH for bidi and line-separator controls)
 *   '' or '/'                         []                      (the root)
 *
 * A trailing `/` is ignored. {@link formatKeyPath} writes exactly what {@link parseKeyPath} reads,
 * so anything `sstash ls` prints can be pasted back.
 */
import { SSError } from '../errors.js'

function syntaxError(text: string, why: string): never {
  throw new SSError(`invalid key path ${JSON.stringify(text)}: ${why}`, 'BAD_KEYPATH_SYNTAX')
}

/**
 * Parses a key path written on the command line.
 * @throws {SSError} BAD_KEYPATH_SYNTAX
 */
export function parseKeyPath(text: string): string[] {
  if (text === '' || text === '/') return []
  // Split on each `/` that is not escaped; pieces keep their escapes.
  const pieces: string[] = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '/') {
      pieces.push(text.slice(start, i))
      start = i + 1
    }
  }
  if (start < text.length) pieces.push(text.slice(start))
  return pieces.map((piece) => unescapeSegment(piece, text))
}

function unescapeSegment(piece: string, text: string): string {
  if (piece === '\\e') return ''
  if (piece === '') syntaxError(text, 'it has an empty segment (write \\e for an empty name)')
  let out = ''
  for (let i = 0; i < piece.length; i++) {
    const c = piece[i] as string
    if (c !== '\\') {
      out += c
      continue
    }
    const next = piece[++i]
    if (next === '/' || next === '\\') out += next
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(piece.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(piece.slice(i + 1, i + 3), 16))
      i += 2
    } else if (next === 'x') syntaxError(text, '\\x needs two hex digits')
    else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(piece.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(piece.slice(i + 1, i + 5), 16))
      i += 4
    } else if (next === 'u') syntaxError(text, '\\u needs four hex digits')
    else if (next === 'e') syntaxError(text, '\\e must be a whole segment')
    else syntaxError(text, next === undefined ? 'it ends with a lone backslash' : `unknown escape \\${next}`)
  }
  return out
}

/**
 * What a terminal acts on, or shows as something else, above C0 (a regex character class body):
 * DEL, the C1 controls (U+009B is CSI to a terminal that honours it), the bidi controls and the
 * line and paragraph separators, which make a printed line read as another. Printed text that may
 * come from someone else's file escapes these and C0 (here, and ../cli/print.ts).
 */
export const CONTROLS_ABOVE_C0 = '\\x7f-\\x9f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069'

const SEGMENT_ESCAPED = new RegExp(`[\\\\/\\x00-\\x1f${CONTROLS_ABOVE_C0}]`, 'g')

/** Writes one segment in the command-line spelling. */
export function formatSegment(segment: string): string {
  if (segment === '') return '\\e'
  // Controls as \xNN, the others of CONTROLS_ABOVE_C0 as \uHHHH: parseKeyPath reads both back.
  return segment.replace(SEGMENT_ESCAPED, (c) => {
    const code = c.charCodeAt(0)
    if (c === '\\' || c === '/') return `\\${c}`
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`
  })
}

/** Writes a key path in the command-line spelling; `[]` is `/`. */
export function formatKeyPath(key: readonly string[]): string {
  return key.length === 0 ? '/' : key.map(formatSegment).join('/')
}
