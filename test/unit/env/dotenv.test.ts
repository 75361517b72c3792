import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import dotenv from 'dotenv'
import { dotenvQuote, formatDotenv, formatEnv, formatJson, formatShell, parseDotenv, shellQuote } from '../../../src/env/dotenv.js'
import type { EnvVar } from '../../../src/env/naming.js'
import { SSError } from '../../../src/errors.js'
import { tempDir } from '../../helpers.js'

const vars = (values: readonly string[]): EnvVar[] => values.map((value, i) => ({ name: `V${i}`, value, key: ['k', `v${i}`] }))

/** Reads a dotenv export back with the dotenv package itself, not through our wrapper. */
function readBack(text: string): Record<string, string> {
  return dotenv.parse(text)
}

/** Evaluates a shell export in a real sh and returns the variables' values. */
function evalInSh(script: string, names: readonly string[]): string[] {
  const print = `printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`
  const out = execFileSync('sh', ['-c', `eval "$1"; ${print}`, 'sh', script], { encoding: 'utf8', timeout: 10_000 })
  return out.split('\0').slice(0, -1)
}

// Characters dotenv treats specially, and some that JavaScript's regexes do.
const TRICKY = [...`ab Z09=#$'"\`\\\n\r\t:-.{}!*?;&|<>()[]~%^@`, '\u00a0', '\u2028', '\u2029', '\ufeff', '\u3000', 'é', '😀', 'ß', '\\n', '\\r', '${X}', 'export ']
const tricky = fc.array(fc.constantFrom(...TRICKY), { maxLength: 16 }).map((parts) => parts.join(''))
const anyText = fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => !s.includes('\0'))
const value = fc.oneof(tricky, anyText)

/** The values the module comment documents as having no dotenv spelling. */
function documentedUnrepresentable(v: string): boolean {
  const literal = v.includes('"') || v.includes('\\n') || v.includes('\\r')
  return v.endsWith('\\') || (literal && (v.includes('\r') || (v.includes("'") && v.includes('`'))))
}

describe('the dotenv export', () => {
  it.each([
    ['plain', 'value'],
    ['empty', ''],
    ['newlines', 'line 1\nline 2\n'],
    ['carriage returns', 'a\r\nb'],
    ['single quotes', "it's"],
    ['double quotes', 'say "hi"'],
    ['both quote kinds', `it's "quoted"`],
    ['all three quote kinds', 'it\'s "a" `b`'],
    ['a hash', 'abc#def'],
    ['a leading hash', '#not a comment'],
    ['dollars', '$HOME ${PATH} $(id)'],
    ['backslashes', 'C:\\dir\\file'],
    ['a literal backslash-n', 'a\\nb'],
    ['equals signs', '=a==b='],
    ['leading and trailing spaces', '  padded  '],
    ['tabs', '\tx\t'],
    ['unicode', 'héllo wörld 😀 日本'],
    ['unicode spaces', '\u00a0x\u3000'],
    ['line separators', 'a\u2028b\u2029'],
    ['a leading quote', "'abc"],
    ['quotes at both ends', '"abc"'],
    ['a json document', '{"a": [1, "x"], "b": "it\'s"}'],
    ['a private key', '-----BEGIN KEY-----\nMIIB+/=\n-----END KEY-----\n'],
  ])('reads %s back exactly through dotenv.parse', (_what, v) => {
    const text = formatDotenv(vars([v]))
    expect(readBack(text)).toEqual({ V0: v })
  })

  it('reads back every value it writes, whole files at a time (property)', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        const representable = values.filter((v) => dotenvQuote(v) !== undefined)
        const text = formatDotenv(vars(representable))
        expect(readBack(text)).toEqual(Object.fromEntries(representable.map((v, i) => [`V${i}`, v])))
      }),
      { numRuns: 3000 },
    )
  })

  it('refuses only the values it documents as having no spelling (property)', () => {
    fc.assert(
      fc.property(value, (v) => {
        if (dotenvQuote(v) === undefined) expect(documentedUnrepresentable(v)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('fails naming the key path, not the value, for a value dotenv cannot read back', () => {
    const secret = ' secret ends in a backslash\\'
    expect(dotenvQuote(secret)).toBeUndefined()
    let error: unknown
    try {
      formatDotenv([{ name: 'X', value: secret, key: ['proj', 'x'] }])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SSError)
    expect((error as SSError).code).toBe('NOT_REPRESENTABLE')
    expect((error as SSError).message).toContain('proj/x')
    expect((error as SSError).message).not.toContain('secret')
  })

  it('writes a value without anything special bare', () => {
    expect(formatDotenv(vars(['abc', 'x=y']))).toBe('V0=abc\nV1=x=y\n')
  })

  it('keeps a multi-line value on one line when it can', () => {
    expect(formatDotenv(vars(['a\nb']))).toBe('V0="a\\nb"\n')
  })
})

describe('import', () => {
  it('is dotenv.parse', () => {
    const text = 'A=1\nexport B="x\\ny"\n# comment\nC=\'single #\' # trailing\n'
    expect(Object.fromEntries(parseDotenv(text))).toEqual(dotenv.parse(text))
    expect(Object.fromEntries(parseDotenv(new TextEncoder().encode(text)))).toEqual(dotenv.parse(text))
  })
})

describe('the shell export', () => {
  it('quotes with single quotes, writing a quote as a closed, escaped and reopened quote', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(formatShell(vars(['x']))).toBe("export V0='x'\n")
  })

  it('is safe to eval in sh for any value (property, real sh)', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (values) => {
        const list = vars(values)
        expect(evalInSh(formatShell(list), list.map((v) => v.name))).toEqual(values)
      }),
      { numRuns: 80 },
    )
  })

  it('never runs what a value holds', () => {
    const dir = tempDir()
    const marker = join(dir, 'pwned')
    const evil = [`'; touch ${marker}; '`, `$(touch ${marker})`, `\`touch ${marker}\``, `\\'; touch ${marker} #`]
    const list = vars(evil)
    expect(evalInSh(formatShell(list), list.map((v) => v.name))).toEqual(evil)
    expect(existsSync(marker)).toBe(false)
  })
})

describe('the json export', () => {
  it('is one object, names to values, in order', () => {
    const text = formatJson(vars(['a', 'line\n"q"']))
    expect(JSON.parse(text)).toEqual({ V0: 'a', V1: 'line\n"q"' })
    expect(Object.keys(JSON.parse(text))).toEqual(['V0', 'V1'])
    expect(formatJson([])).toBe('{}\n')
  })

  it('refuses an unknown format', () => {
    expect(() => formatEnv([], 'xml')).toThrow(SSError)
  })
})
