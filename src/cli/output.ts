/**
 * Shared by the three binaries. The rules:
 *   - stdout carries data only: values, listings, protocol lines.
 *   - diagnostics go to stderr, one line each: `sstash: error: ...`, `sstash: hint: ...`,
 *     lowercase, no final period, never a secret value.
 *   - prompts go to /dev/tty (see ../tty.ts), never to stdin/stdout.
 *   - a user error exits non-zero with one line; a stack trace only with SSTASH_DEBUG=1.
 *   - color only through {@link styler}: never when NO_COLOR is set (no-color.org), when TERM
 *     is `dumb`, or when the stream is not a terminal; data a program reads is never styled.
 */
import { fstatSync, readSync } from 'node:fs'
import { EXIT, exitStatusOf, ioError, SSError, type SSErrorCode } from '../errors.js'
import { stashPath } from '../locations.js'
import type { SecureStash } from '../store/secure-stash.js'
import { CONTROLS_ABOVE_C0 } from '../tree/key-path.js'
import { MAX_TREE_BYTES, type Tree } from '../tree/tree.js'
import { openStash, readStash, requireStash, type OpenedStash } from '../unlock/open.js'

import { writeStdout } from './stdout.js'

export { writeStdout }

/** Exit codes, documented in the README and docs/ERRORS.md (the table lives in ../errors.ts). */
export { EXIT } from '../errors.js'

// What a terminal would act on or show as something else (C0 and ../tree/key-path.ts's
// CONTROLS_ABOVE_C0). A message may quote what a hostile file holds (a team stash's key path, a
// name in a .env), so none reaches the terminal as it is.
const UNSHOWABLE = new RegExp(`[\\x00-\\x1f${CONTROLS_ABOVE_C0}]`, 'g')
// Above C0 only, for JSON: JSON.stringify escapes C0 itself, and its layout's newlines must stay.
const UNSHOWABLE_ABOVE_C0 = new RegExp(`[${CONTROLS_ABOVE_C0}]`, 'g')
const asEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
const escapeUnshowable = (text: string): string => text.replace(UNSHOWABLE, asEscape)

/** The most characters of one diagnostic line: a hostile file's megabyte key path gives a line, not a screenful. */
const MAX_LINE = 2000

/** One diagnostic line as the terminal gets it: no control character, at most {@link MAX_LINE} characters. */
export function shownLine(line: string): string {
  const shown = escapeUnshowable(line)
  return shown.length <= MAX_LINE ? shown : `${shown.slice(0, MAX_LINE)}... (${shown.length - MAX_LINE} more characters)`
}

/** JSON text with the characters of {@link UNSHOWABLE} as `\\uXXXX` escapes: the same value to a parser, nothing a terminal acts on. */
export const escapedJson = (value: unknown, indent?: number): string => JSON.stringify(value, null, indent).replace(UNSHOWABLE_ABOVE_C0, asEscape)

/** {@link escapedJson} on stdout, for programs. */
export function writeJson(value: unknown, indent?: number): void {
  writeStdout(`${escapedJson(value, indent)}\n`)
}

/** Writes `sstash: error: <message>` to stderr; a message listing several problems gets one such line each. */
export function printError(message: string): void {
  process.stderr.write(message.split('\n').map((line) => `sstash: error: ${shownLine(line)}\n`).join(''))
}

/** Writes `sstash: hint: <message>` to stderr. */
export function printHint(message: string): void {
  process.stderr.write(`sstash: hint: ${shownLine(message)}\n`)
}

/** Writes `sstash: warning: <message>` to stderr. */
export function printWarning(message: string): void {
  process.stderr.write(`sstash: warning: ${shownLine(message)}\n`)
}

/** Writes `sstash: <message>` to stderr: what a command did (`created ...`), a diagnostic, not data. */
export function printStatus(message: string): void {
  process.stderr.write(`sstash: ${shownLine(message)}\n`)
}

/** The zone of `date` as people write it (`CET`, `EST`), else its offset (`UTC+05:30`). */
function zoneOf(date: Date): string {
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(date).find((part) => part.type === 'timeZoneName')?.value
    if (name !== undefined && /^[A-Z]{2,5}$/.test(name)) return name
  }
  const offset = -date.getTimezoneOffset()
  const two = (n: number): string => String(n).padStart(2, '0')
  return `UTC${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`
}

