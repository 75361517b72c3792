/**
 * What the binaries print, and how. The rules:
 *   - stdout carries data only: values, listings, protocol lines (./stdout.ts writes it).
 *   - diagnostics go to stderr, one line each: `sstash: error: ...`, `sstash: hint: ...`,
 *     lowercase, no final period, never a secret value, no character a terminal acts on.
 *   - prompts go to /dev/tty (see ../unlock/tty.ts), never to stdin/stdout.
 * Exit codes are ./exit.ts's, colors ./terminal.ts's.
 */
import { CONTROLS_ABOVE_C0 } from '../tree/key-path.js'
import { writeStdout } from './stdout.js'

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
