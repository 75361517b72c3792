/**
 * Every parser of ours over text a repository can hold runs in linear time: a template, a
 * reference file, a `.env` to import. Each gets the inputs that made one of them (or dotenv's
 * default parser) quadratic, at 4 MB, under a generous bound; a quadratic parser takes minutes
 * on them (a 1 MB template of unclosed `{{sstash:` took 69 s). The bound is wide because the
 * machine is shared: linear runs take well under a second each.
 *
 * Where a parser reads a file as dotenv's default parser does, a property holds it to that
 * parser on small inputs (where the default is fast).
 */
import dotenv from 'dotenv'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../src/index.js'
import { parseDotenv } from '../../src/env/dotenv.js'
import { assignments, importDotenv } from '../../src/env/dotenv-import.js'
import { parseReferenceFile } from '../../src/env/references.js'
import { parseTemplate } from '../../src/env/template.js'

const SIZE = 4 * 1024 * 1024
const BOUND_MS = 20_000
const FUZZ_MS = Number(process.env.SSTASH_FUZZ_MS ?? 2_000)
const BOUNDED = { numRuns: 1_000_000, interruptAfterTimeLimit: FUZZ_MS, markInterruptAsFailure: false } as const

/** `unit` repeated to SIZE characters. */
const fill = (unit: string): string => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE)

/** Runs `parse`, which may throw our error, and returns how long it took. */
function timed(parse: () => unknown): number {
  const start = performance.now()
  try {
    parse()
  } catch (error) {
    if (!(error instanceof SSError)) throw error
  }
  return performance.now() - start
}

// Runs of blank lines made dotenv's default parser quadratic (100 KB of newlines: a minute);
// unclosed quotes and names without `=` make a regex look far ahead from every line.
const DOTENV_INPUTS: [string, string][] = [
  ['newlines', fill('\n')],
  ['CRLF line endings', fill('\r\n')],
  ['lines of blanks', fill(' \t\n')],
  ['unclosed single quotes', fill("A='\n")],
  ['unclosed double quotes, one name many times', fill('A="x\n')],
  ['unclosed backquotes', fill('A=`x\n')],
  ['names without =', fill('A \n\n')],
  ['a name and a megabyte of blanks', `A${' '.repeat(SIZE)}`],
  ['escaped quotes', fill('A="\\')],
  ['comments after blank lines', fill('A=x\n\n\n#\n')],
]

const TEMPLATE_INPUTS: [string, string][] = [
  ['unclosed {{sstash:', fill('{{sstash:')],
  ['unclosed placeholders across lines', fill('{{ sstash:x\n}}')],
  ['unclosed placeholders ending in CR', fill('{{sstash:\r')],
  ['{{ and 4 MB of blanks', `{{${' '.repeat(SIZE)}x`],
  ['escapes', fill('{{ \\\\ ')],
  ['a key path of 4 MB of blanks', `{{sstash://a/${' \t'.repeat(SIZE / 2)}b}}`],
  ['a key path of 2 million segments', `{{ sstash://${'a/'.repeat(SIZE / 2)}b }}`],
  ['well-formed placeholders', fill('{{ sstash://a/b }}')],
  ['braces', fill('{')],
]

describe('linear parsers over 4 MB of hostile text', () => {
  it.each(TEMPLATE_INPUTS)('parses a template of %s in linear time', (_name, text) => {
    expect(timed(() => parseTemplate(text, 't'))).toBeLessThan(BOUND_MS)
  })

  it.each(DOTENV_INPUTS)('parses a reference file of %s in linear time', (_name, text) => {
    expect(timed(() => parseReferenceFile(text, 'r'))).toBeLessThan(BOUND_MS)
  })

  it.each(DOTENV_INPUTS)('imports a .env of %s in linear time, with and without --expand', (_name, text) => {
    expect(timed(() => importDotenv(text, { into: ['p'], env: {} }))).toBeLessThan(BOUND_MS)
    expect(timed(() => importDotenv(text, { into: ['p'], env: {}, expand: true }))).toBeLessThan(BOUND_MS)
  })

  it('refuses at once to expand what dotenv-expand would take minutes over: many variables, long chains, doubling values', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `A${i}=x\n`).join('')
    const chain = ['A0=x', ...Array.from({ length: 5_000 }, (_, i) => `A${i + 1}=$A${i}`)].join('\n')
    const doubling = ['A0=xxxxxxxx', ...Array.from({ length: 40 }, (_, i) => `A${i + 1}=\${A${i}}\${A${i}}`)].join('\n')
    const refs = `A=x\nB=${'$A'.repeat(1_000_000)}\n`
    for (const text of [many, chain, doubling, refs]) {
      let error: unknown
      const took = timed(() => {
        try {
          importDotenv(text, { into: ['p'], env: {}, expand: true })
        } catch (caught) {
          error = caught
          throw caught
        }
      })
      expect(took).toBeLessThan(BOUND_MS)
      expect((error as SSError | undefined)?.message).toMatch(/^cannot expand this file: /)
      // Without --expand the same file imports as written.
      expect(timed(() => importDotenv(text, { into: ['p'], env: {} }))).toBeLessThan(BOUND_MS)
    }
  })

  it.each(DOTENV_INPUTS)('parses a .env of %s in linear time through the library', (_name, text) => {
    expect(timed(() => parseDotenv(text))).toBeLessThan(BOUND_MS)
  })

  it('lists at most a hundred problems in a message, and counts the rest', () => {
    let error: unknown
    try {
      parseTemplate(fill('{{sstash:'), 't')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(SSError)
    const lines = (error as SSError).message.split('\n')
    expect(lines).toHaveLength(101)
    expect(lines.at(-1)).toMatch(/^and \d+ more problems like these$/)
  })
})

// dotenv's default pattern, as its main.js has it: the oracle for the linear readings.
const LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm
const dotenvText = fc
  .array(fc.constantFrom('A', 'b_', '.', '-', '=', ' ', '\t', ':', '#', "'", '"', '`', '\\', '\n', '\r', '\r\n', '\u2028', '\u00a0', 'x', '$', 'export ', '\\n', 'é'), { maxLength: 60 })
  .map((parts) => parts.join(''))

describe('the linear readings agree with dotenv’s default parser', () => {
  it('reads every .env as dotenv.parse does (property)', () => {
    fc.assert(
      fc.property(dotenvText, (text) => {
        expect(Object.fromEntries(parseDotenv(text))).toEqual(dotenv.parse(text))
      }),
      BOUNDED,
    )
  })

  it('finds the same assignments, on the same lines, as dotenv’s own pattern (property)', () => {
    fc.assert(
      fc.property(dotenvText, (raw) => {
        const text = raw.replace(/\r\n?/g, '\n')
        const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length
        const expected = [...text.matchAll(LINE)].map((m) => {
          const at = (m.index ?? 0) + (m[0].length - m[0].trimStart().length)
          return { name: m[1], line: lineOf(at), lastLine: lineOf((m.index ?? 0) + m[0].trimEnd().length) }
        })
        expect(assignments(text)).toEqual(expected)
      }),
      BOUNDED,
    )
  })
})