/** A time for people: local time with its zone, such as `2025-03-01 14:05:09 CET`. */
export function formatTime(ms: number): string {
  const date = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${zoneOf(date)}`
}

/** A usage error: wrong arguments. Exits 2. */
export class UsageError extends SSError {
  override name = 'UsageError'
  constructor(message: string, hint?: string) {
    super(message, 'USAGE', hint === undefined ? undefined : { hint })
  }
}

const HINTS: Partial<Record<SSErrorCode, string>> = {
  STASH_NOT_FOUND: 'did you mean `sstash init`? (or pass --stash <path>, or set SSTASH_FILE)',
  NO_PASSWORD: 'run `sstash unlock` in a terminal first',
  KEY_CHANGED: 'run `sstash unlock` again',
  LOCK_TIMEOUT: 'another sstash process is writing; if none is, `sstash doctor` checks for a stale lock',
  KEY_NOT_FOUND: '`sstash ls` lists the keys (`sstash tree` shows all of them)',
  NO_VALUE: 'this key only has children: `sstash ls <keypath>` lists them',
  BAD_KEYPATH_SYNTAX: 'segments are joined by /; write \\/ for a / inside a name, \\\\ for \\, \\e for an empty name',
}

/** The exit code for an error: its code's, from the one table (EXIT_STATUS in ../errors.ts); 1 for a bug. */
export function exitCodeOf(error: unknown): number {
  return error instanceof SSError ? exitStatusOf(error.code) : EXIT.ERROR
}

/**
 * Reports an error as one line (plus a hint where one helps) and returns its exit code.
 * Errors that are not ours are bugs: they get a stack trace.
 */
export function reportError(error: unknown): number {
  const debug = process.env.SSTASH_DEBUG === '1'
  if (error instanceof SSError) {
    printError(error.message)
    for (const more of error.details ?? []) printError(more)
    const hint = error.hint ?? HINTS[error.code]
    if (hint) printHint(hint)
    if (debug) process.stderr.write(`${error.stack}\n`)
  } else {
    printError(`internal error: ${(error as Error)?.message ?? String(error)}`)
    process.stderr.write(`${(error as Error)?.stack ?? ''}\n`)
  }
  return exitCodeOf(error)
}

/** Runs a binary's body, turning any error into one line on stderr and an exit code. */
export async function runMain(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body()
    if (typeof code === 'number') process.exitCode = code
  } catch (error) {
    process.exitCode = reportError(error)
  }
}

/** Options every sstash command accepts (see ./argv.ts: values are strings exactly as typed). */
export interface GlobalOptions {
  /** `--stash <path>`; else SSTASH_FILE; else the default location. */
  stash?: unknown
}

/** An option's value as typed: the last one when it was given more than once; undefined when absent. */
export const optionText = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Array.isArray(value) ? (value.findLast((v) => typeof v === 'string') as string | undefined) : undefined

/** The stash the options name; a missing file fails here, before any password is asked. */
export function existingStash(options: GlobalOptions): string {
  const path = stashPath(optionText(options.stash))
  requireStash(path)
  return path
}

/**
 * Opens the stash the options name, with the key or password from the usual sources (the
 * agent, SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS, a /dev/tty prompt).
 * @throws {SSError} STASH_NOT_FOUND (with a hint to run `sstash init`), NO_PASSWORD; SSCryptoError
 */
export async function openFromOptions(options: GlobalOptions): Promise<OpenedStash> {
  // A missing file fails in openStash, which reads it once, before any password is asked.
  return openStash(stashPath(optionText(options.stash)))
}

/**
 * Reads the subtrees at `keys` of the stash the options name, for a command that only reads:
 * through the agent when it holds the stash, with no cipher loaded (see readStash).
 * @throws as {@link openFromOptions}
 */
export async function readFromOptions(options: GlobalOptions, keys: string[][]): Promise<Tree> {
  return readStash(stashPath(optionText(options.stash)), keys)
}

/**
 * Stdin (a piped value, an `import -`, git's request), to EOF or until `complete` says the
 * chunk just read ends the input, and never more than `maxBytes` (`sstash set a < /dev/zero`
 * fails instead of filling memory). Blocking reads of fd 0, as git's own helpers do: no stream
 * machinery on the hot path. A non-blocking stdin (EAGAIN) is read through process.stdin instead.
 * @throws {SSError} FILE_TOO_LARGE past `maxBytes` (default: what a value can hold)
 */
export async function readStdin(complete: (chunk: Buffer) => boolean = () => false, maxBytes: number = MAX_TREE_BYTES): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let total = 0
  const take = (chunk: Buffer): boolean => {
    total += chunk.length
    if (total > maxBytes) throw new SSError(`stdin is too large (more than ${maxBytes} bytes)`, 'FILE_TOO_LARGE')
    chunks.push(chunk)
    return complete(chunk)
  }
  const buffer = Buffer.allocUnsafe(64 * 1024)
  for (;;) {
    let read: number
    try {
      read = readSync(0, buffer)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EOF') break
      if (code !== 'EAGAIN') throw error
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) if (take(chunk)) break
      break
    }
    if (read === 0 || take(Buffer.from(buffer.subarray(0, read)))) break
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/**
 * Whether `fd` is a terminal. Only a character device can be one, so for a pipe or a file this
 * costs one fstat and never loads node:tty (which loads node:net and the streams, ~6 ms).
 */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false
  } catch {
    return false
  }
  return process.getBuiltinModule('node:tty').isatty(fd)
}

/** The styles sstash uses: SGR codes, as every terminal understands them. */
const STYLES = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1 } as const

/** A function that wraps text in one of {@link STYLES}, or leaves it as it is. */
export type Styler = (style: keyof typeof STYLES, text: string) => string

/**
 * Whether output to `fd` may be colored: it is a terminal, NO_COLOR is unset or empty
 * (no-color.org), and TERM is not `dumb`.
 */
export function colorAllowed(fd: number, env: Record<string, string | undefined> = process.env): boolean {
  if ((env.NO_COLOR ?? '') !== '' || env.TERM === 'dumb') return false
  return isTerminal(fd)
}

/** The styler for `fd`: colors where {@link colorAllowed}, else the identity. */
export function styler(fd: number, env: Record<string, string | undefined> = process.env): Styler {
  if (!colorAllowed(fd, env)) return (_, text) => text
  return (style, text) => `\x1b[${STYLES[style]}m${text}\x1b[0m`
}
