/**
 * Templates for `sstash inject`: text with `{{ sstash://key/path }}` placeholders. Pure: the
 * stash is read by the caller, once, for the keys {@link templateKeys} lists.
 *
 * The rules (docs/REFERENCES.md repeats them):
 *   - a placeholder is `{{`, optional spaces or tabs, `sstash://` and a key path in the
 *     command line's spelling, optional spaces or tabs, `}}`, all on one line:
 *     `{{ sstash://project/db/URL }}` and `{{sstash://project/db/URL}}` are the same;
 *   - the key path runs to the first `}}`, blanks at its end removed: a space inside it belongs
 *     to the key; a `}` in a key is written `\x7d`;
 *   - only a `{{` followed (after blanks) by `sstash:`, in any case, is ours. Every other `{{`
 *     (Jinja, Helm, GitHub Actions' `${{ }}`) is copied as it is;
 *   - one of ours that is not a well-formed placeholder (no `}}` on its line, `SSTASH://`, a key
 *     path that does not parse) is an error naming the line and column, never copied through;
 *   - the escape, as in reference files: a backslash right before `sstash:` makes it literal
 *     and is removed: `{{ \sstash://x }}` writes `{{ sstash://x }}`, `{{ \\sstash:` writes `{{ \sstash:`;
 *   - values are inserted byte for byte as stored: no quoting for the target format;
 *   - every problem is reported at once, by line and column; errors never hold a value.
 */
import { SSError } from '../errors.js'
import type { Tree } from '../tree/tree.js'
import { SSReferenceError, classifyValue, type ReferenceProblem } from './references.js'
import { UNRESOLVED_HINT, readReferences, type KeyReader } from './reference-resolve.js'

/** One placeholder of a template. */
export interface Placeholder {
  key: string[]
  /** 1-based line and column of its `{{`. */
  line: number
  column: number
}

