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
import { SSReferenceError, UNRESOLVED_HINT, classifyValue, readReferences, type KeyReader, type ReferenceProblem } from './references.js'

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

// After `{{`: blanks, backslashes (the escape), blanks, then `sstash:` in any case.
const HEAD = /([ \t]*)(\\*)[ \t]*sstash:/iy
const LINE_END = /[\n\r]/g

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
  let literal = ''
  let from = 0
  for (let open = source.indexOf('{{'); open !== -1; open = source.indexOf('{{', from)) {
    HEAD.lastIndex = open + 2
    const head = HEAD.exec(source)
    if (!head) {
      // Not ours; the next `{{` may start inside this one (`{{{ sstash://x }}`).
      literal += source.slice(from, open + 1)
      from = open + 1
      continue
    }
    const blanks = (head[1] as string).length
    if ((head[2] as string).length > 0) {
      // The escape: drop one backslash; what follows is copied as text.
      const backslash = open + 2 + blanks
      literal += source.slice(from, backslash)
      from = backslash + 1
      continue
    }
    const start = open + 2 + blanks
    const close = source.indexOf('}}', start)
    LINE_END.lastIndex = start
    const lineEnd = LINE_END.exec(source)?.index ?? source.length
    const { line, column } = at(open)
    const where = `${file}:${line}:${column}`
    if (close === -1 || lineEnd < close) {
      problems.push({ where, code: 'BAD_TEMPLATE', reason: 'the placeholder has no }} on its line' })
      literal += source.slice(from, start)
      from = start
      continue
    }
    const kind = classifyValue(source.slice(start, close).replace(/[ \t]+$/, ''))
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
