/**
 * The team stash format's pure parts: the key-path spelling, and a parser that refuses
 * anything else with one of our errors (fast-check, time-bounded).
 */
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/errors.js'
import { decodePath, encodePath, parseTeamFile, serializeTeamFile, type TeamFile } from '../../../src/team/format.js'
import { b64, fromB64, isCanonicalB64 } from '../../../src/team/primitives.js'
import { ROOT } from '../../helpers.js'

const good = readFileSync(join(ROOT, 'test/vectors/team/good_rotated.sstash'))

describe('team stash format', () => {
  it('spells key paths so that every path reads back, and refuses other spellings', () => {
    expect(encodePath(['dev', 'a b', '', '%/x'])).toBe('/dev/a%20b/%/%25%2Fx')
    expect(encodePath([])).toBe('/')
    expect(encodePath([''])).toBe('/%')
    for (const bad of ['dev', '/a%2fb', '/a%41', '/a//b', '/a b']) expect(decodePath(bad)).toBeUndefined()
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 6 }), (path) => {
      expect(decodePath(encodePath(path))).toEqual(path)
    }))
  })

  it('accepts as canonical base64 exactly what decodes and encodes back to itself, without decoding', () => {
    const roundTrips = (text: string): boolean => /^[A-Za-z0-9+/]*={0,2}$/.test(text) && Buffer.from(text, 'base64').toString('base64') === text
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'AQgwEIMZ09+/=='), maxLength: 10 }), (text) => {
      expect(isCanonicalB64(text)).toBe(roundTrips(text))
    }), { numRuns: 20_000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
      expect(fromB64(b64(bytes))).toEqual(bytes)
    }))
    for (const bad of ['QR==', 'QUJ=', 'QQ', 'Q===', '=']) expect(isCanonicalB64(bad)).toBe(false)
  })

  it('sorts records by their UTF-8 bytes, which differs from JavaScript string order above U+FFFF', () => {
    // U+FF61 is EF BD A1 and U+1F600 is F0 9F 98 80 in UTF-8; in UTF-16, U+1F600 (D83D DE00) sorts first.
    const file = parseTeamFile(good, 'good') as TeamFile
    const [record] = file.values.values()
    for (const name of ['\u{1F600}', '\uFF61', 'z']) file.values.set(encodePath(['dev', name]), { ...record!, path: ['dev', name] })
    const text = Buffer.from(serializeTeamFile(file)).toString()
    expect(text.indexOf('value /dev/z\n')).toBeLessThan(text.indexOf('value /dev/\uFF61\n'))
    expect(text.indexOf('value /dev/\uFF61\n')).toBeLessThan(text.indexOf('value /dev/\u{1F600}\n'))
    expect(parseTeamFile(new Uint8Array(Buffer.from(text)), 'sorted').values.has(encodePath(['dev', '\u{1F600}']))).toBe(true)
    // The two records in JavaScript's order instead: refused.
    const unsorted = text.replace(/value \/dev\/(\uFF61|\u{1F600})\n/gu, (_, name: string) => `value /dev/${name === '\uFF61' ? '\u{1F600}' : '\uFF61'}\n`)
    expect(() => parseTeamFile(new Uint8Array(Buffer.from(unsorted)), 'unsorted')).toThrow(/not sorted/)
  })

  it('writes back a file it read byte for byte', () => {
    expect(Buffer.from(serializeTeamFile(parseTeamFile(good, 'good')))).toEqual(good)
  })

  it('refuses random changes of a valid file with an SSError, never anything else', () => {
    const text = good.toString()
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.nat(text.length), fc.string({ maxLength: 8 }), (at, length, insert) => {
        const changed = text.slice(0, at) + insert + text.slice(at + (length % 12))
        try {
          parseTeamFile(new Uint8Array(Buffer.from(changed)), 'fuzz')
        } catch (error) {
          expect(error).toBeInstanceOf(SSError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