/** A parsed template: literal text and placeholders, in order. */
export interface Template {
  file: string
  parts: (string | Placeholder)[]
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09
const SSTASH = /sstash:/iy

/**
 * What follows a `{{` at `at`: blanks, backslashes (the escape), blanks, then `sstash:` in any
 * case. Scanned by hand, each run once: the regex `[ \t]*(\\*)[ \t]*sstash:` backtracks over a
 * long run of blanks, which made a template of `{{` and a megabyte of spaces take seconds.
 * @returns the number of blanks and of backslashes before `sstash:`, or undefined when not ours
 */
function headAt(source: string, at: number): { blanks: number; backslashes: number } | undefined {
  let i = at
  while (isBlank(source.charCodeAt(i))) i++
  const blanks = i - at
  while (source.charCodeAt(i) === 0x5c) i++
  const backslashes = i - at - blanks
  if (backslashes > 0) while (isBlank(source.charCodeAt(i))) i++
  SSTASH.lastIndex = i
  return SSTASH.test(source) ? { blanks, backslashes } : undefined
}

/**
 * The first match of `pattern` at or after `from`, remembered: offsets only grow, so each part
 * of the text is searched once, however many unclosed placeholders ask (a template of nothing
 * but `{{sstash:` asked for the next `}}` from each of them, to the end of the text).
 */
function nextOf(source: string, needle: string): (from: number) => number {
  let found = -2
  return (from) => {
    if (found === -1 || found >= from) return found
    found = source.indexOf(needle, from)
    return found
  }
}

/** The next line break (LF or CR) at or after an offset, as {@link nextOf} finds them. */
function nextLineEnd(source: string): (from: number) => number {
  const lf = nextOf(source, '\n')
  const cr = nextOf(source, '\r')
  return (from) => {
    const [a, b] = [lf(from), cr(from)]
    return a === -1 ? (b === -1 ? source.length : b) : b === -1 ? a : Math.min(a, b)
  }
}

/** Line and column of increasing offsets in `text`, in one pass overall. */
function positions(text: string): (offset: number) => { line: number; column: number } {
  let line = 1
  let lineStart = 0
  let scanned = 0
  return (offset) => {
    for (; scanned < offset; scanned++) {
      if (text.charCodeAt(scanned) === 0x0a) {
        line++
        lineStart = scanned + 1
      }
    }
    return { line, column: offset - lineStart + 1 }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const BAD_TEMPLATE_HINT = 'a placeholder is {{ sstash://key/path }} on one line; write {{ \\sstash: for a literal {{ sstash:'

/**
 * Parses a template, checking every placeholder.
 * @param text - the template (bytes must be UTF-8; a byte order mark is kept)
 * @param file - its name, for messages
 * @throws {SSReferenceError} BAD_TEMPLATE listing every malformed placeholder at once
 */
export function parseTemplate(text: string | Uint8Array, file: string): Template {
  let source: string
  try {
    source = typeof text === 'string' ? text : utf8.decode(text)
  } catch (error) {
    throw new SSError(`${file} is not valid UTF-8`, 'BAD_INPUT', { cause: error })
  }
  const at = positions(source)
  const parts: (string | Placeholder)[] = []
  const problems: ReferenceProblem[] = []
  const closeAfter = nextOf(source, '}}')
  const lineEndAfter = nextLineEnd(source)
  let literal = ''
  let from = 0
  for (let open = source.indexOf('{{'); open !== -1; open = source.indexOf('{{', from)) {
    const head = headAt(source, open + 2)
    if (!head) {
      // Not ours; the next `{{` may start inside this one (`{{{ sstash://x }}`).
      literal += source.slice(from, open + 1)
      from = open + 1
      continue
    }
    const blanks = head.blanks
    if (head.backslashes > 0) {
      // The escape: drop one backslash; what follows is copied as text.
      const backslash = open + 2 + blanks
      literal += source.slice(from, backslash)
      from = backslash + 1
      continue
    }
    const start = open + 2 + blanks
    const close = closeAfter(start)
    const lineEnd = lineEndAfter(start)
    const { line, column } = at(open)
    const where = `${file}:${line}:${column}`
    if (close === -1 || lineEnd < close) {
      problems.push({ where, code: 'BAD_TEMPLATE', reason: 'the placeholder has no }} on its line' })
      literal += source.slice(from, start)
      from = start
      continue
    }
    let end = close
    while (end > start && isBlank(source.charCodeAt(end - 1))) end--
    const kind = classifyValue(source.slice(start, end))
    if (kind.kind === 'reference') {
      parts.push(literal + source.slice(from, open), { key: kind.key, line, column })
      literal = ''
    } else {
      problems.push({ where, code: 'BAD_TEMPLATE', reason: `the placeholder ${kind.kind === 'bad' ? kind.reason : 'is not a reference'}` })
    }
    from = close + 2
  }
  if (problems.length > 0) throw new SSReferenceError(problems, 'BAD_TEMPLATE', BAD_TEMPLATE_HINT)
  parts.push(literal + source.slice(from))
  return { file, parts: parts.filter((p) => p !== '') }
}

const placeholders = (template: Template): Placeholder[] => template.parts.filter((p): p is Placeholder => typeof p !== 'string')

/** The key paths a template's placeholders point to (what to ask readStash for). */
export function templateKeys(template: Template): string[][] {
  return placeholders(template).map((p) => p.key)
}

/**
 * Fills a template's placeholders with the values they point to.
 * @param source - a tree holding at least {@link templateKeys} (as readStash returns it), or a reader
 * @returns the output's bytes: the template's text with each placeholder replaced by its value
 * @throws {SSReferenceError} UNRESOLVED_REFERENCE listing every placeholder that did not resolve,
 *   by line and column and key path
 */
export function renderTemplate(template: Template, source: Tree | KeyReader): Uint8Array {
  const wanted = placeholders(template).map((p) => ({ where: `${template.file}:${p.line}:${p.column}`, key: p.key }))
  const { values, problems } = readReferences(wanted, source)
  if (problems.length > 0) throw new SSReferenceError(problems, 'UNRESOLVED_REFERENCE', UNRESOLVED_HINT)
  let next = 0
  const chunks = template.parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : (values[next++] as Uint8Array)))
  return new Uint8Array(Buffer.concat(chunks))
}
