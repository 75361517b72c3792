/**
 * The spellings of a value the leak guard looks for: every form `--mask` hides (taken from
 * src/env/mask.ts's `maskedForms`, so an encoding added there is guarded too), plus base64
 * (standard and URL-safe, at each of the three byte alignments a value can have inside a
 * longer base64 text) and hex (lower and upper case), which a file at rest holds more often
 * than a program's output does. Each is taken of the whole value and of each line of a
 * multi-line value (a PEM key), a line being checked against the minimum on its own; PEM armor
 * lines (`-----BEGIN ...-----`), the same in every key, are left out.
 */
import { maskedForms } from '../env/mask.js'

/**
 * Values, and lines of values, shorter than this many characters are not fingerprinted: a
 * fingerprint of a short value can be guessed offline by whoever reads the fingerprint file
 * and its key (SECURITY.md, "Leak guard").
 */
export const MIN_GUARD_LENGTH = 12

/** The shortest form fingerprinted, in bytes: the window the matcher indexes (matcher.ts). */
export const PREFIX_BYTES = 8

/** How a form spells the value, for the report. */
export type Encoding = 'plain' | 'escaped' | 'base64' | 'hex'

/** One spelling of a value (or of one line of it). */
export interface Form {
  bytes: Buffer
  encoding: Encoding
  /** True when this is the spelling of one line of a multi-line value. */
  line: boolean
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function textOf(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}

/** Length in characters when the value is UTF-8 text, else in bytes. */
export function lengthOf(value: Uint8Array): number {
  const text = textOf(value)
  return text === undefined ? value.length : [...text].length
}

/**
 * The base64 characters that depend only on `bytes`, whatever bytes come before and after it
 * in a longer text, for each of the three alignments: 0, 1 or 2 bytes of something before it.
 */
function base64Forms(bytes: Uint8Array): string[] {
  const out: string[] = []
  for (const before of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(before), bytes])
    const encoded = padded.toString('base64').replace(/=+$/, '')
    // The first characters mix the unknown bytes before with the value's; the last, its end with what follows.
    const skip = before === 0 ? 0 : before + 1
    const trailing = padded.length % 3 === 0 ? 0 : 1
    const core = encoded.slice(skip, encoded.length - trailing)
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'))
  }
  // A value encoded alone ends with its padding and its last, partial group.
  const whole = Buffer.from(bytes).toString('base64')
  out.push(whole, Buffer.from(bytes).toString('base64url'))
  return out
}

/** A PEM armor line (`-----BEGIN PRIVATE KEY-----`): in every key of its kind, so no secret. */
const ARMOR = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/

function piecesOf(value: Uint8Array): { bytes: Uint8Array; text: string | undefined; line: boolean }[] {
  const text = textOf(value)
  const pieces: { bytes: Uint8Array; text: string | undefined; line: boolean }[] = []
  if (lengthOf(value) >= MIN_GUARD_LENGTH) pieces.push({ bytes: value, text, line: false })
  if (text === undefined) return pieces
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.length < 2) return pieces
  for (const line of lines) if ([...line].length >= MIN_GUARD_LENGTH && !ARMOR.test(line)) pieces.push({ bytes: Buffer.from(line, 'utf8'), text: line, line: true })
  return pieces
}

/**
 * Every form of `value` the guard fingerprints; none when the value (and each of its lines) is
 * shorter than {@link MIN_GUARD_LENGTH}.
 * @returns forms of at least {@link PREFIX_BYTES} bytes, each spelling once
 */
export function formsOf(value: Uint8Array): Form[] {
  const seen = new Set<string>()
  const out: Form[] = []
  const add = (spelling: string | Uint8Array, encoding: Encoding, line: boolean): void => {
    const bytes = typeof spelling === 'string' ? Buffer.from(spelling, 'utf8') : Buffer.from(spelling)
    const id = bytes.toString('latin1')
    if (bytes.length < PREFIX_BYTES || seen.has(id)) return
    seen.add(id)
    out.push({ bytes, encoding, line })
  }
  for (const piece of piecesOf(value)) {
    add(piece.bytes, 'plain', piece.line)
    // The named encodings first: mask.ts spells base64 and hex too, and a spelling is reported once, by its first name.
    for (const form of base64Forms(piece.bytes)) add(form, 'base64', piece.line)
    const hex = Buffer.from(piece.bytes).toString('hex')
    add(hex, 'hex', piece.line)
    add(hex.toUpperCase(), 'hex', piece.line)
    // maskedForms of a multi-line text adds its lines' forms too; those come as pieces of their own.
    if (piece.text !== undefined && !/[\r\n]/.test(piece.text)) for (const form of maskedForms([piece.text])) add(form, 'escaped', piece.line)
    if (piece.text !== undefined && /[\r\n]/.test(piece.text)) {
      const lineForms = new Set(piece.text.split(/\r\n|\r|\n/).flatMap((line) => maskedForms([line])))
      for (const form of maskedForms([piece.text])) if (!lineForms.has(form)) add(form, 'escaped', false)
    }
  }
  return out
}
