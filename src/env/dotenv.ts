/**
 * `.env` import and the export formats. Pure: text in, text out.
 *
 * Import is `dotenv.parse` itself, so a file means what it means to dotenv.
 *
 * The dotenv export writes each value in the first spelling that dotenv's parser (its default,
 * regex-based one) reads back exactly:
 *   1. bare           `NAME=value`   when the value has no `#`, no line break, no leading or
 *                                    trailing whitespace and does not start with a quote;
 *   (a value with a line break takes 3 before 2 when it can, to stay on one line)
 *   2. single quotes  `NAME='value'` when it has no `'`, no carriage return and does not end in `\`
 *                                    (dotenv does not unescape inside single quotes, so `$`, `\`,
 *                                    `"` and newlines are literal);
 *   3. double quotes  `NAME="value"` with line feed written `\n` and carriage return `\r`, when
 *                                    it has no `"`, no `\n` or `\r` of its own and does not end in `\`;
 *   4. backquotes     `` NAME=`value` `` under the same conditions as single quotes, for `` ` ``;
 *   5. wrapped        a one-line value without `#` that holds all three quote kinds, in the first
 *                     pair of quotes that dotenv's fallback (the whole line, outer quotes stripped)
 *                     reads back, checked by parsing.
 * A value none of these fits (one that needs quotes and ends in a backslash; one with a carriage
 * return and a `"` or a literal `\n`; some values with all three quote kinds and a `#` or a
 * line break) cannot be written so that dotenv reads it back: the export fails naming its key path. The
 * whole output is parsed again before it is returned, so a file that would not read back
 * exactly is never produced.
 *
 * `shell` writes `export NAME='value'` with `'` as `'\''`: any value is safe to `eval` in sh.
 * `json` writes one object, names to values.
 */
import dotenv from 'dotenv'
import { SSKeyError, SSValueError } from '../errors.js'
import type { EnvVar } from './naming.js'
import { formatKeyPath } from '../tree/key-path.js'

/** The export formats of `sstash export`. */
export const EXPORT_FORMATS = ['dotenv', 'json', 'shell'] as const
/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/**
 * `dotenv.parse` for text a repository can hold (a `.env` to import, a reference file): its
 * character scanner (`{ fast: true }`), which reads a file as the default regex parser does (a
 * property test in test/fuzz/parsers.test.ts holds them to it) in linear time. The default
 * parser takes quadratic time over runs of blank lines: 100 KB of newlines took a minute.
 * @param source - the file's contents
 * @returns names to values, in file order (a later duplicate wins)
 */
export function dotenvParse(source: string | Buffer): Record<string, string> {
  return dotenv.parse(source, { fast: true })
}

/**
 * Parses `.env` text exactly as `dotenv.parse` does, in linear time (see {@link dotenvParse}).
 * @param text - the file's contents
 * @returns names to values, in file order (a later duplicate wins)
 */
export function parseDotenv(text: string | Uint8Array): Map<string, string> {
  const source = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength)
  return new Map(Object.entries(dotenvParse(source)))
}

// JavaScript's \s: what dotenv's trim() strips and what its regex skips.
const WHITESPACE = /\s/u
// Line terminators for dotenv's multi-line (`m`) regexes.
const LINE_BREAK = /[\n\r\u2028\u2029]/
const QUOTES = `'"\``

function bareAllowed(value: string): boolean {
  if (value === '') return true
  const first = value[0] as string
  const last = value[value.length - 1] as string
  return !value.includes('#') && !LINE_BREAK.test(value) && !WHITESPACE.test(first) && !WHITESPACE.test(last) && !QUOTES.includes(first)
}

// Inside quotes dotenv lets `\q` stand for the quote, without unescaping it, so a value must
// not end in a backslash: the closing quote would count as escaped.
function literalQuoteAllowed(value: string, quote: string): boolean {
  return !value.includes(quote) && !value.includes('\r') && !value.endsWith('\\')
}

function doubleQuoteAllowed(value: string): boolean {
  return !value.includes('"') && !value.includes('\\n') && !value.includes('\\r') && !value.endsWith('\\')
}

/**
 * The dotenv spelling of one value (the part after `NAME=`), or undefined when there is none.
 * @param value - any string without NUL
 */
