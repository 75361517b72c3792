/**
 * The fingerprints and the matcher: every form of a value is found wherever it sits in a text,
 * short values are left out and counted, and what is kept reveals no value.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fingerprint, guardKey } from '../../../src/guard/fingerprints.js'
import { formsOf, lengthOf, MIN_GUARD_LENGTH } from '../../../src/guard/forms.js'
import { Matcher } from '../../../src/guard/matcher.js'
import { maskedForms } from '../../../src/env/mask.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const entry = (path: string, value: string | Uint8Array) => ({ key: path.split('/'), value: typeof value === 'string' ? enc(value) : value })

function matcherFor(entries: ReturnType<typeof entry>[]) {
  const key = guardKey(randomBytes(32))
  const set = fingerprint(key, entries)
  const matcher = new Matcher()
  matcher.add(key, set)
  return { matcher, set }
}

const TOKEN = 'ghp_R2d2C3poBB8WallE42'
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n-----END PRIVATE KEY-----\n'

describe('guard fingerprints', () => {
  it('finds a value in its plain form, as base64 at any alignment, as hex and in JSON and percent escapes', () => {
    const { matcher } = matcherFor([entry('api/token', TOKEN), entry('db/pass', 'p@ss w/"quote"\\ ünï')])
    const texts: [string, string][] = [
      [`token=${TOKEN}\n`, 'plain'],
      [`x: ${Buffer.from(TOKEN).toString('base64')}`, 'base64'],
      [Buffer.from(`a${TOKEN}`).toString('base64'), 'base64'],
      [Buffer.from(`ab${TOKEN}zz`).toString('base64url'), 'base64'],
      [`{"k":"${Buffer.from(TOKEN).toString('hex').toUpperCase()}"}`, 'hex'],
      [JSON.stringify({ pass: 'p@ss w/"quote"\\ ünï' }), 'escaped'],
      [`postgres://u:${encodeURIComponent('p@ss w/"quote"\\ ünï')}@host/db`, 'escaped'],
    ]
    for (const [text, encoding] of texts) {
      const found = matcher.find(enc(text))
      expect(found.length, text).toBeGreaterThan(0)
      expect(found.map((m) => m.encoding)).toContain(encoding)
    }
  })

  it('finds each line of a multi-line value on its own, as when a PEM key is pasted with other line endings', () => {
    const { matcher } = matcherFor([entry('tls/key', PEM)])
    const crlf = PEM.replace(/\n/g, '\r\n')
    const found = matcher.find(enc(`key: |\n  ${crlf.split('\r\n')[1]}\n`))
    expect(found.map((m) => m.path)).toEqual(['tls/key'])
    expect(matcher.find(enc(crlf)).length).toBeGreaterThan(1)
  })

  it('leaves out values shorter than the minimum, and counts them', () => {
    const { matcher, set } = matcherFor([entry('a', 'yes'), entry('b', '8080'), entry('c', 'x'.repeat(MIN_GUARD_LENGTH - 1)), entry('d', ''), entry('e', TOKEN)])
    expect([set.values, set.short]).toEqual([1, 3])
    expect(matcher.find(enc(`yes 8080 ${'x'.repeat(40)}`))).toEqual([])
  })

  it('fingerprints every form --mask hides', () => {
    const value = 'a "quoted"\tvalue/with%and ü'
    const forms = new Set(formsOf(enc(value)).map((f) => f.bytes.toString('utf8')))
    for (const form of maskedForms([value])) expect(forms).toContain(form)
  })

  it('finds any value of any bytes at any offset of any text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: MIN_GUARD_LENGTH, maxLength: 80 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (value, before, after) => {
        // A value that is UTF-8 text is measured in characters: 12 bytes may be fewer.
        fc.pre(lengthOf(value) >= MIN_GUARD_LENGTH)
        const { matcher } = matcherFor([entry('k', value)])
        const found = matcher.find(Buffer.concat([before, value, after]))
        expect(found.some((m) => m.start === before.length && m.end === before.length + value.length)).toBe(true)
      }),
      { numRuns: 200 },
    )
  })

  it('keeps no value, no form of one and no prefix of one in what it stores', () => {
    const { set } = matcherFor([entry('api/token', TOKEN), entry('tls/key', PEM)])
    const stored = JSON.stringify(set)
    for (const value of [TOKEN, PEM])
      for (const form of formsOf(enc(value))) expect(stored).not.toContain(form.bytes.toString('utf8').slice(0, 8))
  })

  it('gives the same fingerprints when it reuses those of unchanged values, and new ones for a changed value', () => {
    const key = guardKey(randomBytes(32))
    const before = fingerprint(key, [entry('a', TOKEN), entry('b', PEM), entry('c', 'old-value-0123456789')])
    const entries = [entry('a', TOKEN), entry('b', PEM), entry('c', 'new-value-0123456789'), entry('d', 'short')]
    const again = fingerprint(key, entries, before)
    expect(again).toEqual(fingerprint(key, entries))
    const matcher = new Matcher()
    matcher.add(key, again)
    expect(matcher.find(enc('new-value-0123456789')).map((m) => m.path)).toEqual(['c'])
    expect(matcher.find(enc('old-value-0123456789'))).toEqual([])
  })

  it('finds nothing with fingerprints made under another key', () => {
    const set = fingerprint(guardKey(randomBytes(32)), [entry('api/token', TOKEN)])
    const matcher = new Matcher()
    matcher.add(guardKey(randomBytes(32)), set)
    expect(matcher.find(enc(`token=${TOKEN}`))).toEqual([])
  })
})
