/**
 * The team stash format's pure parts: the key-path spelling, and a parser that refuses
 * anything else with one of our errors (fast-check, time-bounded).
 */
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/errors.js'
import { decodePath, encodePath, parseTeamFile, serializeTeamFile } from '../../../src/team/format.js'
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
