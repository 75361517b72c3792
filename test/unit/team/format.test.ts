/**
 * The team stash format's pure parts: the key-path spelling, and a parser that refuses
 * anything else with one of our errors (fast-check, time-bounded).
 */
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/errors.js'
import { byteOrder, decodePath, inPathOrder, encodePath, serializeTeamFile, slotOf, type TeamFile } from '../../../src/team/format.js'
import { parseTeamFile } from '../../../src/team/parse.js'
import { b64, fromB64, isCanonicalB64 } from '../../../src/crypto/primitives.js'
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

  it('compares text by its UTF-8 bytes, which differs from JavaScript string order above U+FFFF', () => {
    // U+FF61 is EF BD A1 and U+1F600 is F0 9F 98 80 in UTF-8; in UTF-16, U+1F600 (D83D DE00) sorts first.
    expect(byteOrder('\uFF61', '\u{1F600}')).toBe(-1)
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', '\uD7FF', '\uE000', '\uFF61', '\uFFFF'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) })
    fc.assert(fc.property(text, text, (a, b) => {
      expect(byteOrder(a, b)).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)))
    }), { numRuns: 20_000 })
    // inPathOrder sorts with the engine's own order when no key needs byteOrder's care.
    fc.assert(fc.property(fc.array(fc.oneof(text, fc.string())), (keys) => {
      const sorted = inPathOrder(new Map(keys.map((key, i) => [key, i]))).map(([key]) => key)
      expect(sorted).toEqual([...new Set(keys)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    }), { numRuns: 2_000 })
  })

  it('places each value record by the slot of its key path, so that siblings land apart, and refuses a wrong slot', () => {
    const file = parseTeamFile(good, 'good') as TeamFile
    const [record] = file.values.values()
    const names = Array.from({ length: 12 }, (_, i) => `key${i}`)
    for (const name of names) file.values.set(encodePath(['dev', name]), { ...record!, path: ['dev', name] })
    const text = Buffer.from(serializeTeamFile(file)).toString()
    const heads = text.split('\n').filter((line) => line.startsWith('value '))
    expect(heads).toEqual([...heads].sort())
    for (const head of heads) expect(head).toBe(`value ${slotOf(head.split(' ')[2]!)} ${head.split(' ')[2]}`)
    // Each record is under the anchor of its slot's first two hex digits.
    const lines = text.split('\n')
    for (const head of heads) expect(lines.slice(0, lines.indexOf(head)).reverse().find((line) => line.startsWith('@ '))).toBe(`@ ${head.slice(6, 8)}`)
    // Siblings in key-path order are not next to each other in the file.
    const order = heads.map((head) => head.split(' ')[2]).filter((path) => path!.startsWith('/dev/key'))
    expect(order).not.toEqual(names.map((name) => `/dev/${name}`).sort())
    const slot = slotOf('/dev/key3')
    const wrong = text.replace(`value ${slot} /dev/key3\n`, `value ${slot.slice(0, 7)}${(parseInt(slot[7]!, 16) ^ 1).toString(16)} /dev/key3\n`)
    expect(() => parseTeamFile(new Uint8Array(Buffer.from(wrong)), 'wrong')).toThrow(/line \d+: (the slot of the value record for \/dev\/key3 is not the one its key path gives|records are not sorted|not under the anchor)/)
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