export function dotenvQuote(value: string): string | undefined {
  if (bareAllowed(value)) return value
  const double = doubleQuoteAllowed(value) ? `"${value.replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"` : undefined
  // A multi-line value stays on one line when it can.
  if (double !== undefined && /[\n\r]/.test(value)) return double
  if (literalQuoteAllowed(value, "'")) return `'${value}'`
  if (double !== undefined) return double
  if (literalQuoteAllowed(value, '`')) return `\`${value}\``
  return wrapped(value)
}

// The last resort, for a one-line value holding every kind of quote: dotenv's quoted patterns
// fail on it, its bare pattern takes the whole line and strips one pair of outer quotes. That
// depends on where the inner quotes fall, so each candidate is checked by parsing it.
function wrapped(value: string): string | undefined {
  if (value.includes('#') || LINE_BREAK.test(value) || value.endsWith('\\')) return undefined
  for (const quote of QUOTES) {
    const spelled = `${quote}${value}${quote}`
    if (dotenv.parse(`N=${spelled}\n`).N === value) return spelled
  }
  return undefined
}

/**
 * Writes variables as a `.env` file that `dotenv.parse` reads back to exactly the same values.
 * @param vars - the variables, in output order (names must be unique)
 * @returns the file's text, one `NAME=value` per variable (a quoted value may span lines)
 * @throws {SSKeyError} NOT_REPRESENTABLE naming the key path of a value dotenv cannot read back
 */
export function formatDotenv(vars: readonly EnvVar[]): string {
  let out = ''
  for (const v of vars) {
    const spelled = dotenvQuote(v.value)
    if (spelled === undefined)
      throw new SSKeyError(
        `key ${formatKeyPath(v.key)} has a value that dotenv cannot read back exactly (use --format json or shell)`,
        v.key,
        'NOT_REPRESENTABLE',
      )
    out += `${v.name}=${spelled}\n`
  }
  // The rules above are proved by a property test; this check keeps a wrong file from ever
  // being written should dotenv's parser change under us.
  // The default parser, which `dotenv run` uses; our own output has no run of blank lines
  // outside a quoted value, so it reads it in linear time.
  const back = new Map(Object.entries(dotenv.parse(out)))
  for (const v of vars)
    if (back.get(v.name) !== v.value)
      throw new SSKeyError(`key ${formatKeyPath(v.key)} does not read back through dotenv exactly`, v.key, 'NOT_REPRESENTABLE')
  return out
}

/** Quotes a string for sh: single quotes, with `'` written `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** A name sh can assign: a dotenv name such as `KEY-WITH-DASH` is not one. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Writes variables as sh commands (`export NAME='value'`), safe to `eval` for any value.
 * @param vars - the variables
 * @throws {SSKeyError} NOT_REPRESENTABLE naming the key path of a name sh cannot assign
 */
export function formatShell(vars: readonly EnvVar[]): string {
  for (const v of vars)
    if (!SHELL_NAME.test(v.name))
      throw new SSKeyError(`key ${formatKeyPath(v.key)} gives the variable ${v.name}, which sh cannot assign (use --format dotenv or json)`, v.key, 'NOT_REPRESENTABLE')
  return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}\n`).join('')
}

/** Writes variables as one JSON object, names to values, in order. */
export function formatJson(vars: readonly EnvVar[]): string {
  if (vars.length === 0) return '{}\n'
  return `{\n${vars.map((v) => `  ${JSON.stringify(v.name)}: ${JSON.stringify(v.value)}`).join(',\n')}\n}\n`
}

/**
 * Writes variables in one of the export formats.
 * @throws {SSValueError} BAD_FORMAT for an unknown format
 * @throws {SSKeyError} NOT_REPRESENTABLE (dotenv only)
 */
export function formatEnv(vars: readonly EnvVar[], format: string): string {
  switch (format) {
    case 'dotenv':
      return formatDotenv(vars)
    case 'json':
      return formatJson(vars)
    case 'shell':
      return formatShell(vars)
    default:
      throw new SSValueError(`unknown format ${JSON.stringify(format)}: use ${EXPORT_FORMATS.join(', ')}`, 'BAD_FORMAT')
  }
}
