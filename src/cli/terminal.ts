/**
 * Whether a stream is a terminal, and color: only through {@link styler}, never when NO_COLOR
 * is set (no-color.org), when TERM is `dumb`, or when the stream is not a terminal; data a
 * program reads is never styled.
 */
import { fstatSync } from 'node:fs'

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
